"""The generator worker: consumes GenerateLogo, draws with diffusers, stores PNGs, reports events."""
