"""The board side's entry point: `python -m edgebench.train.main SPEC.json` trains one run.

The workflow's train rule starts this in the framework's own interpreter (config key
`interpreters`), with the checkout on PYTHONPATH; it needs only the framework, numpy, pandas,
psutil and PyYAML (Python 3.8+). Exit status 0 means the run is recorded (done, failed or
refused); anything else means it must be retried.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def main(argv=None) -> int:
    """Run (or resume) the run a spec file describes; return 0 once its result is recorded."""
    parser = argparse.ArgumentParser(prog="python -m edgebench.train.main", description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="the run's spec (written by workflow_scripts/train.py)")
    args = parser.parse_args(argv)
    document = json.loads(args.spec.read_text())
    from edgebench import logs

    logs.setup(document.get("log"))
    from edgebench.train.runner import run
    from edgebench.train.spec import load_spec

    try:
        summary = run(load_spec(document))
    except BaseException:
        # The job's log is where a user looks first: the traceback goes there, not only to stderr.
        logging.getLogger("edgebench.train").exception("the run stopped without a recorded result")
        raise
    return 0 if summary.get("status") in ("done", "failed", "refused") else 1


if __name__ == "__main__":
    sys.exit(main())
