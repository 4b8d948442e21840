"""Business logic in plain Python. Nothing in this package imports reflex."""
