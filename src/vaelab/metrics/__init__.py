"""Metric functions, kept apart from models and data (recon, likelihood, anomaly, ...)."""
