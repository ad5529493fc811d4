"""What edgebench's runner costs on top of training: the runner against a bare training loop.

The same model, the same batches and the same number of SGD steps, once through edgebench's
runner (`python -m edgebench.train.main`, monitor on, checkpoint, scoring, logging: the
training pass's `train_seconds`) and once through a bare loop of a few lines in the framework
itself (the batches already in memory as tensors). Each side runs in its own child process,
pinned to the same core with the same thread count; the two alternate for --rounds rounds.
Prints each round and the median ratio runner / bare (goal: at most 1.02).

Run it in a framework's interpreter, the checkout on PYTHONPATH:
    PYTHONPATH=. .venv-pytorch/bin/python bench/harness_overhead.py --framework pytorch
    PYTHONPATH=. .venv-mxnet/bin/python bench/harness_overhead.py --framework mxnet
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHECKOUT = Path(__file__).resolve().parents[1]
HPARAMS = {"epochs": 1, "batch_size": 4, "optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9,
           "weight_decay": 5e-4, "seed": 0, "augment": False}


def write_prepared(directory: Path, images: int, size: int, classes: int = 10) -> None:
    """Write a prepared directory of random images (the format CachedSplit reads)."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", images), ("val", max(classes, images // 10))):
        np.save(directory / f"{split}_x.npy", rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8))
        np.save(directory / f"{split}_y.npy", rng.integers(0, classes, size=n).astype(np.int64))
    (directory / "classes.json").write_text(json.dumps([f"n{i:08d}" for i in range(classes)]))


def runner_side(framework: str, model: str, prepared: Path, work: Path, size: int) -> float:
    """Return the runner's training-pass seconds for one epoch (a child process, as the workflow runs it)."""
    from edgebench.schema import section_defaults
    from edgebench.train.spec import OUTPUT_FILES, spec_document, write_spec

    document = spec_document(
        framework=framework, model=model, hwcfg="cpu_cfg1", hwconfig={"cores": ["core0"]}, rep=0,
        prepared_dir=prepared, input_size=size, training=HPARAMS,
        outputs={key: work / name for key, name in OUTPUT_FILES.items()}, state_dir=work / "state",
        board="demo", monitor={"interval_s": 1.0, "power_method": "total", "idle_baseline_s": 0},
        measurement=section_defaults("measurement"),
        lock_dir=work, cpu_mode="affinity", log=None)
    spec = write_spec(document, work.with_suffix(".json"))
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    subprocess.run([sys.executable, "-m", "edgebench.train.main", str(spec)], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import csv

    with open(work / "epochs.csv") as fh:
        return float(next(csv.DictReader(fh))["train_seconds"])


BARE = {
    # The whole training loop of each framework: the batches are tensors already.
    "pytorch": """
import torch
model = models.build("pytorch", MODEL, 10, input_size=SIZE)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
loss_fn, model = torch.nn.CrossEntropyLoss(), model.train()
batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in BATCHES]
start = time.perf_counter()
for x, y in batches:
    opt.zero_grad(set_to_none=True); loss = loss_fn(model(x), y); loss.backward(); opt.step(); loss.item()
""",
    "mxnet": """
from edgebench.compat import import_mxnet
mx = import_mxnet(); from mxnet import autograd, gluon
model = models.build("mxnet", MODEL, 10, input_size=SIZE)
trainer = gluon.Trainer(model.collect_params(), "sgd", {"learning_rate": 0.01, "momentum": 0.9, "wd": 5e-4})
loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
batches = [(mx.nd.array(x), mx.nd.array(y, dtype="float32")) for x, y in BATCHES]
start = time.perf_counter()
for x, y in batches:
    with autograd.record(): loss = loss_fn(model(x), y)
    loss.backward(); trainer.step(len(y)); loss.mean().asscalar()
""",
}


def bare_side(framework: str, model: str, prepared: Path, size: int) -> float:
    """Return the seconds of the bare loop over the same batches (a child process, pinned alike)."""
    code = f"""
import time
from edgebench import models
from edgebench.data.loader import CachedSplit, iterate_batches
from edgebench.hwconfig import apply, load_board, resolve
apply.enter(resolve("cpu_cfg1", {{"cores": ["core0"]}}, load_board("demo")))
MODEL, SIZE = {model!r}, {size}
BATCHES = list(iterate_batches(CachedSplit({str(prepared)!r}, "train"), 4, seed=0, epoch=0))
""" + BARE[framework] + "\nprint(time.perf_counter() - start)\n"
    if framework == "pytorch":  # the runner's backend sets the thread count the same way
        code = code.replace("import torch\n", "import torch\ntorch.set_num_threads(1)\n", 1)
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    """Print per-round times and the median runner/bare ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=sorted(BARE), required=True)
    parser.add_argument("--model", default="lenet")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--images", type=int, default=400, help="training images: images / 4 SGD steps")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared"
        write_prepared(prepared, args.images, args.size)
        ratios = []
        for r in range(args.rounds):
            # Alternate which side goes first, so a drift in the machine's load hits both alike.
            sides = [("runner", lambda: runner_side(args.framework, args.model, prepared, Path(tmp) / f"run{r}", args.size)),
                     ("bare", lambda: bare_side(args.framework, args.model, prepared, args.size))]
            times = dict((name, measure()) for name, measure in (sides if r % 2 == 0 else sides[::-1]))
            ratios.append(times["runner"] / times["bare"])
            print(f"round {r}: runner {times['runner']:.3f} s, bare {times['bare']:.3f} s, ratio {ratios[-1]:.3f}",
                  flush=True)
    print(f"{args.framework}/{args.model} {args.size}px, {args.images // 4} steps: median runner/bare "
          f"{statistics.median(ratios):.3f} over {args.rounds} rounds (goal <= 1.02)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
