"""`snakemake --lint` finds nothing but the one notice the workflow leaves by design.

Snakemake asks for a conda environment or container per rule. edgebench provides its
environments another way (docs/design.md, "Environments instead of per-rule conda"): the
workflow-side rules run in `.venv`, and a training run in the framework's own interpreter from
config.yaml `interpreters`, which on a Jetson is JetPack's Python with NVIDIA's wheel, something
neither conda nor a container can give a board. Any other notice fails this test, so CI fails.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
BY_DESIGN = {"Specify a conda environment or container for each rule."}


def lint(*args: str) -> str:
    """Return what `snakemake --lint` prints for the workflow (text: its JSON mode prints nothing here)."""
    done = subprocess.run([str(SNAKEMAKE), "--lint", *args], cwd=REPO, capture_output=True, text=True, timeout=300)
    return done.stdout + done.stderr


def notices(output: str) -> dict:
    """Return {notice title: [where, ...]} from lint's text output."""
    found, where = {}, None
    for line in output.splitlines():
        header = re.match(r"Lints for (.+):$", line)
        if header:
            where = header.group(1)
        notice = re.match(r"    \* (.+?):?$", line)
        if notice:
            found.setdefault(notice.group(1).rstrip(":"), []).append(where)
    return found


@pytest.mark.parametrize("configfile", [None, "config/demo.yaml"])
def test_lint_finds_only_what_is_left_by_design(configfile):
    output = lint(*(["--configfile", configfile] if configfile else []))
    found = notices(output)
    assert "Lints for rule train" in output, output[-2000:]  # lint ran over the rules (else this test proves nothing)
    unexpected = {title: places for title, places in found.items() if title not in BY_DESIGN}
    assert not unexpected, f"snakemake --lint: {unexpected}"
    # The by-design notice is about rules only: no snakefile-level notice (mixed functions and
    # rules, '+' path composition, absolute paths) is left in any file.
    assert not [place for places in found.values() for place in places if place.startswith("snakefile")]


def test_notice_parser_sees_other_notices():
    sample = ("Lints for snakefile /w/rules/train.smk:\n    * Path composition with '+' in line 51:\n"
              "      This becomes quickly unreadable.\n"
              "Lints for rule train (line 5, /w/rules/train.smk):\n"
              "    * Specify a conda environment or container for each rule.:\n")
    assert notices(sample) == {"Path composition with '+' in line 51": ["snakefile /w/rules/train.smk"],
                               "Specify a conda environment or container for each rule.": ["rule train (line 5, /w/rules/train.smk)"]}
