"""edgebench.monitor."""
