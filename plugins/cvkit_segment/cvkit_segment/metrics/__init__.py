"""Semantic-segmentation metrics: one dataset-wide confusion matrix."""
