"""edgebench.models."""
