"""GPU smoke test of the board-side runner: a few short runs on the GPU, checked, in about two minutes.

Needs only a Python with a CUDA PyTorch, numpy, pandas, Pillow, psutil and PyYAML (a JetPack
board's situation: no Snakemake, no network, no MXNet) and this checkout on PYTHONPATH
(bench/gpu_smoke.sh sets it). It

1. generates a small demo dataset in a temporary directory with edgebench's own stages, as
   rules/dataset.smk chains them: demo tree -> stats -> subset manifest -> prepared arrays;
2. per framework, checks that PyTorch on the CPU and on the GPU agree on the first training step
   (same initial weights, same batch, dropout off: CPU and CUDA draw different masks);
3. trains each model for a few epochs through the runner itself (edgebench.train.runner.run)
   on the `host` board description with a GPU hardware configuration, and checks: run.json says
   done; the run trained on the GPU (the device report in run.json's provenance); cuDNN ran
   under the shared policy; the training loss fell.

MXNet is tested the same way where it imports with a GPU; otherwise it is reported as skipped.
Without a CUDA GPU the script exits with status 2 ("no CUDA GPU"), unless --cpu is given: then
the same pipeline runs on the CPU (the GPU checks reported as skipped), to test the plumbing.
Exit status: 0 when every check passed, 1 when one failed, 2 without a GPU (and no --cpu).
Board side: Python 3.8+.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
if str(CHECKOUT) not in sys.path:  # run directly rather than through gpu_smoke.sh
    sys.path.insert(0, str(CHECKOUT))

DEFAULT_MODELS = ("lenet", "squeezenet")
# config.yaml's training settings, but two epochs.
TRAINING = {"epochs": 2, "batch_size": 4, "optimizer": "sgd", "learning_rate": 0.001, "momentum": 0.9,
            "weight_decay": 0.0005, "seed": 0, "augment": False}
# The demo tree and subset: 10 classes, 10 train / 3 val images each (100 / 30 images).
DEMO = {"seed": 0, "train_per_class": 16, "val_per_class": 4, "distractor_classes": 2, "traps": True}
SUBSET = {"classes": "thesis10", "train_per_class": 10, "val_per_class": 3, "seed": 0}
# CPU float32 against cuDNN float32 (TF32 off): summation order differs, nothing else.
RTOL, ATOL = 1e-3, 1e-5


class Checks:
    """The report: one line per check as it happens, and the tally at the end."""

    def __init__(self):
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}

    def line(self, status: str, what: str, detail: str = "") -> None:
        """Print one check's outcome."""
        if status in self.counts:
            self.counts[status] += 1
        print(f"{status:<4}  {what}" + (f": {detail}" if detail else ""), flush=True)

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        """Record a PASS or FAIL and return ok."""
        self.line("PASS" if ok else "FAIL", what, detail)
        return ok

    def crashed(self, what: str, error: BaseException) -> None:
        """Record a FAIL for a check that raised, with the traceback's last lines."""
        self.line("FAIL", what, f"{type(error).__name__}: {error}")
        tail = traceback.format_exc().strip().splitlines()[-6:]
        print("      " + "\n      ".join(tail), flush=True)


def build_dataset(root: Path, size: int) -> Path:
    """Return the prepared directory of a fresh demo dataset under root (rules/dataset.smk's chain)."""
    from edgebench.data.demo import generate_demo_tree
    from edgebench.data.prepare import prepare
    from edgebench.data.scan import write_stats
    from edgebench.data.subset import write_subset

    tree, dataset = root / "demo_imagenet", root / "dataset"
    dataset.mkdir(parents=True)
    generate_demo_tree(tree, **DEMO)  # rule demo_data
    write_stats(tree, dataset / "stats.json")  # rule dataset_stats
    write_subset(tree, dataset / "stats.json", dataset / "manifest.csv", dataset / "subset_report.json",
                 **SUBSET)  # rule subset
    prepare(tree, dataset / "manifest.csv", size, dataset / str(size))  # rule prepare
    return dataset / str(size)


