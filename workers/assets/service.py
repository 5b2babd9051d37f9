"""One image's assets, made once: read its PNG, make each asset on a worker thread, store them beside the PNG,
record them, announce them. A repeated request re-announces what is recorded; an asset that cannot be made is
recorded with its reason, and so is an image that is gone from storage, so nothing is retried forever."""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from schemas.assets import AssetFile, LogoAssetsReady
from schemas.base import utcnow
from services.errors import MissingData
from services.messaging import Publish
from services.storage.errors import ObjectNotFound
from services.storage.mongo import translated_errors
from services.storage.s3 import ObjectStore
from workers.assets.making import make_assets

logger = logging.getLogger(__name__)

# The parameters written into the brand kit's about.txt, to draw the logo again.
ABOUT_FIELDS = ("prompt", "negative_prompt", "seed", "num_steps", "guidance_scale", "height", "width", "scheduler")


def asset_keys(image_key: str) -> dict[str, str]:
    """Where an image's assets live: beside its PNG (`images/<job>/<n>.png` -> `images/<job>/<n>.svg`, ...)."""
    stem = image_key.rsplit(".", 1)[0]
    return {
        "svg": f"{stem}.svg",
        "transparent_svg": f"{stem}.transparent.svg",
        "transparent_png": f"{stem}.transparent.png",
        "kit": f"{stem}.kit.zip",
    }


CONTENT_TYPES = {
    "svg": "image/svg+xml",
    "transparent_svg": "image/svg+xml",
    "transparent_png": "image/png",
    "kit": "application/zip",
}


async def create_asset_indexes(db: AsyncDatabase) -> None:
    await db.image_assets.create_index("job_id")


class AssetMaker:
    def __init__(
        self, db: AsyncDatabase, store: ObjectStore, publish: Publish, link: Callable[[str], str] | None = None
    ) -> None:
        self._db = db
        self._store = store
        self._publish = publish
        self._link = link  # an S3 key's signed HTTP link; None: events carry keys only
        self._working = asyncio.Semaphore(1)  # one image's CPU work at a time per worker process

    async def make(self, image_id: str) -> LogoAssetsReady:
        async with translated_errors("assets read"):
            done = await self._db.image_assets.find_one({"_id": image_id})
            image = await self._db.images.find_one({"_id": image_id})
        if done is not None:
            return await self._announce(done)
        if image is None:
            raise MissingData(f"image_id: no image {image_id}")
        record = await self._make(image)
        async with translated_errors("assets record"):
            await self._db.image_assets.replace_one({"_id": image_id}, record, upsert=True)
        return await self._announce(record)

    async def _make(self, image: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "_id": image["_id"],
            "job_id": image["job_id"],
            "files": {},
            "palette": None,
            "failures": {},
            "svg_mismatch": None,
            "made_at": utcnow(),
        }
        try:
            png = (await self._store.get(image["key"])).body
        except ObjectNotFound:
            reason = "the image is gone from storage"
            record["failures"] = {name: reason for name in ("svg", "transparent_png", "palette", "kit")}
            return record
        job = await self._db.jobs.find_one({"_id": image["job_id"]}) or {}
        params = {**job.get("params", {}), "seed": image.get("seed"), "prompt": image.get("prompt")}
        about = {name: params[name] for name in ABOUT_FIELDS if params.get(name) is not None}
        async with self._working:
            assets = await asyncio.to_thread(make_assets, png, about)
        keys = asset_keys(image["key"])
        made = {
            "svg": assets.vector.svg.encode() if assets.vector else None,
            "transparent_svg": assets.transparent_svg.encode() if assets.transparent_svg else None,
            "transparent_png": assets.transparent.png if assets.transparent else None,
            "kit": assets.kit,
        }
        for name, body in made.items():
            if body is not None:
                await self._store.put(keys[name], body, CONTENT_TYPES[name])
                record["files"][name] = keys[name]
        record["palette"] = assets.palette
        record["failures"] = assets.failures
        record["svg_mismatch"] = assets.vector.mismatch if assets.vector else None
        logger.info(
            "assets of %s: %s made, failed: %s",
            image["_id"],
            ", ".join(record["files"]) or "none",
            ", ".join(assets.failures) or "none",
        )
        return record

    async def _announce(self, record: dict[str, Any]) -> LogoAssetsReady:
        event = LogoAssetsReady(
            correlation_id=record["job_id"],
            image_id=record["_id"],
            files={
                name: AssetFile(key=key, url=self._link(key) if self._link else None)
                for name, key in record["files"].items()
            },
            palette=record["palette"],
            failures=record["failures"],
            svg_mismatch=record["svg_mismatch"],
        )
        await self._publish(event)
        return event
