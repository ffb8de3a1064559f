"""Guided sampling from the conditional VAE and the generative metrics (Fréchet distance,
precision/recall, diversity)."""