def mxnet_status(use_gpu: bool):
    """Return (Backend class or None, why it is skipped) for MXNet in this interpreter."""
    if importlib.util.find_spec("mxnet") is None:
        return None, "not installed"
    try:
        from edgebench.train.backend import load_backend

        backend_cls = load_backend("mxnet")
    except Exception as error:  # e.g. MXNet 1.9 beside numpy 2, or a missing shared library
        return None, f"installed but does not import ({type(error).__name__}: {error})"
    if use_gpu:
        try:
            usable = backend_cls.gpu_usable()
        except Exception as error:
            usable, error_text = False, f": {error}"
        else:
            error_text = ""
        if not usable:
            return None, f"imports but has no GPU (a CPU build? {backend_cls.versions()}{error_text})"
    return backend_cls, None


def device_names(framework: str):
    """Return the device strings a framework's report uses for the GPU and for the CPU."""
    return ("cuda:0", "cpu") if framework == "pytorch" else ("gpu(0)", "cpu")


def disable_dropout(backend) -> int:
    """Set every dropout layer of a backend's model to rate 0; return how many there were."""
    count = 0
    if backend.framework == "pytorch":
        import torch

        for module in backend.model.modules():
            if isinstance(module, torch.nn.modules.dropout._DropoutNd):
                module.p, count = 0.0, count + 1
        return count
    from mxnet import gluon

    def walk(block):
        nonlocal count
        if isinstance(block, gluon.nn.Dropout):
            block._rate, count = 0.0, count + 1
        for child in block._children.values():
            walk(child() if callable(child) and not isinstance(child, gluon.Block) else child)

    walk(backend.model)
    backend.model.hybridize()  # drops the cached graph, which holds the old rate
    return count


def max_differences(a, b):
    """Return (max absolute difference, max of |a-b| / (ATOL + RTOL |b|)) of two arrays."""
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff = np.abs(a - b)
    return float(diff.max()), float((diff / (ATOL + RTOL * np.abs(b))).max())


def first_step_parity(checks: Checks, backend_cls, model: str, prepared: Path, size: int, use_gpu: bool,
                      threads: int) -> None:
    """Check that one framework's CPU and GPU backends agree on the first training step."""
    from edgebench.data.loader import CachedSplit, iterate_batches
    from edgebench.train.checkpoint import epoch_seed

    framework = backend_cls.framework
    what = f"{framework}/{model}: first training step, CPU vs {'GPU' if use_gpu else 'CPU'}"
    split = CachedSplit(prepared, "train")
    seed = int(TRAINING["seed"])
    # The runner's first batch: epoch 0's order from the run's seed.
    x, y = next(iterate_batches(split, TRAINING["batch_size"], seed=seed, epoch=0, shuffle=True))
    cpu = backend_cls(model, split.num_classes, size, TRAINING, seed, False, threads)
    other = backend_cls(model, split.num_classes, size, TRAINING, seed, use_gpu, threads)
    for backend in (cpu, other):
        backend.seed(epoch_seed(seed, 0))
        dropped = disable_dropout(backend)
    checks.check(cpu.weights_digest() == other.weights_digest(), f"{framework}/{model}: same initial weights on both",
                 f"sha256 {cpu.weights_digest()[:12]}")
    results = []
    for step in ("train_step", "eval_step"):  # the SGD step, then the updated weights' forward
        (loss_a, logits_a), (loss_b, logits_b) = getattr(cpu, step)(x, y), getattr(other, step)(x, y)
        loss_abs, loss_ratio = max_differences([loss_b], [loss_a])
        logit_abs, logit_ratio = max_differences(logits_b, logits_a)
        results.append((step, loss_a, loss_b, loss_abs, logit_abs, max(loss_ratio, logit_ratio)))
    detail = "; ".join(f"{step} loss {a:.6f} vs {b:.6f} (|d| {la:.1e}), logits max |d| {ga:.1e}"
                       for step, a, b, la, ga, _ in results)
    detail += f" [rtol {RTOL}, atol {ATOL}; {dropped} dropout layer(s) off]"
    within = all(ratio <= 1.0 for *_, ratio in results)
    if use_gpu:
        checks.check(within, what, detail)
    else:
        checks.line("SKIP", f"{framework}/{model}: first training step, CPU vs GPU",
                    f"--cpu (the comparison ran CPU vs CPU: {'agree' if within else 'DISAGREE'}; {detail})")
        if not within:
            checks.line("FAIL", what, "two CPU backends disagree")
    report = other.device_report()
    gpu_device, cpu_device = device_names(framework)
    expected = gpu_device if use_gpu else cpu_device
    checks.check(report.get("device") == expected, f"{framework}/{model}: device_report() of the backend",
                 f"device {report.get('device')!r} (expected {expected!r})"
                 + (f", {report.get('error')}" if report.get("error") else ""))
    if use_gpu and framework == "pytorch":
        peak = report.get("gpu_peak_memory_mb")
        checks.check(bool(peak) and peak > 0, f"{framework}/{model}: peak GPU memory counted", f"{peak} MB")


