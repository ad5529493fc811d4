"""Benchmark: cache-mode loader throughput vs what LeNet training consumes (torch, batch 4).

Builds the demo tree, prepares it at 64 px, then measures in one run:
  * loader: samples/s of iterate_batches(batch 4, shuffle, flip augmentation), numpy only;
  * consumer: samples/s of LeNet train steps (forward, backward, SGD) in PyTorch on
    batches already in memory, so it measures the model alone;
and prints loader / consumer. Above 1 the loader is not the bottleneck; the margin says how
much of a training step's time the loader adds when run in the same thread (1 / ratio).
With --native it also measures the native mode (torchvision ImageFolder + DataLoader and
Gluon ImageFolderDataset + DataLoader, decoding JPEGs, no worker processes) for comparison.

The LeNet here is the classic LeNet-5 shape for 3x64x64 input (conv 6@5x5, pool, conv 16@5x5,
pool, fc 120, 84, classes), a stand-in of the same size as the workflow's model.

    python bench/loader.py [--size 64] [--batch 4] [--steps 300] [--native]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edgebench.data.demo import generate_demo_tree  # noqa: E402
from edgebench.data.loader import CachedSplit, iterate_batches  # noqa: E402
from edgebench.data.native import gluon_loader, materialize_subset, skipped_paths, torch_loader  # noqa: E402
from edgebench.data.prepare import prepare  # noqa: E402
from edgebench.data.scan import write_stats  # noqa: E402
from edgebench.data.subset import write_subset  # noqa: E402


def loader_rate(split, batch, min_seconds=2.0):
    """Return samples/s of whole epochs of shuffled, flipped batches (at least min_seconds)."""
    samples, epoch = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        for _, y in iterate_batches(split, batch, seed=0, epoch=epoch, augment=True):
            samples += len(y)
        epoch += 1
    return samples / (time.perf_counter() - start)


def native_rate(make_loader, min_seconds=2.0):
    """Return samples/s of whole epochs of a native DataLoader built by make_loader(epoch)."""
    samples, epoch = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        for _, y in make_loader(epoch):
            samples += len(y)
        epoch += 1
    return samples / (time.perf_counter() - start)


def lenet_rate(split, batch, steps, size):
    """Return samples/s of LeNet train steps in PyTorch on pre-loaded batches."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    flat = 16 * (((size - 4) // 2 - 4) // 2) ** 2
    model = nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, split.num_classes))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    batches = [(torch.from_numpy(x), torch.from_numpy(y))
               for x, y in iterate_batches(split, batch, seed=0, epoch=0, drop_last=True)]

    def step(x, y):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    for x, y in batches[:20]:  # warm-up: allocator and kernels
        step(x, y)
    start = time.perf_counter()
    for i in range(steps):
        step(*batches[i % len(batches)])
    return steps * batch / (time.perf_counter() - start), torch.get_num_threads()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--native", action="store_true", help="also time the native (JPEG) loaders")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edgebench-loader-bench-") as tmp:
        tmp = Path(tmp)
        generate_demo_tree(tmp / "imagenet", seed=0)
        write_stats(tmp / "imagenet", tmp / "stats.json")
        write_subset(tmp / "imagenet", tmp / "stats.json", tmp / "manifest.csv", tmp / "report.json",
                     classes="thesis10", train_per_class=30, val_per_class=8, seed=0)
        prepare(tmp / "imagenet", tmp / "manifest.csv", args.size, tmp / "prepared")
        split = CachedSplit(tmp / "prepared", "train")
        loader = loader_rate(split, args.batch)
        consumer, threads = lenet_rate(split, args.batch, args.steps, args.size)
        native = {}
        if args.native:
            materialize_subset(tmp / "imagenet", tmp / "manifest.csv", tmp / "jpeg",
                               exclude=skipped_paths(tmp / "prepared" / "report.json"))
            for name, factory in (("torchvision ImageFolder", torch_loader), ("Gluon ImageFolderDataset", gluon_loader)):
                native[name] = native_rate(lambda epoch: factory(tmp / "jpeg", "train", args.size, args.batch,
                                                                 seed=0, epoch=epoch, augment=True))
    print(f"images {args.size}x{args.size}, batch {args.batch}, {len(split)} train samples")
    print(f"loader (cache mode, shuffle + flip): {loader:9.0f} samples/s")
    print(f"LeNet train step (torch, {threads} threads): {consumer:9.0f} samples/s")
    print(f"ratio loader/consumer: {loader / consumer:.1f}x "
          f"(loader adds ~{100 * consumer / loader:.1f}% to a training step when run inline)")
    for name, rate in native.items():
        print(f"native {name} (JPEG decode, 0 workers): {rate:9.0f} samples/s, "
              f"ratio to consumer {rate / consumer:.1f}x")


if __name__ == "__main__":
    main()
