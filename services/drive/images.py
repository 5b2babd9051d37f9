"""What the drive accepts as a logo, and the thumbnails it shows: checked and made on the server with Pillow."""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from services.errors import InvalidInput

ACCEPTED = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000  # a 6,000 × 6,000 logo is plenty; more is a decompression bomb
THUMBNAIL_PX = 256


@dataclass(frozen=True)
class CheckedImage:
    content_type: str
    extension: str
    width: int
    height: int


def check_image(data: bytes, name: str, max_bytes: int) -> CheckedImage:
    """A PNG, JPEG or WebP that decodes whole and is not too large; InvalidInput naming the file and the reason."""
    if not data:
        raise InvalidInput(f"{name}: the file is empty")
    if len(data) > max_bytes:
        raise InvalidInput(f"{name}: {len(data):,} bytes, more than the limit of {max_bytes:,}")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or name.lower().endswith(".svg"):
        raise InvalidInput(f"{name}: SVG is not accepted (it can carry scripts); upload PNG, JPEG or WebP")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, width, height = image.format, image.width, image.height
                if width * height > MAX_PIXELS:
                    raise InvalidInput(f"{name}: {width}×{height} pixels, more than {MAX_PIXELS:,}")
                if kind not in ACCEPTED:
                    raise InvalidInput(f"{name}: {kind or 'this'} images are not accepted; upload PNG, JPEG or WebP")
                image.load()  # decodes every pixel: a truncated or corrupt file fails here
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        reason = "too many pixels" if "bomb" in type(error).__name__.lower() else "not an image"
        raise InvalidInput(f"{name}: {reason}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise InvalidInput(f"{name}: the image is damaged ({error})") from None
    return CheckedImage(ACCEPTED[kind], kind.lower().replace("jpeg", "jpg"), width, height)


def thumbnail(data: bytes, size_px: int = THUMBNAIL_PX) -> bytes:
    """A WebP no larger than `size_px` on its longer side, transparency kept."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((size_px, size_px))
        mode = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
        out = io.BytesIO()
        image.convert(mode).save(out, format="WEBP", quality=82, method=4)
        return out.getvalue()
