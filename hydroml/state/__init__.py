"""Reflex state classes: thin controllers (check the user, call a service, set a few vars)."""
