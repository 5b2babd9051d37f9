"""The drive against the bare stores it sits on, side by side in one run.

    .venv/bin/python bench/drive_bench.py [--items 10000] [--uploads 100] [--repeat 30]

1. Listing: a folder of `--items` records (inserted straight into MongoDB), the first page and a page deep in it
   (the drive's keyset cursor of the item at 90 % of the folder), through `GET /drive/uploads/<folder>` (the
   whole HTML page: session check, folder and breadcrumbs, the page's records, the template), against a bare
   PyMongo `find` of the same page (same filter, sort and limit, the documents read). Target: ratio <= 3.
2. Uploads: `--uploads` logos of about 50 kB each through `POST /drive/uploads/<folder>/files` (the session
   read, the image decoded whole beside the folder's lookup, its object written beside its record's insert; the
   thumbnail is made when first shown), against boto3's `put_object` of the same bytes.
   Target: ratio <= 2.

The API is a `logoforge api` process of its own on a fresh SecantusDB and SeaweedFS; each measurement alternates
the two sides so that machine noise falls on both; medians are reported.
"""

import argparse
import asyncio
import io
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from PIL import Image, ImageDraw
from pymongo import ASCENDING, AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import child, local_services, settings_fields
from logoforge.devstack import free_port, wait_for_port
from schemas.base import utcnow
from services.drive.items import encode_cursor
from services.settings import DEV_ADMIN_KEY, CommonSettings
from services.storage.s3 import ObjectStore


