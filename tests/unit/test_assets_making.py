"""The logo assets on flat-colour logos drawn here (circles, bars, two to five colours), and on what cannot be a
vector logo: noise, thousands of colours, one flat colour. Fidelity is measured by rendering the SVG back."""

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageDraw

from workers.assets.making import (
    MAX_MISMATCH,
    AssetFailed,
    brand_kit,
    cut_out_background,
    make_assets,
    palette,
    render,
    transparent_svg,
    vectorise,
)

WHITE, ORANGE, NAVY, TEAL, GOLD, CRIMSON = "#ffffff", "#ff8c00", "#000080", "#008080", "#ffd700", "#dc143c"


def logo(colours: list[str], size: int = 256, background: str = WHITE) -> bytes:
    """A flat logo, anti-aliased (drawn four times larger, then scaled down): a disc in the first colour, then bars
    and a smaller disc in the others."""
    image = Image.new("RGB", (size * 4, size * 4), background)
    draw = ImageDraw.Draw(image)
    s = size * 4
    draw.ellipse((s * 0.15, s * 0.15, s * 0.85, s * 0.85), fill=colours[0])
    for index, colour in enumerate(colours[1:4]):
        top = s * (0.35 + 0.1 * index)
        draw.rectangle((s * 0.3, top, s * 0.7, top + s * 0.06), fill=colour)
    if len(colours) > 4:
        draw.ellipse((s * 0.44, s * 0.2, s * 0.56, s * 0.32), fill=colours[4])
    out = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(out, format="PNG")
    return out.getvalue()


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA"))


@pytest.mark.parametrize(
    "colours", [[ORANGE], [ORANGE, NAVY], [NAVY, GOLD, TEAL], [CRIMSON, WHITE, NAVY, GOLD]], ids=[2, 3, 4, 5]
)
def test_a_flat_logo_vectorises_faithfully(colours):
    vector = vectorise(logo(colours))
    print(f"{len(colours) + 1} colours: {vector.mismatch:.2%} of pixels differ, mean {vector.mean_difference:.2f}/255")
    assert vector.svg.lstrip().startswith(("<?xml", "<svg")) and "<path" in vector.svg
    assert vector.mismatch <= MAX_MISMATCH and vector.mean_difference < 4


def test_a_large_logo_is_vectorised_from_a_smaller_copy_and_drawn_back_at_full_size():
    vector = vectorise(logo([NAVY, GOLD], size=1024))
    assert 'width="1024" height="1024" viewBox="0 0 512 512"' in vector.svg
    assert vector.mismatch <= MAX_MISMATCH


def noise(size: int, seed: int = 1) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("png", "reason"),
    [
        (noise(128), "too"),  # too detailed, or too far from the image: either way it is said, not drawn
        (noise(1024, seed=2), "too"),
    ],
)
def test_noise_and_thousands_of_colours_are_refused_with_a_reason(png, reason):
    with pytest.raises(AssetFailed, match=reason):
        vectorise(png)


def test_one_flat_colour_has_no_shape_and_no_background_to_cut():
    flat = io.BytesIO()
    Image.new("RGB", (64, 64), ORANGE).save(flat, format="PNG")
    with pytest.raises(AssetFailed, match="single colour"):
        vectorise(flat.getvalue())
    with pytest.raises(AssetFailed, match="all background"):
        cut_out_background(flat.getvalue())


def test_the_background_comes_off_with_soft_edges_and_true_colours():
    cutout = cut_out_background(logo([ORANGE, NAVY]))
    assert cutout.background == WHITE
    rgba = pixels(cutout.png)
    assert rgba[0, 0, 3] == 0 and rgba[128, 128, 3] == 255  # a corner gone, the disc kept
    assert tuple(rgba[128, 60, :3]) == (0xFF, 0x8C, 0x00)  # orange stays orange
    edge = rgba[128, 30:45, 3]  # the disc's anti-aliased left edge: some alpha between 0 and 255
    assert ((edge > 0) & (edge < 255)).any()
    # Inside the disc, white would not be cut out: only the region touching the border is background.
    ring = Image.new("RGB", (128, 128), WHITE)
    ImageDraw.Draw(ring).ellipse((10, 10, 118, 118), outline=NAVY, width=12)
    out = io.BytesIO()
    ring.save(out, format="PNG")
    assert pixels(cut_out_background(out.getvalue()).png)[64, 64, 3] == 255


def test_a_border_that_is_not_one_colour_leaves_the_logo_opaque():
    gradient = Image.linear_gradient("L").resize((128, 128)).convert("RGB")
    ImageDraw.Draw(gradient).ellipse((30, 30, 98, 98), fill=ORANGE)
    out = io.BytesIO()
    gradient.save(out, format="PNG")
    with pytest.raises(AssetFailed, match="not one flat colour"):
        cut_out_background(out.getvalue())


def test_the_palette_names_the_dominant_colours_with_their_shares():
    colours = palette(logo([ORANGE, NAVY]))
    assert [entry["name"] for entry in colours[:3]] == ["white", "darkorange", "navy"]
    assert colours[0]["hex"] == WHITE and 0.4 < colours[0]["share"] < 0.7
    assert sum(entry["share"] for entry in colours) > 0.97 and colours[2]["hex"] == NAVY


