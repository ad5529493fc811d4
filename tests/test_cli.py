"""The `edgebench` command itself, run as a user runs it: every subcommand answers --help.

The subcommands are read from edgebench.cli's own tables, so a subcommand added there is
covered here without editing this file.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgebench.cli import DATASET_SUBCOMMANDS, SUBCOMMANDS, Group

REPO = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("torch", "mxnet")
# What a stand-in framework package writes on stderr when something imports it.
TRIPWIRE = "edgebench-test: imported"


def command_words(table, prefix=()):
    """Yield the words of every subcommand in a command table: groups, and what each group holds."""
    for name, entry in table.items():
        yield prefix + (name,)
        if isinstance(entry, Group):
            yield from command_words(entry.subcommands, prefix + (name,))


EVERY_COMMAND = list(command_words(SUBCOMMANDS))


def edgebench(*args, python_options=(), env=None):
    """Run `python -m edgebench ARGS` from the checkout and return the finished process."""
    return subprocess.run([sys.executable, *python_options, "-m", "edgebench", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def tripwire_env(tmp_path_factory):
    """Return an environment whose torch and mxnet are stand-ins that say on stderr they were imported.

    The test venv has neither framework installed, so only a stand-in shows an attempt to import one.
    """
    stand_ins = tmp_path_factory.mktemp("stand_ins")
    for name in FRAMEWORKS:
        (stand_ins / name).mkdir()
        (stand_ins / name / "__init__.py").write_text(f"import sys\nsys.stderr.write('{TRIPWIRE} {name}\\n')\n")
    path = [str(stand_ins)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def imported_modules(stderr):
    """Return the names of the modules a `python -X importtime` run's stderr says it imported."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and not line.rstrip().endswith("imported package")}


def test_the_table_is_walked_into_its_groups():
    assert all(("dataset", name) in EVERY_COMMAND for name in DATASET_SUBCOMMANDS)


@pytest.mark.parametrize("words", EVERY_COMMAND, ids=" ".join)
def test_every_subcommand_answers_help_without_importing_a_framework(words, tripwire_env):
    result = edgebench(*words, "--help", env=tripwire_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: edgebench {' '.join(words)} "), result.stdout
    # --help must not pay for a framework import (seconds on a Jetson, and absent on a host).
    assert TRIPWIRE not in result.stderr


def test_top_level_help_lists_every_subcommand_with_its_help():
    result = edgebench("--help")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: edgebench SUBCOMMAND")
    for name, entry in SUBCOMMANDS.items():
        assert f"  {name}  " in result.stdout and entry.help in result.stdout


def test_dataset_help_lists_every_dataset_subcommand_with_its_help():
    result = edgebench("dataset", "--help")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: edgebench dataset SUBCOMMAND")
    for name, entry in DATASET_SUBCOMMANDS.items():
        assert f"  {name}  " in result.stdout and entry.help in result.stdout


@pytest.mark.parametrize("words, prog", [(("nope",), "edgebench"), (("dataset", "nope"), "edgebench dataset")])
def test_an_unknown_subcommand_exits_2_naming_it(words, prog):
    result = edgebench(*words)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"{prog}: unknown subcommand 'nope'")
    assert f"usage: {prog} SUBCOMMAND" in result.stderr


@pytest.mark.parametrize("words, prog", [((), "edgebench"), (("dataset",), "edgebench dataset")])
def test_a_missing_subcommand_exits_2_with_the_usage(words, prog):
    result = edgebench(*words)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"{prog}: missing subcommand")
    assert f"usage: {prog} SUBCOMMAND" in result.stderr


@pytest.mark.parametrize("words", [(), ("dataset",)], ids=["edgebench", "edgebench dataset"])
def test_a_table_help_imports_no_subcommand_module(words):
    # The tables name modules as strings so that listing them imports none of them.
    result = edgebench(*words, "--help", python_options=("-X", "importtime"))
    assert result.returncode == 0
    imported = imported_modules(result.stderr)
    assert "edgebench.cli" in imported  # the parse found the import lines
    assert {name for name in imported if name.startswith("edgebench.")} == {"edgebench.cli"}
    assert not imported & {"numpy", "pandas", "yaml", *FRAMEWORKS}
