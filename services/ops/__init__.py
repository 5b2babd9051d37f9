"""Operator tools behind `logoforge ops ...`: queue depths, dead letters, replay, retraining, adapters."""
