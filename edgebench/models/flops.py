"""One FLOP count per model and input size, used for both frameworks' achieved GFLOP/s.

Counted by PyTorch's own counter (torch.utils.flop_counter.FlopCounterMode) on edgebench's
PyTorch model, on the meta device (shapes only: nothing is computed, so VGG-16 at 224 px counts
in a second on a board). A training step is the forward pass, the loss and the backward pass;
the counter counts the convolutions and matrix products (2 FLOPs per multiply-add), which are
nearly all of a CNN's arithmetic; element-wise work (BatchNorm, ReLU, pooling, the optimizer)
is not counted, as in the usual published counts. The Gluon models mirror the PyTorch ones
layer for layer (edgebench/models/README.md), so one count serves both.

    python -m edgebench.models.flops --num-classes 10 --out results/flops.json lenet:32 vgg16:224

Runs in the PyTorch interpreter (config `interpreters.pytorch`). Board side: Python 3.8+.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List

COUNTER = "torch.utils.flop_counter.FlopCounterMode"
BATCH = 2  # BatchNorm in training mode needs more than one sample; counts are per sample


def count(model_name: str, input_size: int, num_classes: int) -> Dict[str, float]:
    """Return the forward and training (forward + backward) FLOPs per sample of a model at an input size."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from edgebench import models

    model = models.build("pytorch", model_name, num_classes, input_size=input_size).train().to("meta")
    x = torch.zeros(BATCH, 3, input_size, input_size, device="meta")
    y = torch.zeros(BATCH, dtype=torch.long, device="meta")
    with FlopCounterMode(display=False) as forward:
        model(x)
    with FlopCounterMode(display=False) as step:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    return {"forward_flops_per_sample": forward.get_total_flops() / BATCH,
            "training_flops_per_sample": step.get_total_flops() / BATCH}


def count_all(pairs: List[str], num_classes: int) -> dict:
    """Return flops.json: {"models": {"<model>@<size>": counts}, how they were counted}."""
    import torch

    counts = {}
    for pair in pairs:
        name, _, size = pair.partition(":")
        counts[f"{name}@{int(size)}"] = count(name, int(size), num_classes)
    return {"models": counts, "num_classes": num_classes, "counted_by": f"{COUNTER} (torch {torch.__version__})",
            "counts": "convolutions and matrix products, 2 FLOPs per multiply-add; training = forward + backward",
            "reason": None}


def main(argv=None) -> int:
    """Write the FLOP counts of the given model:size pairs as JSON."""
    parser = argparse.ArgumentParser(prog="python -m edgebench.models.flops", description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="+", help="model:input_size, e.g. lenet:32")
    parser.add_argument("--num-classes", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    from edgebench.atomic import write_text_atomic

    write_text_atomic(args.out, json.dumps(count_all(args.pairs, args.num_classes), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
