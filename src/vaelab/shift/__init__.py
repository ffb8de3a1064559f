"""Shift and anomaly detection on MNIST: scores, their ROC, the anomaly section schema."""
