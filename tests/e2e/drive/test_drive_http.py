"""The drive over HTTP, against the real API, SecantusDB and SeaweedFS: sessions, CSRF, folders, uploads, trash,
and each bad input once."""

import io
import zipfile

import httpx
import pytest
from PIL import Image
from pymongo import AsyncMongoClient

from logoforge.devstack import SeaweedS3
from services.api.app import create_app
from services.drive.sessions import COOKIE
from services.settings import DEV_API_KEY
from services.storage.s3 import ObjectStore
from tests.e2e.drive.conftest import HERON, logo_png, sign_in
from tests.support import ServedApp

pytestmark = pytest.mark.asyncio


async def test_a_page_without_a_session_redirects_and_a_fragment_gets_401(api):
    async with httpx.AsyncClient(base_url=api.url) as client:
        page = await client.get("/drive/uploads", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/drive/sign-in?next=/drive/uploads"
        fragment = await client.get("/drive/uploads", headers={"Accept": "text/html", "HX-Request": "true"})
        assert fragment.status_code == 401
        action = await client.post("/drive/uploads/root/folders", data={"name": "x"})
        assert action.status_code == 401
        forged = await client.get("/drive/uploads", headers={"Accept": "text/html"}, cookies={COOKIE: "abc.def"})
        assert forged.status_code == 303


async def test_sign_in_takes_an_admin_key_only_and_sets_a_strict_httponly_cookie(api):
    async with httpx.AsyncClient(base_url=api.url) as client:
        refused = await client.post("/drive/sign-in", data={"key": DEV_API_KEY})
        assert (
            refused.status_code == 401
            and "API key; the drive needs an admin key" in refused.text
            and COOKIE not in refused.cookies
        )
        assert (await client.post("/drive/sign-in", data={"key": "nonsense"})).status_code == 401
        # A sign-in link cannot send anyone off the drive.
        response = await client.post("/drive/sign-in", data={"key": "logoforge-dev-admin-key", "next": "https://evil"})
    cookie = response.headers["set-cookie"]
    assert response.status_code == 303 and response.headers["location"] == "/drive"
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/drive" in cookie
    assert "Secure" not in cookie  # development; production sets Secure (test_production_cookie_is_secure)
    assert "logoforge-dev-admin-key" not in str(response.url)
    async with httpx.AsyncClient(base_url=api.url) as client:
        forged = await client.post(
            "/drive/sign-in", data={"key": "logoforge-dev-admin-key"}, headers={"Origin": "https://evil.example"}
        )
    assert forged.status_code == 403 and COOKIE not in forged.cookies


async def test_every_change_needs_the_sessions_csrf_token_and_sign_out_ends_the_session(drive):
    client, token = drive
    refused = await client.post("/drive/uploads/root/folders", data={"name": "Brand A"})
    assert refused.status_code == 403 and "csrf" in refused.text
    wrong = await client.post("/drive/uploads/root/folders", data={"name": "Brand A"}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    made = await client.post("/drive/uploads/root/folders", data={"name": "Brand A", "csrf": token})
    assert made.status_code == 200
    out = await client.post("/drive/sign-out", headers={"X-CSRF-Token": token})
    assert out.status_code == 303
    # The session is gone on the server: even the old cookie, sent again, is refused.
    after = await client.get("/drive/uploads", headers={"Accept": "text/html"})
    assert after.status_code == 303


async def test_folders_uploads_rename_move_trash_restore_and_empty(drive, api_settings):
    client, token = drive
    headers = {"X-CSRF-Token": token}
    brand = (await client.post("/drive/uploads/root/folders", data={"name": "Foxtrot"}, headers=headers)).json()["id"]
    inner = (await client.post(f"/drive/uploads/{brand}/folders", data={"name": "drafts"}, headers=headers)).json()[
        "id"
    ]
    png = logo_png("orange")
    uploaded = await client.post(
        f"/drive/uploads/{brand}/files",
        files={"file": ("fox.png", png, "image/png")},
        data={"prompt": "a logo of a fox, orange foreground"},
        headers=headers,
    )
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["id"]

    listing = await client.get(f"/drive/uploads/{brand}?view=list", headers={"Accept": "text/html"})
    assert (
        "fox.png" in listing.text and "a logo of a fox, orange foreground" in listing.text and "drafts" in listing.text
    )
    original = await client.get(f"/drive/raw/upload/{file_id}/original")
    assert original.content == png
    thumb = await client.get(f"/drive/raw/upload/{file_id}/thumb")
    assert thumb.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.format == "WEBP" and max(image.size) <= 256

    found = await client.get("/drive/search", params={"q": "FOX, ORANGE"}, headers={"Accept": "text/html"})
    assert "fox.png" in found.text
    renamed = await client.post(f"/drive/items/{file_id}/rename", data={"name": "fox-final.png"}, headers=headers)
    assert renamed.status_code == 200
    moved = await client.post(f"/drive/items/{file_id}/move", data={"target": inner}, headers=headers)
    assert moved.json()["parent"] == inner
    # A folder cannot go into itself or below itself.
    into_itself = await client.post(f"/drive/items/{brand}/move", data={"target": inner}, headers=headers)
    assert into_itself.status_code == 422 and "into itself" in into_itself.json()["detail"]

    assert (await client.post(f"/drive/items/{brand}/trash", headers=headers)).status_code == 200
    trash = await client.get("/drive/trash", headers={"Accept": "text/html"})
    assert "Foxtrot" in trash.text and "fox-final.png" not in trash.text  # inside its folder, restored with it
    gone = await client.get(f"/drive/uploads/{inner}", headers={"Accept": "text/html"})
    assert gone.status_code == 404
    assert (await client.post(f"/drive/items/{brand}/restore", headers=headers)).status_code == 200
    back = await client.get(f"/drive/uploads/{inner}", headers={"Accept": "text/html"})
    assert "fox-final.png" in back.text

    await client.post(f"/drive/items/{brand}/trash", headers=headers)
    emptied = await client.post("/drive/trash/empty", headers=headers)
    assert emptied.json() == {"purged_files": 1}
    assert (await client.get(f"/drive/raw/upload/{file_id}/original")).status_code == 404


def _bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, format="PNG")  # 400 megapixels of nothing, a few kB
    return out.getvalue()


def _truncated() -> bytes:
    return logo_png()[:200]


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("empty.png", b"", "the file is empty"),
        ("notes.png", b"these are not pixels", "not an image"),
        ("cut.png", None, "damaged"),
        ("bomb.png", None, "too many pixels"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG is not accepted"),
        ("../escape.png", None, "may not be"),
        ("big.png", None, "more than the limit"),
    ],
)
async def test_a_bad_upload_is_refused_by_name_and_leaves_nothing(drive, api_settings, name, body, reason):
    client, token = drive
    if body is None:
        body = {"cut.png": _truncated, "bomb.png": _bomb}.get(name, logo_png)()
        if name == "big.png":
            body = logo_png() + b"\0" * (api_settings.drive_upload_max_bytes + 1)
    response = await client.post(
        "/drive/uploads/root/files", files={"file": (name, body, "image/png")}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code in (413, 422), response.text
    if response.status_code == 422:
        detail = response.json()["detail"]
        assert reason in detail and (name.strip("./") in detail or "name" in detail), detail
    # Nothing partial: no object under drive/ in S3, no record in MongoDB.
    store = ObjectStore.from_settings(api_settings)
    assert await store.list_keys("drive/") == []
    client_db = AsyncMongoClient(api_settings.mongo_url)
    try:
        assert await client_db[api_settings.mongo_db].drive_items.count_documents({}) == 0
    finally:
        await client_db.close()


async def test_a_duplicate_name_in_one_folder_is_refused(drive, api_settings):
    client, token = drive
    headers = {"X-CSRF-Token": token}
    first = await client.post(
        "/drive/uploads/root/files", files={"file": ("a.png", logo_png(), "image/png")}, headers=headers
    )
    assert first.status_code == 200
    again = await client.post(
        "/drive/uploads/root/files", files={"file": ("A.png", logo_png("blue"), "image/png")}, headers=headers
    )
    assert again.status_code == 422 and "already in this folder" in again.json()["detail"]
    # The refused upload's bytes were written beside its record's insert; they are gone again.
    assert await ObjectStore.from_settings(api_settings).list_keys("drive/") == [
        f"drive/{first.json()['id']}/original.png"
    ]
    folder = await client.post("/drive/uploads/root/folders", data={"name": "a.png"}, headers=headers)
    assert folder.status_code == 422
    for bad in ("..", "a/b", "bell\x07", "  "):
        refused = await client.post("/drive/uploads/root/folders", data={"name": bad}, headers=headers)
        assert refused.status_code == 422 and refused.json()["detail"].startswith("name:"), bad


async def test_an_upload_while_s3_is_down_is_refused_whole_and_goes_through_once_it_is_back(api_settings, tmp_path):
    s3 = SeaweedS3(tmp_path / "s3", api_settings.s3_access_key, api_settings.s3_secret_key.get_secret_value())
    s3.start()
    settings = api_settings.model_copy(update={"s3_endpoint": s3.endpoint})
    try:
        async with ServedApp(create_app(settings)) as served, httpx.AsyncClient(base_url=served.url) as client:
            token = await sign_in(client)
            s3.stop()
            upload = {"files": {"file": ("fox.png", logo_png(), "image/png")}, "headers": {"X-CSRF-Token": token}}
            down = await client.post("/drive/uploads/root/files", **upload, timeout=60)
            assert down.status_code == 503, down.text
            # Its record, inserted while the bytes were being sent, was taken back: the name is free again.
            client_db = AsyncMongoClient(settings.mongo_url)
            try:
                assert await client_db[settings.mongo_db].drive_items.count_documents({}) == 0
            finally:
                await client_db.close()
            s3.start()
            back = await client.post("/drive/uploads/root/files", **upload, timeout=60)
            assert back.status_code == 200, back.text
            stored = await ObjectStore.from_settings(settings).get(f"drive/{back.json()['id']}/original.png")
            assert stored.body == logo_png()
    finally:
        s3.stop()


async def test_production_cookie_is_secure(api_settings):
    settings = api_settings.model_copy(update={"environment": "production"})
    async with ServedApp(create_app(settings)) as served, httpx.AsyncClient(base_url=served.url) as client:
        response = await client.post("/drive/sign-in", data={"key": "logoforge-dev-admin-key"})
    assert "Secure" in response.headers["set-cookie"]


async def test_behind_nginx_image_bytes_go_from_s3_by_x_accel_redirect(api_settings):
    """With LOGOFORGE_ACCEL_REDIRECT_PREFIX set the API sends no image byte: it answers with X-Accel-Redirect to
    a presigned URL, which is what nginx's internal /_s3/ location fetches (done here by hand, as nginx would)."""
    from services.signing import UrlSigner

    settings = api_settings.model_copy(update={"accel_redirect_prefix": "/_s3"})
    png = logo_png("teal")
    async with ServedApp(create_app(settings)) as served, httpx.AsyncClient(base_url=served.url) as client:
        token = await sign_in(client)
        uploaded = await client.post(
            "/drive/uploads/root/files", files={"file": ("teal.png", png, "image/png")}, headers={"X-CSRF-Token": token}
        )
        item_id = uploaded.json()["id"]
        key = f"drive/{item_id}/original.png"
        link = UrlSigner(settings.url_signing_key, 600).sign(served.url, key)
        answers = [await client.get(f"/drive/raw/upload/{item_id}/original"), await client.get(link)]
        refused = await httpx.AsyncClient(base_url=served.url).get(f"/drive/raw/upload/{item_id}/original")
    assert refused.status_code == 401 and "X-Accel-Redirect" not in refused.headers
    for answer in answers:
        assert answer.status_code == 200 and answer.content == b""
        target = answer.headers["X-Accel-Redirect"]
        assert target.startswith(f"/_s3/{settings.s3_endpoint.split('://')[1]}/{settings.s3_bucket}/{key}?")
        async with httpx.AsyncClient() as nginx:  # proxy_pass http://$s3_host/$s3_path$is_args$args
            fetched = await nginx.get("http://" + target.removeprefix("/_s3/"))
        assert fetched.status_code == 200 and fetched.content == png


async def test_a_zip_of_logos_brings_its_prompts_and_refuses_unsafe_entries_by_name(drive):
    client, token = drive
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("logos/fox.png", logo_png("orange"))
        zipped.writestr("logos/owl.png", logo_png("navy"))
        zipped.writestr(
            "logos/metadata.jsonl",
            '{"file_name": "fox.png", "text": "a logo of a fox"}\n'
            '{"file_name": "owl.png", "text": "a logo of an owl"}\n',
        )
        zipped.writestr("../../etc/evil.png", logo_png("red"))
        zipped.writestr("/abs.png", logo_png("red"))
        zipped.writestr("logos/readme.txt", "not a logo")
    response = await client.post(
        "/drive/uploads/root/files", files={"file": ("brand.zip", archive.getvalue())}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert sorted(answer["uploaded"]) == ["fox.png", "owl.png"]
    reasons = {entry["file"]: entry["reason"] for entry in answer["skipped"]}
    assert "leaves the archive's folder" in reasons["../../etc/evil.png"]
    assert "leaves the archive's folder" in reasons["/abs.png"]
    assert "not an image" in reasons["logos/readme.txt"]
    found = await client.get("/drive/search", params={"q": "a logo of an owl"}, headers={"Accept": "text/html"})
    assert "owl.png" in found.text
    broken = await client.post(
        "/drive/uploads/root/files", files={"file": ("broken.zip", b"PK not really")}, headers={"X-CSRF-Token": token}
    )
    assert broken.status_code == 422 and broken.json()["detail"] == "broken.zip: not a zip archive"


async def test_a_generated_logo_is_browsed_by_day_and_user_and_drawn_again(drive, generator, api_settings):
    client, token = drive
    async with httpx.AsyncClient(base_url=str(client.base_url), headers={"X-API-Key": DEV_API_KEY}) as api:
        drawn = await api.post("/generate", json=HERON, timeout=60)
    assert drawn.status_code == 200, drawn.text
    day = (await client.get("/drive/generated", headers={"Accept": "text/html"})).text
    today = day.split('href="/drive/generated/day/', 1)[1].split('"', 1)[0]
    assert 'href="/drive/generated/user/dev' in day
    listing = (await client.get(f"/drive/generated/day/{today}", headers={"Accept": "text/html"})).text
    image_id = listing.split('hx-get="/drive/preview/image/', 1)[1].split('"', 1)[0]
    preview = (await client.get(f"/drive/preview/image/{image_id}", headers={"HX-Request": "true"})).text
    assert (
        "a logo of a heron" in preview
        and "<dt>Seed</dt><dd>11</dd>" in preview
        and "64×64, 1 step, guidance" in preview
    )
    # Best rated first: a rating (as the ratings service records its aggregate) lifts the second image.
    second = drawn.json()["images"][0].split("/images/", 1)[1].split("/", 1)[0] + "-1"
    mongo = AsyncMongoClient(api_settings.mongo_url)
    try:
        await mongo[api_settings.mongo_db].image_scores.insert_one(
            {"_id": second, "count": 1, "sum": 5, "mean": 5.0, "score": 1.83, "job_id": second[:-2]}
        )
    finally:
        await mongo.close()
    best = (
        await client.get(f"/drive/generated/day/{today}?sort=rating&view=list", headers={"Accept": "text/html"})
    ).text
    assert best.index(f'data-image="{second}"') < best.index(f'data-image="{second[:-2]}-0"')
    assert "5.0★ (1)" in best and "64×64" in best
    thumb = await client.get(f"/drive/raw/image/{image_id}/thumb")
    assert thumb.headers["content-type"] == "image/webp"
    again = await client.post(f"/drive/preview/image/{image_id}/redraw", headers={"X-CSRF-Token": token})
    assert again.status_code == 200 and "with seed 11" in again.text
    job_id = again.text.split("<code>", 1)[1].split("</code>", 1)[0]
    async with httpx.AsyncClient(base_url=str(client.base_url), headers={"X-API-Key": DEV_API_KEY}) as api:
        job = (await api.get(f"/jobs/{job_id}")).json()
    assert job["params"]["seed"] == 11 and job["params"]["prompt"] == "a logo of a heron"
