"""The assets worker's work per image against vtracer alone, on the same 512x512 synthetic logos, side by side.

    .venv/bin/python bench/assets_bench.py [--images 20] [--repeat 3]

"Assets" is what the worker does for each image once it has the PNG: decoding it once, the SVG (vtracer, then
rendered back with resvg and compared), the transparent PNG, the palette and the brand kit
(`workers.assets.making.make_assets`).
"vtracer alone" is `vtracer.convert_raw_image_to_svg` with the same settings on the same PNG. Both run in this one
process, alternating image by image; reported: images/s of each and their ratio (target: assets >= 0.7x vtracer).

Also timed, on the same images, the least any design must do besides vtracer, and the ratio that would leave even
if it were all it did: decode the PNG once, render the SVG back at 64 px (less than any fidelity check could look
at), find the background (CIELAB, the distance to the corner's colour, the connected regions: the least a cut in
a perceptual colour space needs), and make the kit's 1024 px PNG from the 512 px logo with fpng, by bilinear
upscaling (the cheapest smooth one) or by doubling pixels (no brand asset, the cheapest of all).
The logos are flat shapes in two to five colours, anti-aliased, as a logo model should draw them.
"""

import argparse
import io
import random
import statistics
import sys
import time
from pathlib import Path

import fpng
import numpy as np
import vtracer
from PIL import Image, ImageDraw
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workers.assets.making import VTRACER_SETTINGS, cielab, make_assets, render

COLOURS = ["#ff8c00", "#000080", "#ffd700", "#008080", "#dc143c", "#2e8b57", "#6a5acd", "#ff69b4"]


def synthetic_logo(seed: int, size: int = 512) -> bytes:
    rng = random.Random(seed)
    scale = 4
    image = Image.new("RGB", (size * scale, size * scale), rng.choice(["#ffffff", "#f5f5f5", "#111827"]))
    draw = ImageDraw.Draw(image)
    s = size * scale
    colours = rng.sample(COLOURS, rng.randint(1, 4))
    draw.ellipse((s * 0.15, s * 0.15, s * 0.85, s * 0.85), fill=colours[0])
    for index, colour in enumerate(colours[1:]):
        if rng.random() < 0.5:
            top = s * (0.3 + 0.12 * index)
            draw.rectangle((s * 0.3, top, s * 0.7, top + s * 0.07), fill=colour)
        else:
            x = s * (0.3 + 0.15 * index)
            draw.polygon([(x, s * 0.65), (x + s * 0.12, s * 0.65), (x + s * 0.06, s * 0.45)], fill=colour)
    out = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(out, format="PNG")
    return out.getvalue()


def main(count: int, repeat: int) -> None:
    logos = [synthetic_logo(seed) for seed in range(count)]
    about = {"prompt": "a synthetic logo", "seed": 1}
    make_assets(logos[0], about)  # warm up: imports, the CSS colour table
    assets_s: list[float] = []
    vtracer_s: list[float] = []
    least_s: list[float] = []
    doubled_s: list[float] = []
    failures: dict[str, int] = {}
    for _ in range(repeat):
        for png in logos:
            started = time.perf_counter()
            made = make_assets(png, about)
            assets_s.append(time.perf_counter() - started)
            for name in made.failures:
                failures[name] = failures.get(name, 0) + 1
            started = time.perf_counter()
            svg = vtracer.convert_raw_image_to_svg(png, img_format="png", **VTRACER_SETTINGS)
            vtracer_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            with Image.open(io.BytesIO(png)) as image:
                image.load()
            render(svg, 64, 64)
            lab = cielab(np.asarray(image.convert("RGB")))
            offset = lab - lab[0, 0]
            ndimage.label(np.einsum("ijk,ijk->ij", offset, offset) < 36.0)
            rgba = image.convert("RGBA")
            common = time.perf_counter() - started
            started = time.perf_counter()
            fpng.from_pil(rgba.resize((1024, 1024), Image.Resampling.BILINEAR))
            least_s.append(common + time.perf_counter() - started)
            started = time.perf_counter()
            fpng.from_pil(rgba.resize((1024, 1024), Image.Resampling.NEAREST))
            doubled_s.append(common + time.perf_counter() - started)
    assets_rate, vtracer_rate = len(assets_s) / sum(assets_s), len(vtracer_s) / sum(vtracer_s)
    print(f"{count} synthetic 512x512 logos x {repeat}, one process, one thread:")
    print(
        f"  assets (SVG checked, transparent PNG, palette, kit): {assets_rate:6.2f} images/s "
        f"(median {statistics.median(assets_s) * 1e3:.0f} ms)"
    )
    print(
        f"  vtracer alone:                                      {vtracer_rate:6.2f} images/s "
        f"(median {statistics.median(vtracer_s) * 1e3:.0f} ms)"
    )
    print(f"  ratio {assets_rate / vtracer_rate:.2f} (target >= 0.7); assets not made: {failures or 'none'}")
    vtracer_median = statistics.median(vtracer_s)
    for name, samples in (("bilinear", least_s), ("pixels doubled", doubled_s)):
        least = statistics.median(samples)
        print(
            f"  the least besides vtracer, 1024 px by {name}: median {least * 1e3:.1f} ms: "
            f"ratio at most {vtracer_median / (vtracer_median + least):.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    main(args.images, args.repeat)
