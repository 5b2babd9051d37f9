"""What a designer needs from one logo PNG, made on the CPU: an SVG (vtracer) checked against the PNG by rendering it
back (resvg), a PNG with a transparent background, the palette, and a brand kit. Each asset either succeeds or says
why it could not be made; none of them touches the original.
"""

import io
import json
import zipfile
from dataclasses import dataclass, field

import numpy as np
import resvg_py
import vtracer
import webcolors
from PIL import Image

# Vectorising: logos have few colours and smooth curves; specks smaller than this many pixels are dropped.
VTRACER_SETTINGS = {
    "colormode": "color",
    "hierarchical": "stacked",
    "mode": "spline",
    "filter_speckle": 6,
    "color_precision": 6,
    "layer_difference": 24,
    "corner_threshold": 60,
    "length_threshold": 4.0,
    "splice_threshold": 45,
    "path_precision": 3,
}
MAX_VECTOR_SIDE = 512  # larger images are vectorised from a copy this size (the SVG scales back up)
MAX_SVG_BYTES = 1_500_000
# Fidelity: the SVG rendered back at the PNG's size against the PNG, pixel by pixel. A pixel matches when every
# channel is within MATCH_TOLERANCE; the SVG is faithful when at most MAX_MISMATCH of the pixels do not match
# (anti-aliased edges account for most of those on a clean logo).
MATCH_TOLERANCE = 40
MAX_MISMATCH = 0.04

# Transparency: the background is the colour region touching the border, within BACKGROUND_DELTA_E (CIE76) of the
# border's colour; the EDGE_PIXELS around it keep their anti-aliasing as partial transparency. A border whose
# colours spread further than BORDER_SPREAD_DELTA_E is not one flat colour: the logo stays opaque.
BACKGROUND_DELTA_E = 6.0
EDGE_PIXELS = 2
BORDER_SPREAD_DELTA_E = 8.0

PALETTE_SIZE = 6
PALETTE_MERGE_DELTA_E = 12.0
KIT_PNG_SIZES = (16, 32, 48, 64, 128, 256, 512, 1024)
FAVICON_SIZES = ((16, 16), (32, 32), (48, 48))
APPLE_TOUCH_SIZE = 180


class AssetFailed(Exception):
    """One asset could not be made; the message says why, for the user."""


@dataclass
class Vector:
    svg: str
    mismatch: float  # share of pixels that do not match the PNG
    mean_difference: float  # mean absolute difference per channel, 0-255


@dataclass
class Cutout:
    png: bytes
    background: str  # the removed colour, as hex


@dataclass
class Assets:
    """Everything made for one image; an asset that failed is None and its reason is in `failures`."""

    vector: Vector | None = None
    transparent: Cutout | None = None
    palette: list[dict] | None = None
    kit: bytes | None = None
    failures: dict[str, str] = field(default_factory=dict)


def _open_rgba(png: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(png)) as image:
            image.load()
            return image.convert("RGBA")
    except (OSError, SyntaxError, ValueError) as error:
        raise AssetFailed(f"the image does not decode ({error})") from None


def _rgb_of(image: Image.Image) -> np.ndarray:
    """RGB over white where the image has transparency (what a viewer shows)."""
    canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
    canvas.alpha_composite(image)
    return np.asarray(canvas.convert("RGB"), dtype=np.int16)


def vectorise(png: bytes) -> Vector:
    """The logo as an SVG, with how closely it renders back to the PNG; AssetFailed when it does not."""
    image = _open_rgba(png)
    rgb = _rgb_of(image)
    if (rgb.max(axis=(0, 1)) - rgb.min(axis=(0, 1))).max() == 0:
        raise AssetFailed("the image is a single colour: there is no shape to vectorise")
    source = image
    if max(image.size) > MAX_VECTOR_SIDE:
        source = image.copy()
        source.thumbnail((MAX_VECTOR_SIDE, MAX_VECTOR_SIDE))
    buffer = io.BytesIO()
    source.save(buffer, format="PNG")
    svg = vtracer.convert_raw_image_to_svg(buffer.getvalue(), img_format="png", **VTRACER_SETTINGS)
    if len(svg) > MAX_SVG_BYTES:
        raise AssetFailed(f"too detailed to vectorise as a logo ({len(svg):,} bytes of paths)")
    if source is not image:  # draw the paths at the original size
        svg = svg.replace(
            f'width="{source.width}" height="{source.height}"',
            f'width="{image.width}" height="{image.height}" viewBox="0 0 {source.width} {source.height}"',
            1,
        )
    rendered = render(svg, image.width, image.height)
    difference = np.abs(_rgb_of(rendered) - rgb)
    mismatch = float((difference.max(axis=2) > MATCH_TOLERANCE).mean())
    mean_difference = float(difference.mean())
    if mismatch > MAX_MISMATCH:
        raise AssetFailed(
            f"the SVG does not match the image closely enough ({mismatch:.1%} of pixels differ; "
            f"at most {MAX_MISMATCH:.0%} may): too many colours or too much detail for a vector logo"
        )
    return Vector(svg=svg, mismatch=mismatch, mean_difference=mean_difference)


