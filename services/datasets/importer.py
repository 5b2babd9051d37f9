"""Import a logo dataset: validate each image, store it in S3, then publish one manifest in MongoDB.

All or nothing: images go to S3 under a prefix unique to this import (`datasets/{name}/{import_id}/`),
the item index (one JSON line per image) goes beside them, and only then is the manifest inserted into
the `datasets` collection in one write. Until that write nothing is visible; if anything fails before
it, the objects written so far are deleted. The index lives in S3 rather than in the manifest because
the seed's datasets have hundreds of thousands of rows, past MongoDB's 16 MB document limit.
"""

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from PIL import Image, UnidentifiedImageError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.base import new_id, utcnow
from services.datasets.limits import DatasetLimits
from services.datasets.sources import DEFAULT_LIMITS, RawItem, Skipped, SourceEntry
from services.storage.mongo import translated_errors
from services.storage.s3 import ObjectStore

logger = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
CHUNK = 32
UPLOAD_CONCURRENCY = 8
MAX_REPORTED_SKIPS = 1000
MAX_CAPTION_LENGTH = 1000


class DatasetError(ValueError):
    """The import as a whole cannot go ahead; the message names the field or the file at fault."""


class EmptyDatasetError(DatasetError):
    """No usable image was found."""


class DatasetExistsError(DatasetError):
    """A dataset of that name exists already."""


@dataclass
class ImportReport:
    """What an import stored and what it skipped, per file."""

    name: str
    import_id: str
    count: int
    skipped: list[Skipped] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "import_id": self.import_id,
            "count": self.count,
            "skipped": [{"file": s.source, "reason": s.reason} for s in self.skipped],
        }


@dataclass(frozen=True)
class PreparedImage:
    source: str
    png: bytes
    text: str
    width: int
    height: int


def validate_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise DatasetError(
            f"name: must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit; got {name!r}"
        )
    return name


def prepare_image(item: RawItem, limits: DatasetLimits = DEFAULT_LIMITS) -> PreparedImage | Skipped:
    """Decode fully (so truncated files fail here, not in training) and store as RGB PNG on white.

    The size is read from the header first: an image over the pixel limit is skipped before it is decoded.
    """
    try:
        with Image.open(io.BytesIO(item.data)) as probe:
            width, height = probe.size
            if width * height > limits.image_pixels:
                return Skipped(item.source, f"image is {width}×{height} px, over the {limits.image_pixels}-pixel limit")
            probe.verify()
        with Image.open(io.BytesIO(item.data)) as image:
            image.load()
            rgb = _flatten(image)
    except UnidentifiedImageError:
        return Skipped(item.source, "not an image in a supported format")
    except Image.DecompressionBombError as error:
        return Skipped(item.source, f"image too large ({error})")
    except (OSError, SyntaxError, ValueError) as error:
        return Skipped(item.source, f"corrupt image ({error})")
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG")
    return PreparedImage(item.source, buffer.getvalue(), item.text[:MAX_CAPTION_LENGTH], rgb.width, rgb.height)


