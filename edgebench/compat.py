"""Import shims for retired dependencies, kept in one place."""

from __future__ import annotations

import numpy


def import_mxnet():
    """Return the mxnet module, importable beside numpy 1.24+."""
    # mxnet 1.9.1 (the last release) still uses the alias numpy.bool, which numpy 1.24
    # removed; numpy.bool_ is what that alias always meant. The check reads the module's dict:
    # `numpy.bool` itself would go through numpy's __getattr__, which warns on every import.
    if vars(numpy).get("bool") is not numpy.bool_:
        numpy.bool = numpy.bool_
    import mxnet

    return mxnet
