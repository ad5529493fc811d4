"""Rule peak: measure the host's float32 GEMM rate on one configuration's cores (or GPU), in the
PyTorch interpreter. A configuration this host cannot run, or no PyTorch, is recorded with its reason."""
import json
import socket

from edgebench import logs
from edgebench.atomic import write_text_atomic
from edgebench.interpreters import run_module

logs.setup(snakemake.log[0])
w, p = snakemake.wildcards, snakemake.params
reason = run_module(snakemake.config, "pytorch",
                    ["edgebench.train.peak", "--board", p.board, "--hwcfg", w.hwcfg,
                     "--hwconfig", json.dumps(p.hwconfig), "--out", snakemake.output.json,
                     "--record-dir", p.lock_dir], "the GEMM peak")
if reason:
    record = {"hwcfg": w.hwcfg, "host": socket.gethostname(), "gflops_per_s": None, "reason": reason}
    write_text_atomic(snakemake.output.json, json.dumps(record, indent=2) + "\n")
