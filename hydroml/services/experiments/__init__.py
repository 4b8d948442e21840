"""Experiments: splits, metrics and training runs over prepared tables."""
