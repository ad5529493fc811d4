"""Time a few training steps of a model on a hardware configuration (for `edgebench status --calibrate`).

Runs as its own process so that pinning and thread settings apply exactly as in a real run.
Prints the mean seconds per training batch on its last line. Board side: it runs in the
framework's own interpreter (edgebench status starts it there); Python 3.8+.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from edgebench.hwconfig import apply as hwapply
from edgebench.hwconfig import check_host, load_board, resolve


def main(argv=None) -> int:
    """Print seconds per training step after a warm-up step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("framework", "model", "hwconfig", "hwcfg-name", "board"):
        parser.add_argument(f"--{name}", required=True)
    for name in ("size", "classes", "batch", "steps"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args(argv)
    cfg = resolve(args.hwcfg_name, json.loads(args.hwconfig), load_board(args.board))
    check_host(cfg)
    hwapply.enter(cfg)
    from edgebench.settings import Training, section
    from edgebench.train.backend import load_backend

    # A step's time does not depend on the hyperparameters' values: the schema's defaults.
    backend = load_backend(args.framework)(args.model, args.classes, args.size, section(Training, {}), 0, cfg.gpu,
                                           cfg.threads)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, 3, args.size, args.size)).astype(np.float32)
    y = rng.integers(0, args.classes, size=args.batch)
    backend.train_step(x, y)  # warm-up: first-call allocations and MXNet's graph build
    start = time.perf_counter()
    for _ in range(args.steps):
        backend.train_step(x, y)
    print((time.perf_counter() - start) / args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
