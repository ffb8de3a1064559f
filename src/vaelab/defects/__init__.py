"""Defect detection on magnetic tiles: the dataset (data), the DetailVAE and its training,
pretrained features, synthetic defects, anomaly maps, the detector, segmentation metrics, the
evaluation and batch inference; ``params`` holds the ``defects`` section's schema."""
