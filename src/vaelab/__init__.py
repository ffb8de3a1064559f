"""vaelab: a reproducible DVC pipeline for autoencoders (library imported by every stage)."""

__version__ = "0.1.0"
