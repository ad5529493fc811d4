"""What the monitor costs the training it watches: epoch time and CPU time with each source off and on.

Each measurement is a child process that does what a run does: starts a monitor source, pins
itself to one core (as the runner pins a run after starting its monitor), then runs one "epoch",
a fixed amount of training-like work (a Python loop of float32 matrix products, one BLAS thread),
and reports the epoch's wall time, its own CPU time (which includes tegrastats' reader threads,
that live in the training process) and the CPU time of the monitor's child processes. With
--same-core (the default) the monitor's processes are pinned to that core too: the worst case,
a run whose configuration holds every core, where each cycle the monitor takes is one training
loses. Sources:

  host        the host sampler (psutil, RAPL/NVML where present) as its own process
  rails       the direct rail sampler on a fake JetPack 5 Orin NX sysfs tree (tests/fakes/sysfs.py)
  tegrastats  TegrastatsRunner around tests/fakes/tegrastats (a Python stand-in: its own CPU is
              not tegrastats', so only the runner's side, in the training process, is meaningful)

each at 1, 10 and 100 Hz, against the monitor off. Sides alternate within each round, in a
rotated order from round to round, and each side is compared with the "off" measured in the same
round. Prints every measurement, then per side the median slowdown (epoch time on / off) with
its spread over rounds, the CPU time ratio, and the monitor's own CPU in % of one core.

On a shared machine the epoch times move by tens of per cent with the neighbours' load, far more
than a sampler can cost; so each source's own cost is also measured alone (--cost-s seconds, no
epoch: the process idles while the source samples): the CPU of its processes plus the CPU of
the training process's own threads (tegrastats' readers), in % of one core. That is the most a
source can slow a run that needs every cycle of the core it shares with it.
Goal: at most 1 % slowdown at 10 Hz.

    .venv/bin/python bench/monitor_overhead.py [--rounds 5] [--epoch-s 4] [--rates 1 10 100] [--other-cores]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
SOURCES = ("host", "rails", "tegrastats")


def work(iterations: int) -> None:
    """One epoch's worth of training-like work: small float32 products in a Python loop."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((192, 192), dtype=np.float32)
    b = rng.standard_normal((192, 192), dtype=np.float32)
    for _ in range(iterations):
        c = a @ b
        a = (c / (np.abs(c).max() + 1.0)).astype(np.float32)  # stays finite, depends on the last step


def child(source: str, rate_hz: float, iterations: int, root: str, log_dir: str, same_core: bool,
          idle_s: float = 0.0) -> dict:
    """Run one epoch with one source on (or none) and return its times."""
    import contextlib

    import psutil

    sampler = contextlib.nullcontext()
    interval_s = 1.0 / rate_hz if rate_hz else 1.0
    log = Path(log_dir) / "hw.log"
    if source == "host":
        from edgebench.monitor.host import HostSampler

        sampler = HostSampler(log, interval_s)
    elif source == "rails":
        from edgebench.monitor.rails import RailsSampler

        sampler = RailsSampler(Path(log_dir) / "hw.rails.log", rate_hz, root)
    elif source == "tegrastats":
        from edgebench.monitor.tegrastats import TegrastatsRunner

        sampler = TegrastatsRunner(log, interval_ms=round(interval_s * 1000))
    me = psutil.Process()
    core = min(os.sched_getaffinity(0))
    with sampler:
        monitors = me.children(recursive=True)
        # Every thread of this process (tegrastats' readers too), then the monitor's processes.
        for thread in me.threads():
            with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
                os.sched_setaffinity(thread.id, {core})
        if same_core:
            for process in monitors:
                with contextlib.suppress(psutil.Error):
                    process.cpu_affinity([core])
        time.sleep(0.5)  # the source at its steady state (the first samples are taken at start)

        def monitor_cpu() -> float:
            total = 0.0
            for process in monitors:
                try:
                    times = process.cpu_times()
                    total += times.user + times.system
                except psutil.Error:
                    pass
            return total

        # This process's CPU clock (every thread, to the nanosecond); the monitor's processes'
        # in clock ticks (/proc, 10 ms): epochs of a few seconds resolve a fraction of a percent.
        own0, mon0, t0 = time.process_time(), monitor_cpu(), time.perf_counter()
        if iterations:
            work(iterations)
        else:
            time.sleep(idle_s)  # the source alone: what this process spends is its reader threads'
        t1, own1, mon1 = time.perf_counter(), time.process_time(), monitor_cpu()
    return {"epoch_s": t1 - t0, "cpu_s": own1 - own0, "monitor_cpu_s": mon1 - mon0}


