"""`POST /datasets` through the real app: several images with captions, or one zip; errors by field."""

import json
import zipfile

import httpx
import pytest
from PIL import Image

from services.api.app import create_app
from services.settings import DEV_ADMIN_KEY, DEV_API_KEY
from tests.integration.training.builders import CORRUPT_PNG, logo_rows, png_bytes, write_imagefolder, zip_folder
from tests.support import ServedApp


@pytest.fixture
def settings(api_settings):
    return api_settings


@pytest.fixture
async def admin(api_settings):
    async with ServedApp(create_app(api_settings)) as served:
        headers = {"X-API-Key": DEV_ADMIN_KEY}
        async with httpx.AsyncClient(base_url=served.url, headers=headers, timeout=60) as client:
            yield client


async def test_upload_images_with_captions_skips_corrupt_ones(admin, db, store):
    rows = logo_rows(2)
    files = [
        ("files", ("a.png", rows[0][0], "image/png")),
        ("files", ("b.png", CORRUPT_PNG, "image/png")),
        ("files", ("c.png", rows[1][0], "image/png")),
    ]
    data = {"name": "uploaded", "captions": [rows[0][1], "broken", rows[1][1]]}
    response = await admin.post("/datasets", data=data, files=files)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == 2 and body["layout"] == "upload"
    assert [(s["file"], s["reason"].split(" (")[0]) for s in body["skipped"]] == [("b.png", "corrupt image")]
    assert (await db.datasets.find_one({"_id": "uploaded"}))["count"] == 2

    listed = await admin.get("/datasets")
    assert [d["name"] for d in listed.json()] == ["uploaded"]
    again = await admin.post("/datasets", data=data, files=files)
    assert again.status_code == 409 and "name: a dataset called 'uploaded' exists already" in again.text


async def test_upload_one_zip(admin, tmp_path):
    rows = logo_rows(3)
    folder = write_imagefolder(
        tmp_path / "set",
        {f"{n}.png": d for n, (d, _) in enumerate(rows)},
        {f"{n}.png": t for n, (_, t) in enumerate(rows)},
    )
    archive = zip_folder(folder, tmp_path / "set.zip").read_bytes()
    response = await admin.post(
        "/datasets", data={"name": "zipped"}, files=[("files", ("set.zip", archive, "application/zip"))]
    )
    assert response.status_code == 201, response.text
    assert response.json()["count"] == 3 and response.json()["layout"] == "zip"
    assert (await admin.get("/datasets/zipped")).json()["count"] == 3


async def test_upload_an_imagefolder_as_its_files_with_metadata_jsonl(admin):
    """A folder picked in a browser arrives as its files (names relative to the folder): the images and their
    metadata.jsonl. Rows name files relative to the metadata's folder, as on disk."""
    rows = logo_rows(3)
    lines = [
        json.dumps({"file_name": "0.png", "text": rows[0][1]}),
        json.dumps({"file_name": "sub/1.png", "text": rows[1][1]}),
        json.dumps({"file_name": "missing.png", "text": "a logo that was not sent"}),
        "not json",
    ]
    metadata = "\n".join(lines).encode()
    files = [
        ("files", ("logos/metadata.jsonl", metadata, "application/jsonl")),
        ("files", ("logos/0.png", rows[0][0], "image/png")),
        ("files", ("logos/sub/1.png", rows[1][0], "image/png")),
        ("files", ("logos/extra.png", rows[2][0], "image/png")),
    ]
    response = await admin.post("/datasets", data={"name": "folder"}, files=files)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == 2
    assert {(s["file"], s["reason"].split(" (")[0]) for s in body["skipped"]} == {
        ("missing.png", "listed in metadata.jsonl but not uploaded"),
        ("logos/metadata.jsonl:4", "bad metadata line"),
        ("logos/extra.png", "not listed in metadata.jsonl"),
    }
    both = await admin.post("/datasets", data={"name": "both", "captions": ["x"]}, files=files)
    assert both.status_code == 422 and both.json()["detail"][0]["loc"] == ["body", "captions"]


