"""File input/output shared by the core and plugins: atomic writes, image decoding, sources, writers."""
