"""edgebench.train."""
