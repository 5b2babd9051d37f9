"""The assets worker: SVG, transparent PNG, palette and brand kit of every generated logo."""
