"""Evaluation metrics shared by task plugins."""
