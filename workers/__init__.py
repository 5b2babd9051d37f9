"""GPU processes: the generator and the trainer. Model code lives here and nowhere else."""
