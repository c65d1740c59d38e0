"""Dense-regression dataset formats (one module per on-disk format) and the embedded rooms."""
