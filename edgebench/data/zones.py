"""The thesis's file-size zones around the population mean X and standard deviation sigma.

    D: [X-2s, X-s)   C: [X-s, X)   B: [X, X+s)   A: [X+s, X+2s)
Sizes outside [X-2s, X+2s) are not eligible for the subset ("rare cases" in thesis Fig. 4.3).
"""

import numpy as np

ZONES = ("D", "C", "B", "A")
BELOW, ABOVE = "below", "above"  # outside the eligible band
ZONE_LABELS = (BELOW,) + ZONES + (ABOVE,)


def zone_edges(mean, std):
    """Return the five zone boundaries X-2s, X-s, X, X+s, X+2s."""
    return np.array([mean - 2 * std, mean - std, mean, mean + std, mean + 2 * std], dtype=float)


def zone_index(sizes, mean, std):
    """Return per size an index into ZONE_LABELS (0 = below the band, 5 = above it)."""
    # side="right": a size equal to an edge belongs to the zone above it, so each zone is
    # closed on the left and open on the right, as in the thesis.
    return np.searchsorted(zone_edges(mean, std), np.asarray(sizes, dtype=float), side="right")


def zone_counts(sizes, mean, std):
    """Return {zone label: number of sizes in it} for all six labels."""
    counts = np.bincount(zone_index(sizes, mean, std), minlength=len(ZONE_LABELS))
    return {label: int(c) for label, c in zip(ZONE_LABELS, counts)}


def eligible_mask(sizes, mean, std):
    """Return a boolean array: True where a size lies in [X-2s, X+2s), the eligible band."""
    index = zone_index(sizes, mean, std)
    return (index >= 1) & (index <= len(ZONES))
