"""cvkit: one command line for training, evaluating, running and shipping vision models."""

__version__ = "0.1.0"