async def test_bad_uploads_are_refused_by_field(admin, api_settings, db):
    png = logo_rows(1)[0][0]
    mismatch = await admin.post(
        "/datasets", data={"name": "x", "captions": ["a", "b"]}, files=[("files", ("a.png", png, "image/png"))] * 3
    )
    assert mismatch.status_code == 422
    assert mismatch.json()["detail"][0]["loc"] == ["body", "captions"]
    assert mismatch.json()["detail"][0]["msg"].startswith("expected 1 or 3 captions")
    empty = await admin.post(
        "/datasets", data={"name": "empty", "captions": ["x"]}, files=[("files", ("a.png", CORRUPT_PNG, "image/png"))]
    )
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "images"]
    assert "dataset 'empty' has no usable image" in empty.text
    bad_name = await admin.post(
        "/datasets", data={"name": "Bad Name", "captions": ["x"]}, files=[("files", ("a.png", png, "image/png"))]
    )
    assert bad_name.status_code == 422 and bad_name.json()["detail"][0]["loc"] == ["body", "name"]
    assert await db.datasets.count_documents({}) == 0
    user = await admin.post(
        "/datasets",
        headers={"X-API-Key": DEV_API_KEY},
        data={"name": "y", "captions": ["x"]},
        files=[("files", ("a.png", png, "image/png"))],
    )
    assert user.status_code == 403


@pytest.fixture
async def capped_admin(api_settings):
    """The API with small limits: 256 kB uploads, 64 kB JSON bodies, 100 kB images of at most 48×48 px."""
    capped = api_settings.model_copy(
        update={
            "upload_max_bytes": 256 * 1024,
            "request_max_bytes": 64 * 1024,
            "dataset_max_image_bytes": 100 * 1024,
            "dataset_max_image_pixels": 48 * 48,
            "dataset_max_unpacked_bytes": 1024**2,
        }
    )
    async with ServedApp(create_app(capped)) as served:
        headers = {"X-API-Key": DEV_ADMIN_KEY}
        async with httpx.AsyncClient(base_url=served.url, headers=headers, timeout=60) as client:
            yield client


async def test_bodies_over_the_limits_are_refused_with_413_and_store_nothing(capped_admin, db, store):
    too_big = [("files", ("a.png", bytes(300 * 1024), "image/png"))]
    upload = await capped_admin.post("/datasets", data={"name": "big", "captions": ["x"]}, files=too_big)
    assert upload.status_code == 413, upload.text
    assert await db.datasets.count_documents({}) == 0
    assert await store.list_keys("datasets/") == []
    job = await capped_admin.post("/jobs", json={"prompt": "x" * (70 * 1024)})
    assert job.status_code == 413, job.text


async def test_members_and_images_over_the_limits_are_skipped_and_named(capped_admin, tmp_path):
    small = logo_rows(1)[0][0]  # 64×64: over the 48×48 pixel cap
    fits = png_bytes(Image.new("RGB", (32, 32), (20, 120, 220)))
    folder = write_imagefolder(
        tmp_path / "set",
        {"fits.png": fits, "wide.png": small, "heavy.png": bytes(200 * 1024)},
        {"fits.png": "a blue square", "wide.png": "too many pixels", "heavy.png": "too many bytes"},
    )
    archive = zip_folder(folder, tmp_path / "set.zip").read_bytes()
    response = await capped_admin.post(
        "/datasets", data={"name": "capped"}, files=[("files", ("set.zip", archive, "application/zip"))]
    )
    assert response.status_code == 201, response.text
    skipped = {s["file"]: s["reason"] for s in response.json()["skipped"]}
    assert response.json()["count"] == 1
    assert skipped == {
        "wide.png": "image is 64×64 px, over the 2304-pixel limit",
        "heavy.png": "file over the 102400-byte limit for one image",
    }


async def test_an_archive_that_unpacks_past_the_limit_is_refused_with_413(capped_admin, db, tmp_path):
    folder = write_imagefolder(tmp_path / "bomb", {"zeros.png": bytes(2 * 1024**2)}, {"zeros.png": "zeros"})
    archive = tmp_path / "bomb.zip"  # deflated: 2 MiB of zeros in a few kB, under the 256 kB upload cap
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        for file in sorted(folder.iterdir()):
            packed.write(file, file.name)
    response = await capped_admin.post(
        "/datasets", data={"name": "bomb"}, files=[("files", ("bomb.zip", archive.read_bytes(), "application/zip"))]
    )
    assert response.status_code == 413, response.text
    assert "files: bomb.zip unpacks to" in response.json()["detail"]
    assert await db.datasets.count_documents({}) == 0