def render(svg: str, width: int, height: int) -> Image.Image:
    """An SVG drawn to pixels by resvg."""
    png = bytes(resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, skip_system_fonts=True))
    return _open_rgba(png)


_LINEAR = np.where(
    np.arange(256) / 255.0 > 0.04045, ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4, np.arange(256) / 255.0 / 12.92
).astype(np.float32)  # sRGB byte -> linear light
_XYZ = (
    np.array([[0.4124, 0.2126, 0.0193], [0.3576, 0.7152, 0.1192], [0.1805, 0.0722, 0.9505]])
    / np.array([0.95047, 1.0, 1.08883])
).astype(np.float32)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0-255) to CIELAB (D65)."""
    c = _LINEAR[np.clip(np.rint(rgb), 0, 255).astype(np.uint8)]
    xyz = c @ _XYZ
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(v)) for v in rgb))


def cut_out_background(png: bytes) -> Cutout:
    """The logo with its background transparent: the region of the border's colour that touches the border, with
    anti-aliased edges. AssetFailed (the logo stays opaque) when the border is not one flat colour."""
    image = _open_rgba(png)
    rgba = np.asarray(image, dtype=np.float64)
    if rgba[..., 3].min() < 255:
        raise AssetFailed("the image already has transparency")
    rgb = rgba[..., :3]
    lab = _lab(rgb)
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    background = np.median(border, axis=0)
    spread = np.percentile(np.linalg.norm(border - background, axis=1), 95)
    if spread > BORDER_SPREAD_DELTA_E:
        raise AssetFailed(
            f"the border is not one flat colour (its colours spread {spread:.0f} ΔE, more than "
            f"{BORDER_SPREAD_DELTA_E:.0f}): the logo is left opaque rather than cut into"
        )
    distance = np.linalg.norm(lab - background, axis=2)
    # The background: pixels of the border's colour connected to the border (grown from it).
    near = distance < BACKGROUND_DELTA_E
    region = np.zeros_like(near)
    region[0, :], region[-1, :], region[:, 0], region[:, -1] = near[0, :], near[-1, :], near[:, 0], near[:, -1]
    region = _connected(near, region)
    if region.mean() > 0.995:
        raise AssetFailed("the image is all background: nothing would be left")
    # Its anti-aliased rim: pixels within EDGE_PIXELS of it, each as transparent as it is close to the background,
    # measured against the most foreground-like pixel around it (a half-covered pixel lies halfway).
    band = region.copy()
    for _ in range(EDGE_PIXELS):
        band = _spread(band)
    band &= ~region
    around = distance.copy()
    for _ in range(EDGE_PIXELS + 1):
        around = _spread_max(around)
    alpha = np.ones(distance.shape)
    alpha[region] = 0.0
    alpha[band] = np.clip(distance[band] / np.maximum(around[band], 1e-6), 0.0, 1.0)
    # Un-mix the background from partly transparent edge pixels, so that they look right on any colour.
    background_rgb = np.median(np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]), axis=0)
    safe = np.maximum(alpha, 1e-3)[..., None]
    colour = np.clip((rgb - (1 - alpha[..., None]) * background_rgb) / safe, 0, 255)
    out = np.dstack([colour, alpha * 255]).round().astype(np.uint8)
    return Cutout(png=_png(Image.fromarray(out, "RGBA")), background=_hex(background_rgb))


def _runs_reached(near: np.ndarray, reached: np.ndarray) -> np.ndarray:
    """Along each row: every pixel of a run of `near` pixels that holds a `reached` one."""
    width = near.shape[1]
    run = np.cumsum(~near, axis=1) + np.arange(near.shape[0])[:, None] * (width + 1)
    hit = np.bincount(run[near], weights=reached[near], minlength=int(run.max()) + 1) > 0
    return near & hit[run]


def _connected(near: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The pixels of `near` connected to `seeds` (4-connected): whole runs along rows, then columns, until stable."""
    region = seeds & near
    while True:
        grown = _runs_reached(near, region)
        grown = _runs_reached(near.T, grown.T).T
        if (grown == region).all():
            return region
        region = grown


def _spread(mask: np.ndarray) -> np.ndarray:
    """`mask` grown by one pixel in the four directions."""
    grown = mask.copy()
    grown[1:, :] |= mask[:-1, :]
    grown[:-1, :] |= mask[1:, :]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


