"""What a designer needs from one logo PNG, made on the CPU: an SVG (vtracer) checked against the PNG by rendering it
back (resvg), a PNG with a transparent background, the palette, and a brand kit. Each asset either succeeds or says
why it could not be made; none of them touches the original.
"""

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from functools import cached_property

import fpng
import numpy as np
import resvg_py
import vtracer
import webcolors
from PIL import Image, ImageOps
from scipy import ndimage

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
# Fidelity: the SVG rendered back against the PNG, pixel by pixel, at the PNG's size up to CHECK_SIDE (a larger
# PNG is compared box-reduced to that size). A pixel matches when every channel is within MATCH_TOLERANCE; the SVG
# is faithful when at most MAX_MISMATCH of the pixels do not match (anti-aliased edges account for most of those on
# a clean logo). On the synthetic logos of the tests and the benchmark the measure at 256 px is the one at 512 px
# within 0.3 points, at a quarter of the rendering.
CHECK_SIDE = 256
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
    image: Image.Image | None = field(default=None, repr=False)  # the same pixels, for the kit to scale


@dataclass(eq=False)
class Decoded:
    """One logo decoded once, for every asset made from it."""

    png: bytes
    image: Image.Image  # RGBA
    rgb: np.ndarray  # uint8, over white where the image has transparency (what a viewer shows)
    traceable: bool  # vtracer can read `png` as it is (a PNG of 8-bit RGB or RGBA)

    @cached_property
    def opaque(self) -> bool:
        return self.image.getchannel("A").getextrema()[0] == 255

    @cached_property
    def lab(self) -> np.ndarray:
        return cielab(self.rgb)


def decode(logo: "bytes | Decoded") -> Decoded:
    """The logo's pixels, decoded once; AssetFailed when the bytes are not an image."""
    if isinstance(logo, Decoded):
        return logo
    image, traceable = _open(logo)
    return Decoded(png=logo, image=image, rgb=_rgb_of(image), traceable=traceable)


@dataclass
class Assets:
    """Everything made for one image; an asset that failed is None and its reason is in `failures`."""

    vector: Vector | None = None
    transparent: Cutout | None = None
    transparent_svg: str | None = None  # the SVG without its background, when both it and the cutout were made
    palette: list[dict] | None = None
    kit: bytes | None = None
    failures: dict[str, str] = field(default_factory=dict)


def _open(png: bytes) -> tuple[Image.Image, bool]:
    """The image as RGBA, and whether vtracer can read `png` as it is (a PNG of 8-bit RGB or RGBA)."""
    try:
        with Image.open(io.BytesIO(png)) as image:
            image.load()
            return image.convert("RGBA"), image.format == "PNG" and image.mode in ("RGB", "RGBA")
    except (OSError, SyntaxError, ValueError) as error:
        raise AssetFailed(f"the image does not decode ({error})") from None


def _rgb_of(image: Image.Image) -> np.ndarray:
    """RGB (uint8) over white where the image has transparency (what a viewer shows)."""
    if image.getchannel("A").getextrema()[0] == 255:
        return np.asarray(image.convert("RGB"))
    canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
    canvas.alpha_composite(image)
    return np.asarray(canvas.convert("RGB"))


