"""How large a dataset import may be: one image, its pixels, and everything an archive unpacks to.

Every reader checks these before it holds the bytes: a member is read with a bounded read (a zip's
declared sizes can lie), an image's size is read from its header before it is decoded.
"""

from dataclasses import dataclass

MIB = 1024**2


@dataclass(frozen=True)
class DatasetLimits:
    image_bytes: int = 32 * MIB  # one image file as stored in the source
    image_pixels: int = 4096 * 4096  # width × height of one image
    unpacked_bytes: int = 8 * 1024 * MIB  # what one archive (or a parquet member in it) unpacks to


class DatasetTooLarge(ValueError):
    """The source as a whole is over a limit: nothing is imported (the API answers 413)."""
