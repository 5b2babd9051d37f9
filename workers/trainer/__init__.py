"""The trainer worker: consumes TrainAdapter, trains a LoRA adapter, reports metrics and promotes it."""