def vectorise(logo: "bytes | Decoded") -> Vector:
    """The logo as an SVG, with how closely it renders back to the PNG; AssetFailed when it does not."""
    decoded = decode(logo)
    image, rgb = decoded.image, decoded.rgb
    if not (rgb != rgb[0, 0]).any():
        raise AssetFailed("the image is a single colour: there is no shape to vectorise")
    source = image
    if max(image.size) > MAX_VECTOR_SIDE:
        source = image.copy()
        source.thumbnail((MAX_VECTOR_SIDE, MAX_VECTOR_SIDE))
    if source is image and decoded.traceable:
        traced = decoded.png  # vtracer reads the original as it is: no second encoding
    else:
        buffer = io.BytesIO()
        source.save(buffer, format="PNG", compress_level=1)
        traced = buffer.getvalue()
    svg = vtracer.convert_raw_image_to_svg(traced, img_format="png", **VTRACER_SETTINGS)
    if len(svg) > MAX_SVG_BYTES:
        raise AssetFailed(f"too detailed to vectorise as a logo ({len(svg):,} bytes of paths)")
    if source is not image:  # draw the paths at the original size
        svg = svg.replace(
            f'width="{source.width}" height="{source.height}"',
            f'width="{image.width}" height="{image.height}" viewBox="0 0 {source.width} {source.height}"',
            1,
        )
    scale = min(1.0, CHECK_SIDE / max(image.size))
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    if (width, height) != image.size:
        rgb = np.asarray(Image.fromarray(rgb, "RGB").resize((width, height), Image.Resampling.BOX))
    rendered = render(svg, width, height)
    difference = np.abs(_rgb_of(rendered).astype(np.int16) - rgb)
    mismatch = float((difference.max(axis=2) > MATCH_TOLERANCE).mean())
    mean_difference = float(difference.mean())
    if mismatch > MAX_MISMATCH:
        raise AssetFailed(
            f"the SVG does not match the image closely enough ({mismatch:.1%} of pixels differ; "
            f"at most {MAX_MISMATCH:.0%} may): too many colours or too much detail for a vector logo"
        )
    return Vector(svg=svg, mismatch=mismatch, mean_difference=mean_difference)


# vtracer's paths, each on a line of its own: `<path d="..." fill="#rrggbb" transform="translate(x,y)"/>`.
_PATH = re.compile(r'<path d="([^"]*)" fill="(#[0-9A-Fa-f]{6})" transform="translate\((-?[\d.]+),(-?[\d.]+)\)"/>\s*')
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_CANVAS = re.compile(r'viewBox="0 0 ([\d.]+) ([\d.]+)"|width="([\d.]+)" height="([\d.]+)"')


def transparent_svg(svg: str, background: str) -> str | None:
    """The SVG without its background, or None when it cannot be told apart.

    vtracer stacks the shapes on one path that fills the canvas; when that path is the colour the transparent PNG
    took away (within BACKGROUND_DELTA_E), it goes and every shape stays as it was. Shapes of the background's
    colour enclosed by the logo are paths of their own and stay, as the transparent PNG keeps them opaque.
    """
    first, canvas = _PATH.search(svg), _CANVAS.search(svg)
    if first is None or canvas is None or first.start() != svg.find("<path") or first.group(1).count("M") != 1:
        return None
    width, height = (float(value) for value in (canvas.group(1, 2) if canvas.group(1) else canvas.group(3, 4)))
    numbers = [float(number) for number in _NUMBER.findall(first.group(1))]
    xs = [x + float(first.group(3)) for x in numbers[0::2]]
    ys = [y + float(first.group(4)) for y in numbers[1::2]]
    if not xs or max(abs(min(xs)), abs(min(ys)), abs(max(xs) - width), abs(max(ys) - height)) > 0.5:
        return None  # the first path does not span the canvas: it is a shape, not the background
    fill, removed = (np.array(webcolors.hex_to_rgb(colour), dtype=np.uint8) for colour in (first.group(2), background))
    if float(np.linalg.norm(cielab(fill) - cielab(removed))) > BACKGROUND_DELTA_E:
        return None
    return svg[: first.start()] + svg[first.end() :]


def render(svg: str, width: int, height: int) -> Image.Image:
    """An SVG drawn to pixels by resvg."""
    png = bytes(resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, skip_system_fonts=True))
    return _open(png)[0]


_LINEAR = np.where(
    np.arange(256) / 255.0 > 0.04045, ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4, np.arange(256) / 255.0 / 12.92
).astype(np.float32)  # sRGB byte -> linear light
_XYZ = (
    np.array([[0.4124, 0.2126, 0.0193], [0.3576, 0.7152, 0.1192], [0.1805, 0.0722, 0.9505]])
    / np.array([0.95047, 1.0, 1.08883])
).astype(np.float32)


