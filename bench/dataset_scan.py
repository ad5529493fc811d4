"""Benchmark: how fast the dataset scan lists a tree, extrapolated to ImageNet's 1.28M files.

Creates a synthetic ILSVRC-layout train tree of small files in a temporary directory
(default 1000 classes x 200 files = 200,000 files), scans it with edgebench.data.scan, and
prints the rate in files/s and the projected time for 1,281,167 files (goal: under 60 s).

The tree was just written, so its directory entries and inodes are in the page cache: this
measures the scanner, not the disk. A cold scan of a real tree on a spinning disk or network
file system is bounded by the storage; more --workers help there.

    python bench/dataset_scan.py [--classes 1000] [--per-class 200] [--workers 16]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edgebench.data.scan import scan_tree  # noqa: E402

IMAGENET_TRAIN_FILES = 1_281_167


def make_tree(root, classes, per_class, seed=0):
    """Write classes x per_class tiny files with varied sizes; return the number written."""
    rng = np.random.default_rng(seed)
    payload = b"\xff" * 256
    for c in range(classes):
        wnid = f"n{c:08d}"
        folder = root / "train" / wnid
        folder.mkdir(parents=True)
        for n, size in enumerate(rng.integers(1, 256, size=per_class)):
            with open(folder / f"{wnid}_{n}.JPEG", "wb") as handle:
                handle.write(payload[:size])
    return classes * per_class


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--per-class", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--dir", default=None, help="where to build the temporary tree (default: system temp)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="edgebench-scan-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        files = make_tree(root, args.classes, args.per_class)
        print(f"built {files} files in {args.classes} class folders in {time.perf_counter() - start:.1f} s")
        print(f"cpu cores visible: {os.cpu_count()}")
        for workers in args.workers:
            start = time.perf_counter()
            stats = scan_tree(root, workers=workers)
            elapsed = time.perf_counter() - start
            assert stats["train"]["overall"]["count"] == files
            rate = files / elapsed
            projected = IMAGENET_TRAIN_FILES / rate
            verdict = "meets" if projected < 60 else "misses"
            print(f"workers={workers:3d}: {elapsed:6.2f} s, {rate:9.0f} files/s, "
                  f"projected {projected:5.1f} s for {IMAGENET_TRAIN_FILES:,} files ({verdict} the 60 s goal)")


if __name__ == "__main__":
    main()
