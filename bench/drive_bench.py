"""The drive against the bare stores it sits on, side by side in one run.

    .venv/bin/python bench/drive_bench.py [--items 10000] [--uploads 100] [--repeat 30]

1. Listing: a folder of `--items` records (inserted straight into MongoDB), the first page and a page deep in it
   (the drive's keyset cursor of the item at 90 % of the folder), through `GET /drive/uploads/<folder>` (the
   whole HTML page: session check, folder and breadcrumbs, the page's records, the template), against a bare
   PyMongo `find` of the same page (same filter, sort and limit, the documents read). Target: ratio <= 3.
2. Uploads: `--uploads` logos of about 50 kB each through `POST /drive/uploads/<folder>/files` (the session
   checked, the image decoded whole beside the folder's lookup, its object written beside its record's insert; the
   thumbnail is made when first shown), against boto3's `put_object` of the same bytes. Target: ratio <= 2.
   The drive's side is sent as the upload page sends it (a multipart form: the file and its prompt) by urllib3,
   the HTTP library boto3 itself sends with, from a worker thread as boto3 runs: both clients cost the same.
   Beside them, the least any server can do to take a logo (bench/upload_floor.py: a bare ASGI app that decodes
   the image, writes it with the same `put_object` and inserts the drive's record), then the same with the
   folder's read, then also taking the browser's form: what is left between those and the target is what a drive
   may spend on everything else (its session and CSRF checks, routing, metrics and traces).

The API is a `logoforge api` process of its own on a fresh SecantusDB and SeaweedFS; each logo goes through every
side in turn so that the machine's drift falls on all of them; medians are reported.
"""

import argparse
import asyncio
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import urllib3
from PIL import Image, ImageDraw
from pymongo import ASCENDING, AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, child, local_services, settings_fields
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


def drive_client(api: str, cookies: httpx.Cookies, token: str) -> Callable[[str, str, bytes, str], Awaitable[None]]:
    """POST one file with its prompt as the upload page's form does, through urllib3 (the HTTP library boto3 sends its
    `put_object` with, so both sides pay the same for the client's HTTP) in a worker thread, as boto3 runs."""
    url = urlsplit(api)
    pool = urllib3.HTTPConnectionPool(url.hostname, url.port, maxsize=4, timeout=60)
    headers = {"X-CSRF-Token": token, "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}

    def post(folder: str, name: str, png: bytes, prompt: str) -> None:
        body, content_type = urllib3.encode_multipart_formdata({"file": (name, png, "image/png"), "prompt": prompt})
        response = pool.request(
            "POST", f"/drive/uploads/{folder}/files", body=body, headers=headers | {"Content-Type": content_type}
        )
        assert response.status == 200, response.data[:300]

    async def upload(folder: str, name: str, png: bytes, prompt: str) -> None:
        await asyncio.to_thread(post, folder, name, png, prompt)

    return upload


def floor_client(floor: str) -> Callable[[str, str, str, bytes], Awaitable[None]]:
    """POST to the least upload server (bench/upload_floor.py) through urllib3 as above: the bare bytes, or (`form`)
    the file and its prompt as the drive's upload is sent."""
    url = urlsplit(floor)
    pool = urllib3.HTTPConnectionPool(url.hostname, url.port, maxsize=4, timeout=60)

    def post(how: str, folder: str, name: str, png: bytes) -> None:
        if how == "form":
            body, content_type = urllib3.encode_multipart_formdata(
                {"file": (name, png, "image/png"), "prompt": f"a logo called {name}"}
            )
            response = pool.request("POST", f"/form/{folder}", body=body, headers={"Content-Type": content_type})
        else:
            response = pool.request("POST", f"/{how}/{folder}/{name}", body=png, headers={"Content-Type": "image/png"})
        assert response.status == 200, response.data[:300]

    async def upload(how: str, folder: str, name: str, png: bytes) -> None:
        await asyncio.to_thread(post, how, folder, name, png)

    return upload


async def uploads(api: str, floor: str, store: ObjectStore, count: int, cookies: httpx.Cookies, token: str) -> None:
    logos = [logo(n) for n in range(count)]
    print(f"  {count} logos, {statistics.mean(len(png) for png in logos) / 1e3:.1f} kB on average")
    upload = drive_client(api, cookies, token)
    bare = floor_client(floor)
    async with httpx.AsyncClient(base_url=api, cookies=cookies, timeout=60) as client:
        folder = (
            await client.post(
                "/drive/uploads/root/folders",
                data={"name": f"bench-{uuid.uuid4().hex[:6]}"},
                headers={"X-CSRF-Token": token},
            )
        ).json()["id"]
    # Each logo through every side in turn, so that the machine's drift falls on all of them.
    sides: dict[str, Callable[[int, bytes], Awaitable[None]]] = {
        "drive": lambda n, png: upload(folder, f"logo-{n}.png", png, f"a logo number {n}"),
        "boto3 put_object": lambda n, png: store.put(f"bench/{n}.png", png, "image/png"),
        "least upload server": lambda n, png: bare("bare", folder, f"bare-{n}.png", png),
        "  + the folder's read": lambda n, png: bare("checked", folder, f"checked-{n}.png", png),
        "  + the browser's form": lambda n, png: bare("form", folder, f"form-{n}.png", png),
    }
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    for n, png in enumerate(logos):
        for name, send in sides.items():
            started = time.perf_counter()
            await send(n, png)
            seconds[name].append(time.perf_counter() - started)
    put = statistics.median(seconds["boto3 put_object"])
    print("  one at a time (median):")
    for name, samples in seconds.items():
        print(f"    {name:<23} {median_ms(samples):6.1f} ms   ratio {statistics.median(samples) / put:.2f}")

    # Three at a time, as the upload page sends them, on both sides: the time for all of them.
    async def drive_upload(n: int, png: bytes) -> None:
        await upload(folder, f"again-{n}.png", png, f"a logo number {n}")

    async def put_again(n: int, png: bytes) -> None:
        await store.put(f"bench/again-{n}.png", png, "image/png")

    totals = {}
    for name, send in (("drive", drive_upload), ("put", put_again)):
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
            with floor_server(env, Path(tmp) / "floor.log") as floor:
                await uploads(api, floor, ObjectStore.from_settings(settings), upload_count, cookies, token)


@contextmanager
def floor_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """bench/upload_floor.py on a port of its own, with the API's settings; yields its URL."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.upload_floor:app", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port("127.0.0.1", port, process, "the least upload server")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.items, args.uploads, args.repeat))
