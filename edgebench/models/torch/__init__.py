"""edgebench.models.torch."""