def run_side(source: str, rate_hz: float, iterations: int, root: Path, same_core: bool, idle_s: float = 0.0) -> dict:
    """Return the times of one side, measured in a fresh child process."""
    one_thread = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env = {**os.environ, **one_thread, "PYTHONPATH": str(CHECKOUT),
           "PATH": f"{CHECKOUT / 'tests' / 'fakes'}:{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory() as log_dir:
        done = subprocess.run([sys.executable, __file__, "--child", source, str(rate_hz), str(iterations), str(root),
                               log_dir, str(int(same_core)), str(idle_s)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{source} at {rate_hz} Hz failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def calibrate(epoch_s: float, root: Path) -> int:
    """Return the iterations of work that take about epoch_s here with the monitor off."""
    probe = 2000
    seconds = run_side("off", 0, probe, root, False)["epoch_s"]
    return max(100, int(probe * epoch_s / seconds))


def spread(values, digits: int = 4) -> str:
    """Return 'median (min..max)' of values."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}..{max(values):.{digits}f})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epoch-s", type=float, default=4.0, help="seconds of work per epoch (calibrated)")
    parser.add_argument("--rates", type=float, nargs="+", default=[1.0, 10.0, 100.0])
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES)
    parser.add_argument("--other-cores", dest="same_core", action="store_false",
                        help="leave the monitor's processes free to run on other cores (default: pinned to the epoch's)")
    parser.add_argument("--cost-s", type=float, default=10.0, help="seconds each source samples alone (0: skip)")
    parser.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        source, rate, iterations, root, log_dir, same_core, idle_s = args.child
        print(json.dumps(child(source, float(rate), int(iterations), root, log_dir, same_core == "1", float(idle_s))))
        return 0

    sys.path.insert(0, str(CHECKOUT))
    from tests.fakes.sysfs import make_jetson_rails

    with tempfile.TemporaryDirectory() as tree:
        root = Path(tree)
        make_jetson_rails(root, "orin_nx", "jp5")
        iterations = calibrate(args.epoch_s, root)
        sides = [("off", 0.0)] + [(s, r) for s in args.sources for r in args.rates]
        print(f"{iterations} iterations per epoch; {len(sides)} sides x {args.rounds} rounds; {os.cpu_count()} CPUs; "
              f"monitor {'on the epoch' + chr(39) + 's core' if args.same_core else 'free'}", flush=True)
        results = {side: [] for side in sides}
        for k in range(args.rounds):
            order = sides[k % len(sides):] + sides[:k % len(sides)]  # rotated: no side always first
            for side in order:
                result = run_side(side[0], side[1], iterations, root, args.same_core)
                results[side].append(result)
                print(f"round {k} {side[0]:>10} {side[1]:>5g} Hz: epoch {result['epoch_s']:.3f} s, "
                      f"cpu {result['cpu_s']:.3f} s, monitor cpu {result['monitor_cpu_s']:.4f} s", flush=True)
        alone = {}
        if args.cost_s > 0:
            idle = run_side("off", 0.0, 0, root, args.same_core, args.cost_s)  # the idle process's own CPU
            for side in sides[1:]:
                alone[side] = run_side(side[0], side[1], 0, root, args.same_core, args.cost_s)
    off = results[("off", 0.0)]
    print("\nper side against the off side of the same round: median (min..max over rounds)")
    print(f"{'source':<10} {'rate':>5}  {'epoch time on/off':<26} {'epoch CPU on/off':<26} monitor CPU, % of a core")
    for side in sides[1:]:
        ratios = [on["epoch_s"] / base["epoch_s"] for on, base in zip(results[side], off)]
        cpu = [on["cpu_s"] / base["cpu_s"] for on, base in zip(results[side], off)]
        monitor = [100.0 * on["monitor_cpu_s"] / on["epoch_s"] for on in results[side]]
        print(f"{side[0]:<10} {side[1]:>5g}  {spread(ratios):<26} {spread(cpu):<26} {spread(monitor, 2)}")
    if alone:
        print(f"\neach source alone for {args.cost_s:g} s: CPU in % of one core (its processes + the training "
              "process's threads), the most it can slow a run sharing its core")
        for side, result in alone.items():
            own = 100.0 * (result["cpu_s"] - idle["cpu_s"]) / result["epoch_s"]
            processes = 100.0 * result["monitor_cpu_s"] / result["epoch_s"]
            print(f"{side[0]:<10} {side[1]:>5g}  {processes + own:6.2f} %  (processes {processes:.2f}, "
                  f"threads in the training process {own:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
