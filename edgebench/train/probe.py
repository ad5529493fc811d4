"""What an interpreter can run: `python -m edgebench.train.probe FRAMEWORK` prints one JSON object.

The workflow side asks each configured interpreter (config key `interpreters`) before it plans
training, and `edgebench check` shows the answer: the Python and numpy versions, whether the
framework imports (and why not), its versions, and whether it can use a GPU. It imports the
framework for real, since an installed package that cannot load its libraries (MXNet's aarch64
wheel without the Arm Performance Libraries) is as unusable as a missing one. Board side:
Python 3.8+; it always exits 0 when it could print its answer.
"""

from __future__ import annotations

import json
import os
import platform
import sys


def probe(framework: str) -> dict:
    """Return what this interpreter offers for a framework (never raises for a missing framework)."""
    answer = {"executable": sys.executable, "python": platform.python_version(), "machine": platform.machine(),
              "framework": framework, "imports": False, "error": None, "versions": None, "gpu": None,
              "cores": sorted(os.sched_getaffinity(0))}
    try:
        import numpy

        answer["numpy"] = numpy.__version__
        for module in ("pandas", "psutil", "yaml"):  # the runner's other needs
            __import__(module)
        from edgebench.train.backend import load_backend

        backend_cls = load_backend(framework)
    except Exception as error:  # ImportError, OSError from a missing shared library, the shim's errors
        answer["error"] = f"{type(error).__name__}: {error}"
        return answer
    answer["imports"] = True
    answer["versions"] = backend_cls.versions()
    try:
        answer["gpu"] = bool(backend_cls.gpu_usable())
    except Exception as error:  # a broken driver is "no GPU", said with the reason
        answer["gpu"], answer["gpu_error"] = False, f"{type(error).__name__}: {error}"
    return answer


def main(argv=None) -> int:
    """Print the probe of the framework named on the command line as JSON."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m edgebench.train.probe FRAMEWORK", file=sys.stderr)
        return 2
    print(json.dumps(probe(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