def cielab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0-255) to CIELAB (D65), float32."""
    index = rgb if rgb.dtype == np.uint8 else np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    xyz = _LINEAR[index] @ _XYZ
    f = np.cbrt(xyz)
    low = xyz <= 0.008856
    f[low] = 7.787 * xyz[low] + 16 / 116
    lab = np.empty_like(f)
    lab[..., 0] = 116 * f[..., 1] - 16
    lab[..., 1] = 500 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return lab


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(v)) for v in rgb))


def cut_out_background(logo: "bytes | Decoded") -> Cutout:
    """The logo with its background transparent: the region of the border's colour that touches the border, with
    anti-aliased edges. AssetFailed (the logo stays opaque) when the border is not one flat colour."""
    decoded = decode(logo)
    if not decoded.opaque:
        raise AssetFailed("the image already has transparency")
    rgb, lab = decoded.rgb, decoded.lab
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    background = np.median(border, axis=0)
    spread = np.percentile(np.linalg.norm(border - background, axis=1), 95)
    if spread > BORDER_SPREAD_DELTA_E:
        raise AssetFailed(
            f"the border is not one flat colour (its colours spread {spread:.0f} ΔE, more than "
            f"{BORDER_SPREAD_DELTA_E:.0f}): the logo is left opaque rather than cut into"
        )
    offset = lab - background
    distance = np.sqrt(np.einsum("ijk,ijk->ij", offset, offset))
    # The background: pixels of the border's colour connected (4-connected) to the border.
    near = distance < BACKGROUND_DELTA_E
    labels, count = ndimage.label(near)
    touching = np.zeros(count + 1, dtype=bool)
    touching[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    touching[0] = False
    region = touching[labels]
    if region.mean() > 0.995:
        raise AssetFailed("the image is all background: nothing would be left")
    # Its anti-aliased rim: pixels within EDGE_PIXELS of it, each as transparent as it is close to the background,
    # measured against the most foreground-like pixel around it (a half-covered pixel lies halfway).
    band = region.copy()
    for _ in range(EDGE_PIXELS):
        band = _spread(band)
    band &= ~region
    around = distance
    for _ in range(EDGE_PIXELS + 1):
        around = _spread_max(around)
    rim = np.clip(distance[band] / np.maximum(around[band], 1e-6), 0.0, 1.0)
    # The background's own pixels become transparent black (one 32-bit word each); the rim's partly transparent
    # pixels have the background un-mixed from them, so that they look right on any colour; the rest keep theirs.
    pixels = np.array(decoded.image)  # RGBA, opaque
    pixels.view(np.uint32)[..., 0][region] = 0
    background_rgb = np.median(np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]), axis=0)
    mixed = (rgb[band] - (1 - rim[:, None]) * background_rgb) / np.maximum(rim, 1e-3)[:, None]
    pixels[band] = np.column_stack([np.clip(np.rint(mixed), 0, 255), np.rint(rim * 255)]).astype(np.uint8)
    out = Image.fromarray(pixels, "RGBA")
    return Cutout(png=_png(out), background=_hex(background_rgb), image=out)


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


CSS_NAMES = sorted(webcolors.names("css3"))
CSS_LABS = cielab(np.array([webcolors.name_to_rgb(name) for name in CSS_NAMES], dtype=np.uint8))


def nearest_css_name(rgb) -> str:
    lab = cielab(np.array(rgb, dtype=np.float64))
    return CSS_NAMES[int(np.argmin(np.square(CSS_LABS - lab).sum(axis=1)))]


def palette(logo: "bytes | Decoded", size: int = PALETTE_SIZE) -> list[dict]:
    """The dominant colours, largest share first: hex, share of the pixels, nearest CSS colour name.

    A logo's flat colours are its most frequent exact colours; anti-aliased blends are many and rare. Colours
    within PALETTE_MERGE_DELTA_E of a more frequent one count as that one.
    """
    rgb = Image.fromarray(decode(logo).rgb, "RGB")
    if max(rgb.size) > 256:
        rgb = rgb.resize((256, 256), Image.Resampling.NEAREST)  # keeps exact colours
    total = rgb.width * rgb.height
    counts = sorted(rgb.getcolors(maxcolors=total) or [], reverse=True)[:4096]
    colours = np.array([colour for _, colour in counts], dtype=np.float32).reshape(-1, 3)
    weights = np.array([count for count, _ in counts], dtype=np.float64)
    labs = cielab(colours)
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
    """RGB or RGBA as PNG, by fpng: a tenth of zlib's time at about the size of its level 3 on flat logos."""
    return fpng.from_pil(image)


