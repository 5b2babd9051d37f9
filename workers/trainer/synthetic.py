"""A synthetic logo-like dataset made in code: flat shapes on plain backgrounds, with captions.

Used by the tests that prove training learns, by the benchmark and by smoke runs, so none of them needs
a download. The captions follow the seed datasets' style: "a logo of a red circle, white background".
"""

import random
from dataclasses import dataclass

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
