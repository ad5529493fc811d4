"""edgebench.analysis."""
