"""Import shims for retired dependencies, kept in one place."""

import numpy


def import_mxnet():
    """Return the mxnet module, importable beside numpy 1.24+."""
    # mxnet 1.9.1 (the last release) still uses the alias numpy.bool, which numpy 1.24
    # removed; numpy.bool_ is what that alias always meant.
    if not hasattr(numpy, "bool") or numpy.bool is not numpy.bool_:
        numpy.bool = numpy.bool_
    import mxnet

    return mxnet