def _flatten(image: Image.Image) -> Image.Image:
    """Logos often have transparent backgrounds: put them on white rather than on black."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _prepare_chunk(entries: Iterator[SourceEntry], size: int, limits: DatasetLimits) -> list[PreparedImage | Skipped]:
    return [prepare_image(e, limits) if isinstance(e, RawItem) else e for e in islice(entries, size)]


class DatasetImporter:
    """Stores datasets; used by `logoforge datasets import` and the API's upload route alike."""

    def __init__(self, store: ObjectStore, db: AsyncDatabase, limits: DatasetLimits = DEFAULT_LIMITS) -> None:
        self._store = store
        self._datasets = db.datasets
        self._limits = limits

    async def exists(self, name: str) -> bool:
        async with translated_errors("dataset lookup"):
            return await self._datasets.find_one({"_id": name}, projection={"_id": 1}) is not None

    async def import_entries(self, name: str, entries: Iterable[SourceEntry], layout: str) -> ImportReport:
        """Import every usable entry under `name`, or nothing (see the module docstring)."""
        validate_name(name)
        if await self.exists(name):
            raise DatasetExistsError(f"name: a dataset called {name!r} exists already")
        import_id = new_id()[:12]
        prefix = f"datasets/{name}/{import_id}/"
        written: list[str] = []
        try:
            report, index = await self._store_images(name, import_id, prefix, iter(entries), written)
            if not index:
                raise EmptyDatasetError(
                    f"images: dataset {name!r} has no usable image ({len(report.skipped)} file(s) skipped)"
                )
            index_key = f"{prefix}index.jsonl"
            await self._put(
                index_key,
                "\n".join(json.dumps(line) for line in index).encode(),
                written,
                "application/x-ndjson",
            )
            await self._insert_manifest(report, prefix, index_key, layout)
        except BaseException:
            await self._cleanup(written)
            raise
        logger.info("imported dataset %s: %d images, %d skipped", name, report.count, len(report.skipped))
        return report

    async def _store_images(
        self, name: str, import_id: str, prefix: str, entries: Iterator[SourceEntry], written: list[str]
    ) -> tuple[ImportReport, list[dict[str, Any]]]:
        report = ImportReport(name=name, import_id=import_id, count=0)
        index: list[dict[str, Any]] = []
        limit = asyncio.Semaphore(UPLOAD_CONCURRENCY)
        while chunk := await asyncio.to_thread(_prepare_chunk, entries, CHUNK, self._limits):
            uploads = []
            for prepared in chunk:
                if isinstance(prepared, Skipped):
                    logger.warning("skipping %s: %s", prepared.source, prepared.reason)
                    report.skipped.append(prepared)
                    continue
                key = f"{prefix}{len(index):06d}.png"
                index.append(
                    {
                        "key": key,
                        "text": prepared.text,
                        "source": prepared.source,
                        "width": prepared.width,
                        "height": prepared.height,
                    }
                )
                uploads.append(self._limited_put(limit, key, prepared.png, written))
            # Wait for every put of the chunk, even after one failed, so cleanup sees all it must delete.
            results = await asyncio.gather(*uploads, return_exceptions=True)
            failure = next((r for r in results if isinstance(r, BaseException)), None)
            if failure is not None:
                raise failure
        report.count = len(index)
        return report, index

    async def _limited_put(self, limit: asyncio.Semaphore, key: str, body: bytes, written: list[str]) -> None:
        async with limit:
            await self._put(key, body, written, "image/png")

    async def _put(self, key: str, body: bytes, written: list[str], content_type: str) -> None:
        written.append(key)  # before the put: a put that failed half-way may still have left an object
        await self._store.put(key, body, content_type)

    async def _insert_manifest(self, report: ImportReport, prefix: str, index_key: str, layout: str) -> None:
        skipped = [{"file": s.source, "reason": s.reason} for s in report.skipped[:MAX_REPORTED_SKIPS]]
        manifest = {
            "_id": report.name,
            "name": report.name,
            "import_id": report.import_id,
            "prefix": prefix,
            "index_key": index_key,
            "count": report.count,
            "layout": layout,
            "skipped_count": len(report.skipped),
            "skipped": skipped,
            "created_at": utcnow(),
        }
        async with translated_errors("dataset manifest"):
            try:
                await self._datasets.insert_one(manifest)
            except DuplicateKeyError as error:
                raise DatasetExistsError(f"name: a dataset called {report.name!r} exists already") from error

    async def _cleanup(self, keys: list[str]) -> None:
        for key in keys:
            try:
                await self._store.delete(key)
            except Exception:  # cleanup is best effort: report and go on with the other keys
                logger.warning("could not delete %s after a failed import", key, exc_info=True)


class DatasetCatalog:
    """Reads imported datasets back: the manifest from MongoDB, the item index from S3."""

    def __init__(self, store: ObjectStore, db: AsyncDatabase) -> None:
        self._store = store
        self._datasets = db.datasets

    async def get(self, name: str) -> dict[str, Any] | None:
        async with translated_errors("dataset read"):
            return await self._datasets.find_one({"_id": name})

    async def all(self) -> list[dict[str, Any]]:
        async with translated_errors("dataset list"):
            cursor = self._datasets.find({}, projection={"skipped": 0}).sort("created_at", 1)
            return await cursor.to_list()

    async def items(self, manifest: dict[str, Any]) -> list[dict[str, Any]]:
        index = await self._store.get(manifest["index_key"])
        return [json.loads(line) for line in index.body.decode("utf-8").splitlines() if line.strip()]