def test_the_brand_kit_holds_every_size_the_icons_and_how_to_draw_it_again():
    png = logo([NAVY, GOLD])
    assets = make_assets(png, {"prompt": "a logo of a sun", "seed": 7, "num_steps": 30})
    assert assets.failures == {} and assets.kit is not None
    with zipfile.ZipFile(io.BytesIO(assets.kit)) as kit:
        names = set(kit.namelist())
        assert {"logo.svg", "favicon.ico", "apple-touch-icon.png", "palette.json", "about.txt"} <= names
        for size in (16, 32, 48, 64, 128, 256, 512, 1024):
            with Image.open(io.BytesIO(kit.read(f"png/logo-{size}.png"))) as image:
                assert image.size == (size, size) and image.mode == "RGBA"
                assert image.getpixel((0, 0))[3] == 0  # the transparent one
                # The disc stays where it is at every size: inside its top, the kit is (all but) opaque.
                assert image.getpixel((size // 2, size // 4))[3] >= 240
        with Image.open(io.BytesIO(kit.read("favicon.ico"))) as icon:
            assert set(icon.info["sizes"]) == {(16, 16), (32, 32), (48, 48)}
        with Image.open(io.BytesIO(kit.read("apple-touch-icon.png"))) as touch:
            assert touch.size == (180, 180) and touch.mode == "RGB"
        assert json.loads(kit.read("palette.json"))[0]["hex"] == WHITE
        assert "seed: 7" in kit.read("about.txt").decode()
        # The SVG without its background agrees with the transparent PNG where the logo is and where it is not.
        clear = np.asarray(render(kit.read("logo-transparent.svg").decode(), 128, 128))[..., 3].astype(int)
        with Image.open(io.BytesIO(kit.read("png/logo-128.png"))) as image:
            cut = np.asarray(image)[..., 3].astype(int)
        assert clear[0, 0] == 0 and clear[64, 32] == 255
        assert (np.abs(clear - cut) > 64).mean() < 0.02


def test_a_transparent_svg_keeps_the_logos_enclosed_background_and_is_not_made_when_the_background_stays():
    ring = Image.new("RGB", (256, 256), WHITE)
    ImageDraw.Draw(ring).ellipse((40, 40, 216, 216), outline=NAVY, width=24)
    out = io.BytesIO()
    ring.save(out, format="PNG")
    vector, cutout = vectorise(out.getvalue()), cut_out_background(out.getvalue())
    clear = transparent_svg(vector.svg, cutout.background)
    assert clear is not None and clear.count("<path") == vector.svg.count("<path") - 1
    alpha = np.asarray(render(clear, 256, 256))[..., 3]
    assert alpha[5, 5] == 0 and alpha[128, 128] == 255  # outside gone, the ring's inside (white) kept
    assert transparent_svg(vector.svg, NAVY) is None  # not the colour that came off
    assert transparent_svg(vector.svg.replace('width="256" height="256"', 'width="512" height="512"'), WHITE) is None


def test_a_wide_logo_is_centred_in_the_kits_squares_not_stretched():
    wide = Image.new("RGB", (384, 192), WHITE)
    ImageDraw.Draw(wide).ellipse((152, 56, 232, 136), fill=NAVY)  # a circle in the middle
    out = io.BytesIO()
    wide.save(out, format="PNG")
    assets = make_assets(out.getvalue(), {"prompt": "a wide logo"})
    assert assets.failures == {} and assets.kit is not None
    with zipfile.ZipFile(io.BytesIO(assets.kit)) as kit, Image.open(io.BytesIO(kit.read("png/logo-512.png"))) as image:
        alpha = np.asarray(image)[..., 3]
    # The circle stays a circle: as tall as it is wide, and the padding above and below is transparent.
    rows, columns = np.nonzero(alpha > 128)
    height, width = rows.max() - rows.min() + 1, columns.max() - columns.min() + 1
    assert abs(int(height) - int(width)) <= 2 and 100 <= width <= 115
    assert alpha[:120].max() == 0 and alpha[-120:].max() == 0


def test_each_asset_fails_alone():
    assets = make_assets(noise(96), {"prompt": "noise"})
    assert set(assets.failures) == {"svg", "transparent_png"}
    assert assets.palette is not None and assets.kit is not None  # still a kit: PNG sizes, icons, palette
    with zipfile.ZipFile(io.BytesIO(assets.kit)) as kit:
        assert "logo.svg" not in kit.namelist()
    with pytest.raises(AssetFailed, match="does not decode"):
        brand_kit(b"not a png", assets, {})


def test_a_fully_transparent_image_is_refused_for_each_asset_by_reason():
    empty = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(empty, format="PNG")
    assets = make_assets(empty.getvalue(), {"prompt": "nothing"})
    assert "single colour" in assets.failures["svg"]
    assert "already has transparency" in assets.failures["transparent_png"]
    assert assets.palette == [{"hex": WHITE, "share": 1.0, "name": "white"}]