def read_epochs(path: Path):
    """Return the train losses of an epochs.csv, in epoch order."""
    import pandas as pd

    return [float(v) for v in pd.read_csv(path).sort_values("epoch")["train_loss"]]


def runner_run(checks: Checks, framework: str, model: str, hwconfig, board: dict, prepared: Path, size: int,
               work: Path) -> None:
    """Train one run through the runner and check its run.json and epochs.csv."""
    import json

    from edgebench.train import gpu
    from edgebench.train.runner import run
    from edgebench.train.spec import OUTPUT_FILES, RunSpec

    name = f"{framework}-{model}"
    outputs = {key: str(work / "results" / name / filename) for key, filename in OUTPUT_FILES.items()}
    spec = RunSpec(framework=framework, model=model, hwconfig=hwconfig, rep=0, prepared_dir=prepared,
                   input_size=size, training=dict(TRAINING), outputs=outputs, state_dir=work / "state" / name,
                   board=board, monitor={"interval_s": 0.5, "power_method": "total", "idle_baseline_s": 0},
                   lock_dir=work / "locks")
    started = time.perf_counter()
    run(spec)
    seconds = time.perf_counter() - started
    summary = json.loads(Path(outputs["run_json"]).read_text())
    status = summary.get("status")
    checks.check(status == "done", f"{name}: run.json status done",
                 f"status {status!r}" + (f", reason: {summary.get('reason')}" if summary.get("reason") else "")
                 + f" ({seconds:.1f} s)")
    if status != "done":
        return
    report = (summary.get("provenance") or {}).get("device") or {}
    gpu_device, cpu_device = device_names(framework)
    device = report.get("device")
    if hwconfig.gpu:
        checks.check(device == gpu_device, f"{name}: trained on the GPU",
                     f"run.json provenance.device.device {device!r}, {report.get('gpu_name')}"
                     + (f", {report.get('error')}" if report.get("error") else ""))
        print(f"      {name}: driver {report.get('gpu_driver_version')}, CUDA driver {report.get('cuda_driver_version')}, "
              f"built with CUDA {report.get('cuda_build_version')} / cuDNN {report.get('cudnn_build_version')}, "
              f"peak {_mb(report.get('gpu_peak_memory_mb'))}, "
              f"NVML process memory at end {_mb(report.get('gpu_memory_process_used_mb_at_end'))}", flush=True)
    else:
        checks.line("SKIP", f"{name}: trained on the GPU", f"--cpu (run.json provenance.device.device {device!r})")
        checks.check(device == cpu_device, f"{name}: trained on the CPU as asked", f"device {device!r}")
    settings = report.get("cudnn_settings")
    checks.check(settings == gpu.CUDNN_POLICY, f"{name}: cuDNN settings in force",
                 f"{settings} (policy {gpu.CUDNN_POLICY})")
    losses = read_epochs(Path(outputs["epochs"]))
    fell = len(losses) >= 2 and all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
    checks.check(fell, f"{name}: training loss fell", " -> ".join(f"{v:.4f}" for v in losses))


def _mb(value):
    return "n/a" if value is None else f"{value:.1f} MB"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="bench/gpu_smoke.sh", description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true",
                        help="run the same pipeline on the CPU (no GPU needed; GPU checks skipped)")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated (default: %(default)s)")
    parser.add_argument("--frameworks", default="pytorch,mxnet", help="comma-separated (default: %(default)s)")
    parser.add_argument("--size", type=int, default=32, help="input side in pixels (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"], help="default: %(default)s")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the check compares the first and the last epoch's loss)")
    return args