def logo(seed: int, size: int = 200) -> bytes:
    """A logo-like PNG of about 50 kB: shapes on a gradient, with some grain so it does not compress to nothing."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((size, size)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y, r = rng.randrange(size), rng.randrange(size), rng.randrange(10, size // 3)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    grain = Image.effect_noise((size, size), 24).convert("RGB")
    out = io.BytesIO()
    Image.blend(image, grain, 0.12).save(out, format="PNG")
    return out.getvalue()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


async def fill_folder(db, folder: str, count: int) -> None:
    now = utcnow()
    documents = [
        {
            "_id": uuid.uuid4().hex,
            "kind": "file",
            "parent": folder,
            "name": f"logo-{n:05d}.png",
            "name_key": f"logo-{n:05d}.png",
            "live": True,
            "trashed_at": None,
            "created_at": now - timedelta(seconds=n),
            "updated_at": now,
            "size": 50_000 + n,
            "width": 200,
            "height": 200,
            "content_type": "image/png",
            "key": f"drive/x/{n}.png",
            "thumb_key": f"drive/x/{n}.webp",
            "prompt": f"a logo number {n}, flat, minimalism",
        }
        for n in range(count)
    ]
    for start in range(0, count, 1000):
        await db.drive_items.insert_many(documents[start : start + 1000])


async def listing(api: str, db, folder: str, items: int, repeat: int, cookies: httpx.Cookies) -> None:
    query = {"parent": folder, "live": True, "kind": "file"}
    order = [("name_key", ASCENDING), ("_id", ASCENDING)]
    deep = await db.drive_items.find(query).sort(order).skip(int(items * 0.9)).limit(1).to_list(1)
    cursor = encode_cursor(deep[0]["name_key"], deep[0]["_id"])
    pages = {"first page": None, "page at 90 %": cursor}
    async with httpx.AsyncClient(base_url=api, cookies=cookies, headers={"Accept": "text/html"}) as client:
        for name, page_cursor in pages.items():
            params = {"sort": "name"} | ({"cursor": page_cursor} if page_cursor else {})
            bare_query = dict(query)
            if page_cursor:
                bare_query["$or"] = [
                    {"name_key": {"$gt": deep[0]["name_key"]}},
                    {"name_key": deep[0]["name_key"], "_id": {"$gt": deep[0]["_id"]}},
                ]
            drive_s, bare_s = [], []
            for _ in range(repeat):
                started = time.perf_counter()
                response = await client.get(f"/drive/uploads/{folder}", params=params)
                drive_s.append(time.perf_counter() - started)
                assert response.status_code == 200 and response.text.count('class="card file"') == 60, response.text[
                    :300
                ]
                started = time.perf_counter()
                rows = await db.drive_items.find(bare_query).sort(order).limit(61).to_list(61)
                bare_s.append(time.perf_counter() - started)
                assert len(rows) == 61
            print(
                f"  {name:<13} drive {median_ms(drive_s):7.1f} ms   bare find {median_ms(bare_s):7.1f} ms   "
                f"ratio {statistics.median(drive_s) / statistics.median(bare_s):.2f}"
            )


async def uploads(api: str, store: ObjectStore, count: int, cookies: httpx.Cookies, token: str) -> None:
    logos = [logo(n) for n in range(count)]
    print(f"  {count} logos, {statistics.mean(len(png) for png in logos) / 1e3:.1f} kB on average")
    drive_s, put_s = [], []
    async with httpx.AsyncClient(base_url=api, cookies=cookies, timeout=60) as client:
        folder = (
            await client.post(
                "/drive/uploads/root/folders",
                data={"name": f"bench-{uuid.uuid4().hex[:6]}"},
                headers={"X-CSRF-Token": token},
            )
        ).json()["id"]
        for n, png in enumerate(logos):
            started = time.perf_counter()
            response = await client.post(
                f"/drive/uploads/{folder}/files",
                files={"file": (f"logo-{n}.png", png, "image/png")},
                data={"prompt": f"a logo number {n}"},
                headers={"X-CSRF-Token": token},
            )
            drive_s.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            started = time.perf_counter()
            await store.put(f"bench/{n}.png", png, "image/png")
            put_s.append(time.perf_counter() - started)
        print(
            f"  one at a time: drive {median_ms(drive_s):6.1f} ms   boto3 put_object {median_ms(put_s):6.1f} ms   "
            f"ratio {statistics.median(drive_s) / statistics.median(put_s):.2f} (totals {sum(drive_s):.2f} s "
            f"against {sum(put_s):.2f} s)"
        )

        # Three at a time, as the upload page sends them, on both sides: the time for all of them.
        async def drive_upload(n: int, png: bytes) -> None:
            response = await client.post(
                f"/drive/uploads/{folder}/files",
                files={"file": (f"again-{n}.png", png, "image/png")},
                data={"prompt": f"a logo number {n}"},
                headers={"X-CSRF-Token": token},
            )
            assert response.status_code == 200, response.text

        async def put(n: int, png: bytes) -> None:
            await store.put(f"bench/again-{n}.png", png, "image/png")

        totals = {}
        for name, send in (("drive", drive_upload), ("put", put)):
            started = time.perf_counter()
            for first in range(0, count, 3):
                await asyncio.gather(*(send(n, logos[n]) for n in range(first, min(first + 3, count))))
            totals[name] = time.perf_counter() - started
        print(
            f"  three at a time: drive {totals['drive']:.2f} s   boto3 put_object {totals['put']:.2f} s   "
            f"ratio {totals['drive'] / totals['put']:.2f}"
        )


async def main(items: int, upload_count: int, repeat: int) -> None:
    with local_services() as env, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {**env, "LOGOFORGE_PORT": str(port), "LOGOFORGE_LOG_LEVEL": "WARNING"}
        settings = CommonSettings(**{k: v for k, v in settings_fields(env).items() if k in CommonSettings.model_fields})
        with child(["api"], env, Path(tmp) / "api.log") as process:
            wait_for_port("127.0.0.1", port, process, "the API")
            api = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=api) as client:
                await client.post("/drive/sign-in", data={"key": DEV_ADMIN_KEY})
                cookies = client.cookies
                page = await client.get("/drive/uploads", headers={"Accept": "text/html"})
                token = page.text.split('data-csrf="', 1)[1].split('"', 1)[0]
                folder = (
                    await client.post(
                        "/drive/uploads/root/folders", data={"name": "ten-thousand"}, headers={"X-CSRF-Token": token}
                    )
                ).json()["id"]
            mongo = AsyncMongoClient(settings.mongo_url, tz_aware=True)
            try:
                db = mongo[settings.mongo_db]
                await fill_folder(db, folder, items)
                print(f"Listing a folder of {items:,} records, 60 a page, median of {repeat}:")
                await listing(api, db, folder, items, repeat, cookies)
            finally:
                await mongo.close()
            print("Uploading:")
            await uploads(api, ObjectStore.from_settings(settings), upload_count, cookies, token)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.items, args.uploads, args.repeat))
