"""Reconstruction quality: per-image metrics, their distributions and red flags."""