def _square(image: Image.Image, fill: tuple[int, ...]) -> Image.Image:
    """The image centred on a square canvas of `fill` (a logo is never stretched into a square)."""
    if image.width == image.height:
        return image
    side = max(image.size)
    return ImageOps.pad(image, (side, side), color=fill)


def _scaled(image: Image.Image, size: int) -> Image.Image:
    """The square image at `size`; Pillow premultiplies RGBA in each of these, so edges get no dark fringes."""
    if size == image.width:
        return image
    if size > image.width:
        return image.resize((size, size), Image.Resampling.BICUBIC)
    if size * 2 == image.width:
        return image.reduce(2)  # an exact half: the 2x2 box, a tenth of LANCZOS's time
    return image.resize((size, size), Image.Resampling.LANCZOS)


def brand_kit(logo: "bytes | Decoded", assets: Assets, about: dict) -> bytes:
    """One zip: the SVG (when made), PNGs at every usual size (transparent when the background came off),
    favicon.ico, apple-touch-icon.png (opaque, as iOS wants), palette.json and the parameters to draw it again."""
    decoded = decode(logo)
    cutout = assets.transparent
    if cutout is not None and cutout.image is None:
        cutout.image = decode(cutout.png).image
    opaque = _square(decoded.image, (255, 255, 255, 255))
    base = _square(cutout.image, (0, 0, 0, 0)) if cutout is not None and cutout.image is not None else opaque
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as kit:  # PNGs are compressed already
        if assets.vector:
            kit.writestr("logo.svg", assets.vector.svg)
            if assets.transparent_svg is not None:
                kit.writestr("logo-transparent.svg", assets.transparent_svg)
        # Each size from the next larger one (mipmap-like): a step of at most 2x keeps LANCZOS sharp and cheap.
        previous = icon_source = base
        for size in sorted(KIT_PNG_SIZES, reverse=True):
            scaled = _scaled(base if size >= base.width else previous, size)
            kept = cutout is not None and scaled is cutout.image  # the cutout at its own size: already encoded
            kit.writestr(f"png/logo-{size}.png", cutout.png if kept else _png(scaled))  # type: ignore[union-attr]
            if size <= base.width:
                previous = scaled
            if size == 48:
                icon_source = scaled
        icon = io.BytesIO()
        icon_source.save(icon, format="ICO", sizes=FAVICON_SIZES)
        kit.writestr("favicon.ico", icon.getvalue())
        touch = opaque
        while touch.width >= 2 * APPLE_TOUCH_SIZE:
            touch = touch.reduce(2)  # exact halves first, then one LANCZOS step of less than 2x
        touch = _scaled(touch, APPLE_TOUCH_SIZE).convert("RGB")
        kit.writestr("apple-touch-icon.png", _png(touch))
        kit.writestr("palette.json", json.dumps(assets.palette or [], indent=2))
        lines = [f"{name}: {value}" for name, value in about.items()]
        kit.writestr("about.txt", "\n".join(lines) + "\n")
    return buffer.getvalue()


def make_assets(png: bytes, about: dict) -> Assets:
    """Every asset of one logo; each failure is recorded by name and the others are still made."""
    assets = Assets()
    try:
        logo: bytes | Decoded = decode(png)
    except AssetFailed:
        logo = png  # each asset below says it cannot read the image
    try:
        assets.vector = vectorise(logo)
    except AssetFailed as error:
        assets.failures["svg"] = str(error)
    try:
        assets.transparent = cut_out_background(logo)
    except AssetFailed as error:
        assets.failures["transparent_png"] = str(error)
    try:
        assets.palette = palette(logo)
    except AssetFailed as error:
        assets.failures["palette"] = str(error)
    if assets.vector is not None and assets.transparent is not None:
        assets.transparent_svg = transparent_svg(assets.vector.svg, assets.transparent.background)
    try:
        assets.kit = brand_kit(logo, assets, about)
    except AssetFailed as error:
        assets.failures["kit"] = str(error)
    return assets
