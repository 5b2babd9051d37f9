"""The `logoforge` command: it assembles every process of `services/`, `workers/` and `bot/` from above."""
