"""edgebench: measure CNN training (PyTorch vs MXNet) on edge boards."""

__version__ = "0.1.0"
