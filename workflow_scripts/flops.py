"""Rule flops: count each model's training FLOPs per sample once, in the PyTorch interpreter.

Where PyTorch cannot run here, results/flops.json holds the reason instead, and the tables'
GFLOP/s cells say it.
"""
import json

from edgebench import logs
from edgebench.atomic import write_text_atomic
from edgebench.interpreters import run_module

logs.setup(snakemake.log[0])
num_classes = len(json.loads(open(snakemake.input.classes).read()))
pairs = [f"{model}:{size}" for model, size in snakemake.params.sizes.items()]
reason = run_module(snakemake.config, "pytorch", ["edgebench.models.flops", "--num-classes", num_classes,
                                                  "--out", snakemake.output.json, *pairs], "the FLOP count")
if reason:
    write_text_atomic(snakemake.output.json, json.dumps({"models": {}, "reason": reason}, indent=2) + "\n")
