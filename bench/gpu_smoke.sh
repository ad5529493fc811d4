#!/usr/bin/env bash
# GPU smoke test of the board-side runner (see bench/gpu_smoke.py): a few short training runs on
# the GPU, checked. Needs a Python with a CUDA PyTorch, numpy, pandas, Pillow, psutil, PyYAML.
#   bench/gpu_smoke.sh            # on a GPU machine; exits 2 with "no CUDA GPU" elsewhere
#   bench/gpu_smoke.sh --cpu      # the same pipeline on the CPU (GPU checks skipped)
#   PYTHON=/path/to/python bench/gpu_smoke.sh   # another interpreter than python3
set -euo pipefail
checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="${checkout}${PYTHONPATH:+:${PYTHONPATH}}"
export PYTHONUNBUFFERED=1
exec "${PYTHON:-python3}" "${checkout}/bench/gpu_smoke.py" "$@"
