"""Dataset readers hold no more than the limits allow: oversized members and images are skipped unread."""

import io
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from services.datasets.importer import prepare_image
from services.datasets.limits import DatasetLimits, DatasetTooLarge
from services.datasets.sources import RawItem, Skipped, read_uploaded, read_zip

MIB = 1024**2


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` × `height` and whose pixel data is a few bytes (truncated)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(64))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def small_png(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes], captions: dict[str, str]) -> Path:
    lines = "".join(f'{{"file_name": "{name}", "text": "{text}"}}\n' for name, text in captions.items())
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.jsonl", lines)
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_zip_member_that_inflates_past_the_image_limit_is_skipped_without_being_read(tmp_path):
    # 64 MiB of zeros deflates to about 64 kB: the archive is small, the member is not.
    archive = write_zip(
        tmp_path / "bomb.zip",
        {"big.png": bytes(64 * MIB), "ok.png": small_png(32)},
        {"big.png": "a bomb", "ok.png": "a red square"},
    )
    assert archive.stat().st_size < MIB
    tracemalloc.start()
    entries = list(read_zip(archive, DatasetLimits(image_bytes=MIB)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [(type(e).__name__, e.source) for e in entries] == [("Skipped", "big.png"), ("RawItem", "ok.png")]
    assert "over the 1048576-byte limit" in entries[0].reason
    assert peak < 8 * MIB, f"reading the archive held {peak} bytes at once"


def test_a_zip_that_unpacks_past_the_archive_limit_is_refused_whole(tmp_path):
    archive = write_zip(tmp_path / "big.zip", {"a.png": bytes(3 * MIB)}, {"a.png": "x"})
    with pytest.raises(DatasetTooLarge, match=r"files: big.zip unpacks to \d+ bytes, over the 2097152-byte limit"):
        read_zip(archive, DatasetLimits(unpacked_bytes=2 * MIB))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_over_the_pixel_limit_is_skipped_before_it_is_decoded():
    # The case: 13,000 × 13,000 px in a few bytes; decoding it would take about 500 MB.
    item = RawItem("huge.png", png_header_only(13_000, 13_000), "huge")
    tracemalloc.start()
    result = prepare_image(item, DatasetLimits())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert isinstance(result, Skipped)
    assert result.reason == "image is 13000×13000 px, over the 16777216-pixel limit"
    assert peak < MIB


def test_the_pixel_limit_is_a_setting():
    limits = DatasetLimits(image_pixels=48 * 48)
    assert not isinstance(prepare_image(RawItem("small.png", small_png(48), "fits"), limits), Skipped)
    skipped = prepare_image(RawItem("big.png", small_png(49), "one pixel more"), limits)
    assert isinstance(skipped, Skipped) and "49×49 px" in skipped.reason


class CountingFile(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


def test_uploaded_files_are_read_bounded():
    big, small = CountingFile(bytes(5 * MIB)), CountingFile(small_png(16))
    entries = list(read_uploaded([("big.png", big), ("small.png", small)], ["a logo"], DatasetLimits(image_bytes=MIB)))
    assert isinstance(entries[0], Skipped) and entries[0].source == "big.png"
    assert big.largest_read == MIB + 1
    assert isinstance(entries[1], RawItem) and entries[1].data == small.getvalue()