def _spread_max(values: np.ndarray) -> np.ndarray:
    """Each pixel's largest value among itself and its four neighbours."""
    out = values.copy()
    np.maximum(out[1:, :], values[:-1, :], out=out[1:, :])
    np.maximum(out[:-1, :], values[1:, :], out=out[:-1, :])
    np.maximum(out[:, 1:], values[:, :-1], out=out[:, 1:])
    np.maximum(out[:, :-1], values[:, 1:], out=out[:, :-1])
    return out


def _css_names() -> list[tuple[str, np.ndarray]]:
    names = webcolors.names("css3")
    return [(name, _lab(np.array(webcolors.name_to_rgb(name), dtype=np.float64))) for name in names]


CSS_COLOURS = _css_names()


def nearest_css_name(rgb) -> str:
    lab = _lab(np.array(rgb, dtype=np.float64))
    return min(CSS_COLOURS, key=lambda entry: float(np.linalg.norm(entry[1] - lab)))[0]


def palette(png: bytes, size: int = PALETTE_SIZE) -> list[dict]:
    """The dominant colours, largest share first: hex, share of the pixels, nearest CSS colour name.

    A logo's flat colours are its most frequent exact colours; anti-aliased blends are many and rare. Colours
    within PALETTE_MERGE_DELTA_E of a more frequent one count as that one.
    """
    image = _open_rgba(png)
    rgb = Image.fromarray(_rgb_of(image).astype(np.uint8), "RGB")
    if max(rgb.size) > 256:
        rgb = rgb.resize((256, 256), Image.Resampling.NEAREST)  # keeps exact colours
    counts = sorted(rgb.getcolors(maxcolors=256 * 256) or [], reverse=True)[:4096]
    total = sum(count for count, _ in rgb.getcolors(maxcolors=256 * 256) or [])
    colours = np.array([colour for _, colour in counts], dtype=np.float32).reshape(-1, 3)
    weights = np.array([count for count, _ in counts], dtype=np.float64)
    labs = _lab(colours)
    chosen: list[int] = []  # indices into colours, most frequent first
    shares: list[float] = []
    owner = np.full(len(colours), -1)
    for index in range(len(colours)):
        if owner[index] >= 0:
            continue
        # This colour leads: it takes every later colour near it that no earlier leader took.
        near = (np.linalg.norm(labs - labs[index], axis=1) < PALETTE_MERGE_DELTA_E) & (owner < 0)
        owner[near] = index
        chosen.append(index)
        shares.append(float(weights[near].sum()))
    order = sorted(range(len(chosen)), key=lambda n: -shares[n])[:size]
    return [
        {
            "hex": _hex(colours[chosen[n]]),
            "share": round(shares[n] / total, 4),
            "name": nearest_css_name(colours[chosen[n]]),
        }
        for n in order
    ]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=3)  # level 3: most of the size of 9 at a fraction of the time
    return buffer.getvalue()


def brand_kit(png: bytes, assets: Assets, about: dict) -> bytes:
    """One zip: the SVG (when made), PNGs at every usual size (transparent when the background came off),
    favicon.ico, apple-touch-icon.png (opaque, as iOS wants), palette.json and the parameters to draw it again."""
    original = _open_rgba(png)
    base = _open_rgba(assets.transparent.png) if assets.transparent else original
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as kit:  # PNGs are compressed already
        if assets.vector:
            kit.writestr("logo.svg", assets.vector.svg)
        for size in KIT_PNG_SIZES:
            kit.writestr(f"png/logo-{size}.png", _png(base.resize((size, size), Image.Resampling.LANCZOS)))
        icon = io.BytesIO()
        base.resize((48, 48), Image.Resampling.LANCZOS).save(icon, format="ICO", sizes=FAVICON_SIZES)
        kit.writestr("favicon.ico", icon.getvalue())
        touch = original.convert("RGB").resize((APPLE_TOUCH_SIZE, APPLE_TOUCH_SIZE), Image.Resampling.LANCZOS)
        kit.writestr("apple-touch-icon.png", _png(touch))
        kit.writestr("palette.json", json.dumps(assets.palette or [], indent=2))
        lines = [f"{name}: {value}" for name, value in about.items()]
        kit.writestr("about.txt", "\n".join(lines) + "\n")
    return buffer.getvalue()


def make_assets(png: bytes, about: dict) -> Assets:
    """Every asset of one logo; each failure is recorded by name and the others are still made."""
    assets = Assets()
    try:
        assets.vector = vectorise(png)
    except AssetFailed as error:
        assets.failures["svg"] = str(error)
    try:
        assets.transparent = cut_out_background(png)
    except AssetFailed as error:
        assets.failures["transparent_png"] = str(error)
    try:
        assets.palette = palette(png)
    except AssetFailed as error:
        assets.failures["palette"] = str(error)
    try:
        assets.kit = brand_kit(png, assets, about)
    except AssetFailed as error:
        assets.failures["kit"] = str(error)
    return assets
