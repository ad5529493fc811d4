"""edgebench.hwconfig."""
