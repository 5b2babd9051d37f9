"""A synthetic logo-like dataset made in code: flat shapes on plain backgrounds, with captions.

Used by the tests that prove training learns, by the benchmark and by smoke runs, so none of them needs
a download. The captions follow the seed datasets' style: "a logo of a red circle, white background".
Also a LoRA adapter with random weights, for the tests and benchmarks of serving adapters.
"""

import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "blue": (40, 70, 220),
    "green": (40, 170, 70),
    "orange": (245, 150, 30),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {"white": (255, 255, 255), "black": (15, 15, 15)}
SHAPES = ("circle", "square", "triangle")


@dataclass(frozen=True)
class SyntheticLogo:
    image: Image.Image
    caption: str


def draw_logo(shape: str, color: str, background: str, size: int = 64, rng: random.Random | None = None) -> Image.Image:
    """One flat shape, centred with a little jitter, on a plain background."""
    rng = rng or random.Random(0)
    image = Image.new("RGB", (size, size), BACKGROUNDS[background])
    draw = ImageDraw.Draw(image)
    radius = size * rng.uniform(0.25, 0.35)
    cx, cy = size / 2 + rng.uniform(-3, 3), size / 2 + rng.uniform(-3, 3)
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    fill = COLORS[color]
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    elif shape == "triangle":
        draw.polygon([(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)], fill=fill)
    else:
        raise ValueError(f"shape: expected one of {SHAPES}, got {shape!r}")
    return image


def caption(shape: str, color: str, background: str) -> str:
    return f"a logo of a {color} {shape}, {background} background"


def synthetic_logos(count: int, size: int = 64, seed: int = 0) -> list[SyntheticLogo]:
    """`count` logos cycling through shapes, colours and backgrounds, reproducible from `seed`."""
    rng = random.Random(seed)
    logos = []
    for index in range(count):
        shape = SHAPES[index % len(SHAPES)]
        color = list(COLORS)[(index // len(SHAPES)) % len(COLORS)]
        background = list(BACKGROUNDS)[(index // (len(SHAPES) * len(COLORS))) % len(BACKGROUNDS)]
        logos.append(SyntheticLogo(draw_logo(shape, color, background, size, rng), caption(shape, color, background)))
    return logos


def random_adapter(model: str | Path, seed: int) -> bytes:
    """A LoRA adapter file with random (non-zero) weights, as if trained: quick to make, visibly different."""
    import torch

    from schemas.training import TrainingConfig
    from workers.trainer.artifacts import adapter_bytes
    from workers.trainer.models import add_lora, load_components

    config = TrainingConfig(rank=4, alpha=4, resolution=64, seed=seed)
    components = load_components(str(model), config, "cpu")
    add_lora(components, config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in components.unet.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5, generator=generator)
    return adapter_bytes(components)
