"""Operator tools behind `logoforge ops ...`."""
