"""Shared fixtures: a private copy of the checkout, and the real snakemake CLI run on it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
# Top-level entries of a checkout that are not the workflow (environment, outputs, history).
NOT_WORKFLOW = {".git", "results", "data", ".snakemake", ".pytest_cache"}  # and every .venv*

def board_python(framework: str) -> str:
    """Return the framework's interpreter as config.yaml's default names it (the venv `make` creates)."""
    from edgebench.interpreters import interpreter_path

    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    default = schema["properties"]["interpreters"]["properties"][framework]["default"]
    return interpreter_path({"interpreters": {framework: str(REPO / default)}}, framework)


# The smallest demo that exercises every stage: 10 classes x 8 train / 4 val images at 64 px.
TINY = {
    "board": "demo",
    "dataset": {
        "source": "demo",
        "root": "data/demo_imagenet",
        "demo": {"seed": 1, "train_per_class": 10, "val_per_class": 4, "distractor_classes": 2},
        "subset": {"classes": "thesis10", "train_per_class": 8, "val_per_class": 4},
    },
    "frameworks": ["pytorch", "mxnet"],
    "models": ["lenet", "alexnet"],
    "input_size": {"default": 64},
    "training": {"epochs": 1},
    "hwconfigs": {"cpu_cfg1": {"cores": ["core0"]}, "gpu_cfg1": {"cores": ["core0"], "gpu": True}},
    "run_hwconfigs": ["cpu_cfg1"],
    # The repository's own framework environments (a checkout copy has none of its own).
    "interpreters": {fw: board_python(fw) for fw in ("pytorch", "mxnet")},
}


def write_manifest(root: Path, path: Path, *, splits=("train", "val"), classes=None) -> pd.DataFrame:
    """Write and return a dataset manifest of every image under root's splits (all classes, or
    the given wnids), labelled by the classes' sorted order."""
    wnids = classes or sorted(p.name for p in (root / splits[0]).iterdir())
    rows = [(split, wnid, label, image.relative_to(root).as_posix(), image.stat().st_size)
            for split in splits for label, wnid in enumerate(sorted(wnids))
            for image in sorted((root / split / wnid).iterdir())]
    frame = pd.DataFrame(rows, columns=["split", "wnid", "label", "path", "bytes"])
    frame.to_csv(path, index=False)
    return frame


def prepare_tiny_demo(base: Path, seed: int, size: int = 32) -> Path:
    """Return the prepared arrays of a 2-train/1-val-per-class demo tree made under base."""
    from edgebench.data.demo import generate_demo_tree
    from edgebench.data.prepare import prepare

    root = base / "imagenet"
    generate_demo_tree(root, seed=seed, train_per_class=2, val_per_class=1, distractor_classes=0, traps=False)
    write_manifest(root, base / "manifest.csv")
    prepare(root, base / "manifest.csv", size, base / "prepared")
    return base / "prepared"


def run_document(framework: str, model: str, prepared: Path, work: Path, *, epochs: int = 1, batch_size: int = 4,
                 size: int = 32) -> dict:
    """Return the spec document of one tiny CPU run on core 0 of the demo board, outputs under work."""
    from edgebench.schema import section_defaults
    from edgebench.train.spec import OUTPUT_FILES, spec_document

    return spec_document(
        framework=framework, model=model, hwcfg="cpu_cfg1", hwconfig={"cores": ["core0"]}, rep=0,
        prepared_dir=prepared, input_size=size,
        training={"epochs": epochs, "batch_size": batch_size, "optimizer": "sgd", "learning_rate": 0.01,
                  "momentum": 0.9, "weight_decay": 5e-4, "seed": 0, "augment": False},
        outputs={key: work / name for key, name in OUTPUT_FILES.items()}, state_dir=work / "state",
        board="demo", monitor={"interval_s": 0.5, "power_method": "total", "idle_baseline_s": 0},
        measurement=section_defaults("measurement"),
        lock_dir=work, cpu_mode="affinity", log=work.parent / f"{work.name}.log")


def copy_checkout(destination: Path) -> Path:
    """Return a copy of the workflow's files, so tests may edit code without touching the repository."""
    def ignore(directory, names):
        top = Path(directory) == REPO
        return [n for n in names if n == "__pycache__" or n.endswith(".egg-info")
                or (top and (n in NOT_WORKFLOW or n.startswith(".venv")))]

    shutil.copytree(REPO, destination, ignore=ignore)
    return destination


class Workflow:
    """A checkout copy plus a working directory, driven through the real snakemake CLI."""

    def __init__(self, checkout: Path, workdir: Path, config: dict):
        self.checkout, self.workdir = checkout, workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.write_config("config.yaml", config)

    def write_config(self, name: str, config: dict) -> Path:
        path = self.workdir / name
        path.write_text(yaml.safe_dump(config))
        return path

    def command(self, *args, configfile="config.yaml") -> list[str]:
        return [str(SNAKEMAKE), "--snakefile", str(self.checkout / "Snakefile"), "--directory", str(self.workdir),
                "--configfile", str(self.workdir / configfile), "--cores", "2", *args]

    @property
    def env(self) -> dict:
        # The copy's package comes first, for snakemake and for every job it starts.
        return {**os.environ, "PYTHONPATH": str(self.checkout)}

    def run(self, *args, check=True, configfile="config.yaml") -> subprocess.CompletedProcess:
        result = subprocess.run(self.command(*args, configfile=configfile), capture_output=True, text=True,
                                cwd=self.workdir, env=self.env)
        if check and result.returncode != 0:
            raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
        return result


@pytest.fixture(scope="session")
def checkout(tmp_path_factory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("checkout") / "edgebench")
