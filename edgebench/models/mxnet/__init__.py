"""edgebench.models.mxnet."""