def main(argv=None) -> int:
    """Run the smoke test; return the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    TRAINING["epochs"] = args.epochs
    os.environ["PYTHONPATH"] = os.pathsep.join(  # the host monitor runs as `python -m` in a child process
        [str(CHECKOUT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(CHECKOUT)])
    print(f"edgebench GPU smoke: Python {platform.python_version()} ({sys.executable}), {platform.machine()}",
          flush=True)
    try:
        import torch
    except Exception as error:
        print(f"FAIL  torch does not import: {type(error).__name__}: {error}")
        return 1
    has_gpu = torch.cuda.is_available()
    gpu_text = torch.cuda.get_device_name(0) if has_gpu else "none"
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), CUDA GPU: {gpu_text}", flush=True)
    if not has_gpu and not args.cpu:
        print(f"no CUDA GPU: torch {torch.__version__} (built for CUDA {torch.version.cuda}) sees none; "
              "pass --cpu to run the pipeline on the CPU instead", flush=True)
        return 2
    use_gpu = not args.cpu
    print(f"mode: {'GPU' if use_gpu else 'CPU (--cpu): GPU checks skipped'}", flush=True)

    from edgebench.hwconfig import load_board, resolve
    from edgebench.hwconfig.resolve import host_has_gpu

    checks = Checks()
    work = Path(tempfile.mkdtemp(prefix="edgebench-gpu-smoke-"))
    started = time.perf_counter()
    try:
        run_checks(checks, args, use_gpu, work)
    finally:
        status = finish(checks, work, args.keep, started)
    return status


def run_checks(checks: Checks, args, use_gpu: bool, work: Path) -> None:
    """Build the dataset, then check each framework's first step and runs."""
    from edgebench.hwconfig import load_board, resolve
    from edgebench.hwconfig.resolve import host_has_gpu

    models = [m for m in args.models.split(",") if m]
    frameworks = [f for f in args.frameworks.split(",") if f]
    board = load_board("host")
    hwconfig = resolve("gpu_smoke" if use_gpu else "cpu_smoke", {"cores": ["all"], "gpu": use_gpu}, board)
    if use_gpu and not host_has_gpu():
        checks.line("FAIL", "edgebench sees the GPU (hwconfig.resolve.host_has_gpu)",
                    "no /dev/nvhost-* node and NVML unusable (install nvidia-ml-py): the runner will refuse")
    what = "dataset (demo tree -> stats -> subset -> prepare)"
    try:
        prepared = build_dataset(work, args.size)
    except Exception as error:
        checks.crashed(what, error)
        return
    checks.check(True, what, str(prepared))
    for framework in frameworks:
        if framework == "pytorch":
            from edgebench.train.backend import load_backend

            backend_cls = load_backend("pytorch")
        elif framework == "mxnet":
            backend_cls, why = mxnet_status(use_gpu)
            if backend_cls is None:
                checks.line("SKIP", f"mxnet: {why}, skipped")
                continue
        else:
            checks.line("FAIL", f"{framework}: unknown framework (pytorch, mxnet)")
            continue
        for model in models:
            try:
                first_step_parity(checks, backend_cls, model, prepared, args.size, use_gpu, hwconfig.threads)
            except Exception as error:
                checks.crashed(f"{framework}/{model}: first training step", error)
        for model in models:
            try:
                runner_run(checks, framework, model, hwconfig, board, prepared, args.size, work)
            except Exception as error:
                checks.crashed(f"{framework}-{model}: runner", error)


def finish(checks: Checks, work: Path, keep: bool, started: float) -> int:
    """Print the tally, remove the work directory (unless kept), return the exit status."""
    if keep:
        print(f"kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    c = checks.counts
    verdict = "FAILED" if c["FAIL"] else "OK"
    print(f"RESULT: {verdict}: {c['PASS']} passed, {c['FAIL']} failed, {c['SKIP']} skipped "
          f"in {time.perf_counter() - started:.0f} s", flush=True)
    return 1 if c["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
