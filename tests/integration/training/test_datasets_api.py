"""`POST /datasets` through the real app: several images with captions, or one zip; errors by field."""

import httpx
import pytest

from services.api.app import create_app
from services.settings import DEV_ADMIN_KEY, DEV_API_KEY
from tests.integration.training.builders import CORRUPT_PNG, logo_rows, write_imagefolder, zip_folder
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


async def test_bad_uploads_are_refused_by_field(admin, api_settings, db):
    png = logo_rows(1)[0][0]
    mismatch = await admin.post(
        "/datasets", data={"name": "x", "captions": ["a", "b"]}, files=[("files", ("a.png", png, "image/png"))] * 3
    )
    assert mismatch.status_code == 422 and "captions: expected 1 or 3 captions" in mismatch.text
    empty = await admin.post(
        "/datasets", data={"name": "empty", "captions": ["x"]}, files=[("files", ("a.png", CORRUPT_PNG, "image/png"))]
    )
    assert empty.status_code == 422 and "images: dataset 'empty' has no usable image" in empty.text
    bad_name = await admin.post(
        "/datasets", data={"name": "Bad Name", "captions": ["x"]}, files=[("files", ("a.png", png, "image/png"))]
    )
    assert bad_name.status_code == 422 and "name: must be" in bad_name.text
    assert await db.datasets.count_documents({}) == 0
    user = await admin.post(
        "/datasets",
        headers={"X-API-Key": DEV_API_KEY},
        data={"name": "y", "captions": ["x"]},
        files=[("files", ("a.png", png, "image/png"))],
    )
    assert user.status_code == 403
