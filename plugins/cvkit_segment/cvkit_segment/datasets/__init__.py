"""Dataset formats (one module per on-disk format), the embedded shapes dataset and the segmentation dataset."""
