"""The drive's pages and actions under /drive: server-rendered (Jinja2), with htmx swapping fragments in place.

Every page needs a signed-in session (an admin key exchanged on the sign-in form); a page asked for without one
redirects to sign-in, a fragment or an action gets 401. Every action that changes state checks the session's
CSRF token (the `X-CSRF-Token` header htmx and the upload script send, or a `csrf` form field).
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from schemas.generation import GenerationParams
from services.api.accel import accel_redirect
from services.api.deps import ApiContext, Context
from services.api.security import Caller, key_matches, service_key_for
from services.api.submission import submit
from services.drive.archive import unpack
from services.drive.images import CheckedImage, check_image, thumbnail
from services.drive.items import ROOT, DriveItems, check_name, decode_cursor, encode_cursor
from services.drive.sessions import COOKIE, Session, Sessions, csrf_matches
from services.errors import InvalidInput
from services.storage.adapters import AdapterRegistry
from services.storage.errors import InvalidObjectKey, ObjectNotFound
from services.storage.ratings import RatingStore

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
PAGE_SIZE = 60
RATED_SORT_LIMIT = 20_000  # images of one day or one user ranked by rating, at most
DRIVE_USER = "drive:operator"  # whom the drive's own jobs are drawn for
LINK_EXPIRIES = {"3600": "1 hour", "86400": "1 day", "604800": "7 days"}

templates = Environment(loader=PackageLoader("services.drive", "templates"), autoescape=select_autoescape())
templates.filters["bytes"] = lambda size: f"{size / 1024:,.0f} kB" if size >= 1024 else f"{size} B"
templates.filters["plural"] = lambda count, word: f"{count} {word}{'' if count == 1 else 's'}"
templates.filters["when"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M") if moment else ""

router = APIRouter(prefix="/drive", include_in_schema=False)


def mount_static(app) -> None:
    """The drive's own CSS, script and vendored htmx, served by the API itself (no CDN)."""
    app.mount("/drive/static", StaticFiles(directory=STATIC_DIR), name="drive-static")


def sessions(request: Request, context: ApiContext) -> Sessions:
    """The app's one session store: what it remembers of recent reads is shared by every request of the process."""
    store = getattr(request.app.state, "drive_sessions", None)
    if store is None:
        store = Sessions(context.db, context.settings.url_signing_key, context.settings.drive_session_ttl_s)
        request.app.state.drive_sessions = store
    return store


def _wants_page(request: Request) -> bool:
    return (
        request.method == "GET"
        and "HX-Request" not in request.headers
        and "text/html" in request.headers.get("accept", "")
    )


async def current_session(request: Request, context: Context) -> Session:
    session = await sessions(request, context).find(request.cookies.get(COOKIE))
    if session is not None:
        request.state.session = session
        return session
    if _wants_page(request):
        raise HTTPException(
            status.HTTP_303_SEE_OTHER, headers={"Location": f"/drive/sign-in?next={quote(request.url.path)}"}
        )
    # htmx follows HX-Redirect; other callers read the 401.
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED, "sign in to the drive first", headers={"HX-Redirect": "/drive/sign-in"}
    )


SignedIn = Annotated[Session, Depends(current_session)]


async def checked_session(request: Request, session: SignedIn) -> Session:
    """A signed-in session whose CSRF token came with the request: every state-changing action needs it."""
    token = request.headers.get("X-CSRF-Token")
    if token is None and request.headers.get("content-type", "").startswith(("application/x-www-form", "multipart/")):
        token = (await request.form()).get("csrf")  # type: ignore[assignment]
    if not csrf_matches(session, token if isinstance(token, str) else None):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "csrf: missing or wrong token; reload the page")
    return session


Checked = Annotated[Session, Depends(checked_session)]


def render(name: str, request: Request, status_code: int = 200, **values: Any) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    html = templates.get_template(name).render(request=request, csrf=session.csrf if session else "", **values)
    return HTMLResponse(html, status_code=status_code)


# --- Signing in and out ------------------------------------------------------------------------------------------


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str = "/drive") -> HTMLResponse:
    return render("sign_in.html", request, next=_local(next))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    context: Context,
    key: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=512)] = "/drive",
) -> Response:
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        # Another site's form posting a key of its own (login CSRF); SameSite does not cover a sign-in.
        raise HTTPException(status.HTTP_403_FORBIDDEN, "origin: sign in from the drive's own page")
    if not key_matches(key, context.settings.admin_keys):
        service = service_key_for(key, context.settings.api_keys)
        error = "That is a service's API key; the drive needs an admin key." if service else "That is not an admin key."
        return render("sign_in.html", request, status.HTTP_401_UNAUTHORIZED, next=_local(next), error=error)
    store = sessions(request, context)
    session = await store.start()
    response = RedirectResponse(_local(next), status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        COOKIE,
        store.cookie_value(session),
        max_age=store.ttl_s,
        path="/drive",
        httponly=True,
        samesite="strict",
        secure=context.settings.environment == "production",
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request, context: Context, session: Checked) -> Response:
    await sessions(request, context).end(session)
    response = RedirectResponse("/drive/sign-in", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/drive")
    return response


def _local(target: str) -> str:
    """Only a path inside the drive: a sign-in link cannot send anyone elsewhere."""
    return target if target.startswith("/drive") and "//" not in target and "\\" not in target else "/drive"


# --- Browsing ----------------------------------------------------------------------------------------------------


@router.get("")
async def home(request: Request, context: Context, session: SignedIn) -> HTMLResponse:
    db = context.db
    counts = await DriveItems(db).counts() | {
        "generated": await db.images.estimated_document_count(),
        "datasets": await db.datasets.estimated_document_count(),
        "runs": await db.training_runs.estimated_document_count(),
        "adapters": await db.adapters.estimated_document_count(),
    }
    in_service = (await AdapterRegistry(db).in_service()).get("version")
    return render("home.html", request, counts=counts, in_service=in_service, crumbs=[])


@router.get("/uploads")
@router.get("/uploads/{folder_id}")
async def folder_page(
    request: Request,
    context: Context,
    session: SignedIn,
    folder_id: str = ROOT,
    sort: Annotated[str, Query(pattern="^(name|date|size)$")] = "name",
    view: Annotated[str, Query(pattern="^(grid|list)$")] = "grid",
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    items = DriveItems(context.db)
    folder = await items.folder(folder_id)
    if folder is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no folder {folder_id}")
    try:
        page = await items.page(folder_id, sort, cursor, PAGE_SIZE, search=q or None)
    except InvalidInput as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    values: dict[str, Any] = dict(
        folder=folder,
        crumbs=await items.ancestors(folder_id),
        page=page,
        sort=sort,
        view=view,
        q=q or "",
        cursor=cursor,
        folders=await items.folder_paths(),
    )
    if "HX-Request" in request.headers and request.headers.get("HX-Target") == "listing":
        return render("_listing.html", request, **values)
    return render("folder.html", request, **values)


@router.get("/generated")
async def generated_page(request: Request, context: Context, session: SignedIn) -> HTMLResponse:
    by_day = await (
        await context.db.images.aggregate(
            [
                {
                    "$group": {
                        "_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}},
                        "count": {"$sum": 1},
                    }
                },
                {"$sort": {"_id": -1}},
                {"$limit": 366},
            ]
        )
    ).to_list()
    by_user = await (
        await context.db.images.aggregate(
            [{"$group": {"_id": "$user_id", "count": {"$sum": 1}}}, {"$sort": {"count": -1}}, {"$limit": 500}]
        )
    ).to_list()
    crumbs = [{"name": "Generated logos", "url": "/drive/generated"}]
    return render("generated.html", request, by_day=by_day, by_user=by_user, crumbs=crumbs)


@router.get("/generated/day/{day}")
@router.get("/generated/user/{user_id}")
async def generated_images(
    request: Request,
    context: Context,
    session: SignedIn,
    day: str | None = None,
    user_id: str | None = None,
    view: Annotated[str, Query(pattern="^(grid|list)$")] = "grid",
    sort: Annotated[str, Query(pattern="^(date|rating)$")] = "date",
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    page: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> HTMLResponse:
    """One day's or one user's generated logos: newest first (keyset-paged), or best rated first."""
    query: dict[str, Any] = {}
    if day is not None:
        try:
            start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"day: expected YYYY-MM-DD, got {day[:20]!r}") from None
        query["created_at"] = {"$gte": start, "$lt": start + timedelta(days=1)}
        title = day
    else:
        query["user_id"] = user_id
        title = f"user {user_id}"
    ratings = RatingStore(context.db)
    next_link = None
    if sort == "rating":
        images, scores, more = await _best_rated(context, ratings, query, page)
        if more:
            next_link = f"?sort=rating&view={view}&page={page + 1}"
    else:
        if cursor:
            try:
                moment, last_id = decode_cursor(cursor)
            except InvalidInput as error:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
            query["$or"] = [{"created_at": {"$lt": moment}}, {"created_at": moment, "_id": {"$lt": last_id}}]
        order = [("created_at", -1), ("_id", -1)]
        images = await context.db.images.find(query).sort(order).limit(PAGE_SIZE + 1).to_list(PAGE_SIZE + 1)
        if len(images) > PAGE_SIZE:
            images = images[:PAGE_SIZE]
            next_link = f"?sort=date&view={view}&cursor={encode_cursor(images[-1]['created_at'], images[-1]['_id'])}"
        scores = await ratings.aggregates([image["_id"] for image in images])
    jobs = {
        job["_id"]: job
        for job in await context.db.jobs.find({"_id": {"$in": list({image["job_id"] for image in images})}}).to_list(
            None
        )
    }
    crumbs = [{"name": "Generated logos", "url": "/drive/generated"}, {"name": title, "url": request.url.path}]
    return render(
        "generated_images.html",
        request,
        images=images,
        scores=scores,
        jobs=jobs,
        title=title,
        crumbs=crumbs,
        view=view,
        sort=sort,
        next_link=next_link,
    )


async def _best_rated(
    context: ApiContext, ratings: RatingStore, query: dict[str, Any], page: int
) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
    """A page of the selection's images by rating score (unrated last, newest first among equals)."""
    candidates = await context.db.images.find(query, {"_id": 1, "created_at": 1}).to_list(RATED_SORT_LIMIT)
    scores = await ratings.aggregates([image["_id"] for image in candidates])
    ranked = sorted(
        candidates,
        key=lambda image: (-(scores.get(image["_id"], {}).get("score") or -1.0), -image["created_at"].timestamp()),
    )
    chosen = [image["_id"] for image in ranked[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]]
    by_id = {image["_id"]: image for image in await context.db.images.find({"_id": {"$in": chosen}}).to_list(None)}
    return [by_id[image_id] for image_id in chosen if image_id in by_id], scores, len(ranked) > (page + 1) * PAGE_SIZE


@router.get("/search")
async def search_page(
    request: Request, context: Context, session: SignedIn, q: Annotated[str, Query(min_length=1, max_length=200)]
) -> HTMLResponse:
    uploads = await DriveItems(context.db).search(q)
    pattern = {"$regex": re.escape(q), "$options": "i"}
    generated = await context.db.images.find({"prompt": pattern}).sort("_id", -1).limit(PAGE_SIZE).to_list(PAGE_SIZE)
    crumbs = [{"name": f"Search: {q}", "url": request.url.path}]
    return render("search.html", request, q=q, uploads=uploads, generated=generated, crumbs=crumbs)


@router.get("/trash")
async def trash_page(request: Request, context: Context, session: SignedIn) -> HTMLResponse:
    trashed = await DriveItems(context.db).trashed()
    return render("trash.html", request, trashed=trashed, crumbs=[{"name": "Trash", "url": "/drive/trash"}])


# --- One item: preview, bytes, links -----------------------------------------------------------------------------


async def _item(context: ApiContext, kind: str, item_id: str) -> dict[str, Any]:
    if kind == "upload":
        item = await DriveItems(context.db).get(item_id)
    elif kind == "image":
        item = await context.db.images.find_one({"_id": item_id})
    else:
        item = None
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind} {item_id}")
    return item


@router.get("/preview/{kind}/{item_id}")
async def preview(request: Request, context: Context, session: SignedIn, kind: str, item_id: str) -> HTMLResponse:
    item = await _item(context, kind, item_id)
    job = rating = assets = None
    if kind == "image":
        job = await context.db.jobs.find_one({"_id": item["job_id"]})
        rating = (await RatingStore(context.db).aggregates([item_id])).get(item_id)
        assets = await context.db.image_assets.find_one({"_id": item_id})
        if assets is not None:  # links good for an hour, for the buttons of this preview
            base = context.settings.public_url or str(request.base_url)
            assets["links"] = {
                name: context.signer.sign(base, key, ttl_s=3600) for name, key in assets["files"].items()
            }
    folders = await DriveItems(context.db).folder_paths() if kind == "upload" else []
    return render(
        "_preview.html",
        request,
        kind=kind,
        item=item,
        job=job,
        rating=rating,
        folders=folders,
        expiries=LINK_EXPIRIES,
        assets=assets,
    )


@router.get("/raw/{kind}/{item_id}/{variant}")
async def raw(context: Context, session: SignedIn, kind: str, item_id: str, variant: str) -> Response:
    """An item's original bytes, or its WebP thumbnail (made once on first request and kept beside it)."""
    item = await _item(context, kind, item_id)
    if item.get("kind") == "folder" or variant not in ("original", "thumb"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    key = item["key"]
    if variant == "thumb":
        key = item.get("thumb_key") or await _make_thumbnail(context, kind, item)
    headers = {"Cache-Control": "private, max-age=86400"}
    if variant == "original":
        filename = item.get("name") or key.rsplit("/", 1)[-1]
        headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    if context.settings.accel_redirect_prefix:
        return accel_redirect(context.settings.accel_redirect_prefix, context.store, key, headers)
    try:
        stored = await context.store.get(key)
    except (ObjectNotFound, InvalidObjectKey):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no object {key}") from None
    headers["ETag"] = f'"{stored.etag}"'
    return Response(stored.body, media_type=stored.content_type, headers=headers)


async def _make_thumbnail(context: ApiContext, kind: str, item: dict[str, Any]) -> str:
    """An image's WebP thumbnail, made the first time it is shown and kept beside the original
    (`images/<job>/<n>.thumb.webp`, `drive/<id>/original.thumb.webp`); its key is recorded, so it is made once."""
    key = item["key"].rsplit(".", 1)[0] + ".thumb.webp"
    try:
        original = await context.store.get(item["key"])
    except ObjectNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no object {item['key']}") from None
    small = await asyncio.to_thread(thumbnail, original.body)
    await context.store.put(key, small, "image/webp")
    collection = context.db.images if kind == "image" else context.db.drive_items
    await collection.update_one({"_id": item["_id"]}, {"$set": {"thumb_key": key}})
    return key


@router.post("/preview/{kind}/{item_id}/link")
async def signed_link(
    request: Request,
    context: Context,
    session: Checked,
    kind: str,
    item_id: str,
    expires_s: Annotated[str, Form(pattern="^(3600|86400|604800)$")],
) -> HTMLResponse:
    item = await _item(context, kind, item_id)
    base = context.settings.public_url or str(request.base_url)
    link = context.signer.sign(base, item["key"], ttl_s=int(expires_s))
    return render("_link.html", request, link=link, expires=LINK_EXPIRIES[expires_s])


@router.post("/preview/image/{item_id}/redraw")
async def redraw(
    request: Request,
    context: Context,
    session: Checked,
    item_id: str,
    new_seed: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """Draw a generated logo again with every parameter of its job (its own seed, or a new one), as a new job of
    the drive's operator; it appears under Generated logos once drawn."""
    image = await _item(context, "image", item_id)
    job = await context.db.jobs.find_one({"_id": image["job_id"]})
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {image['job_id']}")
    params = GenerationParams(**{**job["params"], "seed": None if new_seed else image["seed"], "num_images": 1})
    command, _ = await submit(context, Caller(user_id=DRIVE_USER, is_admin=True), params)
    return render("_redrawn.html", request, job_id=command.correlation_id, seed=params.seed)


# --- Changing things ---------------------------------------------------------------------------------------------


def _refused(error: InvalidInput) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error))


@contextmanager
def refusing() -> Iterator[None]:
    """Bad input named by the drive's checks (a name, a folder, a move) becomes a 422 with the reason."""
    try:
        yield
    except InvalidInput as error:
        raise _refused(error) from None


@router.post("/uploads/{folder_id}/folders")
async def create_folder(
    context: Context, session: Checked, folder_id: str, name: Annotated[str, Form(max_length=400)]
) -> dict[str, Any]:
    with refusing():
        folder = await DriveItems(context.db).create_folder(folder_id, name)
    return {"id": folder["_id"], "name": folder["name"]}


@router.post("/uploads/{folder_id}/files")
async def upload_file(
    context: Context,
    session: Checked,
    folder_id: str,
    file: UploadFile,
    prompt: Annotated[str, Form(max_length=1000)] = "",
    negative_prompt: Annotated[str, Form(max_length=1000)] = "",
) -> dict[str, Any]:
    """One logo with its prompt: checked (it must decode whole), then stored and recorded; its thumbnail is made when
    it is first shown. A refusal names the file and leaves nothing behind (no object in S3, no record)."""
    items = DriveItems(context.db)
    name = file.filename or "unnamed"
    limit = context.settings.drive_upload_max_bytes
    data = await file.read(limit + 1)
    if name.lower().endswith(".zip"):
        await _existing_folder(items, folder_id)
        return await _upload_archive(context, items, folder_id, name, data)
    with refusing():
        stored = await _store_logo(context, items, folder_id, name, data, prompt, negative_prompt)
    return {"id": stored["_id"], "name": stored["name"], "size": stored["size"]}


async def _existing_folder(items: DriveItems, folder_id: str) -> None:
    if await items.folder(folder_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"folder: no folder {folder_id}")


async def _store_logo(
    context: ApiContext,
    items: DriveItems,
    folder_id: str,
    name: str,
    data: bytes,
    prompt: str | None,
    negative_prompt: str | None = None,
) -> dict[str, Any]:
    """Check one logo, write its bytes, record it; InvalidInput (naming the file) leaves nothing behind.

    The folder's lookup runs beside the image's check, and the record's insert beside the bytes' write: an upload
    waits for the slower of each pair rather than for all four in turn. For those few milliseconds another viewer
    may list the file before its bytes are there; a failure of either write undoes the other.
    """
    limit = context.settings.drive_upload_max_bytes
    name = check_name(name, "file name")
    folder, checked = await asyncio.gather(
        _existing_folder(items, folder_id), asyncio.to_thread(check_image, data, name, limit), return_exceptions=True
    )
    for outcome in (folder, checked):  # a missing folder is told before a bad image
        if isinstance(outcome, BaseException):
            raise outcome
    assert isinstance(checked, CheckedImage)
    item_id = items.new_file_id()
    key = f"drive/{item_id}/original.{checked.extension}"
    record = items.add_checked_file(
        folder_id,
        name,
        item_id=item_id,
        key=key,
        size=len(data),
        image=checked,
        prompt=prompt,
        negative_prompt=negative_prompt,
    )
    # Shielded: a request cancelled half-way still ends with both writes made, or with neither.
    return await asyncio.shield(_write_both(context, items, item_id, record, key, data, checked.content_type))


async def _write_both(
    context: ApiContext,
    items: DriveItems,
    item_id: str,
    record: Awaitable[dict[str, Any]],
    key: str,
    data: bytes,
    content_type: str,
) -> dict[str, Any]:
    """The object and its record, written side by side; a failure of either undoes the other (the unique index
    refuses a name taken in the folder: the object written for it is then removed)."""
    written, recorded = await asyncio.gather(context.store.put(key, data, content_type), record, return_exceptions=True)
    if isinstance(recorded, BaseException):
        if not isinstance(written, BaseException):
            await _forget_bytes(context, [key])
        raise recorded
    if isinstance(written, BaseException):
        await _forget_record(items, item_id)
        raise written
    return recorded


async def _upload_archive(
    context: ApiContext, items: DriveItems, folder_id: str, archive: str, data: bytes
) -> dict[str, Any]:
    """Every logo of a zip into the folder (by its file name), with its prompt from the archive's metadata."""
    limit = context.settings.drive_upload_max_bytes
    with refusing():
        unpacked = await asyncio.to_thread(unpack, data, archive, limit, 10 * limit)
    uploaded, skipped = [], [{"file": name, "reason": reason} for name, reason in unpacked.skipped]
    for path, body, prompt in unpacked.files:
        try:
            stored = await _store_logo(context, items, folder_id, PurePosixPath(path).name, body, prompt)
        except InvalidInput as error:
            skipped.append({"file": path, "reason": str(error)})
            continue
        uploaded.append(stored["name"])
    return {"archive": archive, "uploaded": uploaded, "skipped": skipped}


async def _forget_record(items: DriveItems, item_id: str) -> None:
    try:
        await items.forget_file(item_id)
    except Exception:  # the store is out: the record stays, and its missing original shows as such
        logger.warning("could not remove the record of %s after its bytes failed to write", item_id, exc_info=True)


async def _forget_bytes(context: ApiContext, keys: list[str]) -> None:
    for key in keys:
        try:
            await context.store.delete(key)
        except Exception:  # best effort: an orphan object is found by its missing record
            logger.warning("could not delete %s after a failed upload", key, exc_info=True)


@router.post("/items/{item_id}/rename")
async def rename(context: Context, session: Checked, item_id: str, name: Annotated[str, Form(max_length=400)]) -> dict:
    with refusing():
        item = await DriveItems(context.db).rename(item_id, name)
    return {"id": item_id, "name": item["name"]}


@router.post("/items/{item_id}/move")
async def move(context: Context, session: Checked, item_id: str, target: Annotated[str, Form(max_length=64)]) -> dict:
    with refusing():
        item = await DriveItems(context.db).move(item_id, target)
    return {"id": item_id, "parent": item["parent"]}


@router.post("/items/{item_id}/trash")
async def trash(context: Context, session: Checked, item_id: str) -> dict:
    with refusing():
        await DriveItems(context.db).trash(item_id)
    return {"id": item_id, "trashed": True}


@router.post("/items/{item_id}/restore")
async def restore(context: Context, session: Checked, item_id: str) -> dict:
    with refusing():
        item = await DriveItems(context.db).restore(item_id)
    return {"id": item_id, "parent": item["parent"]}


@router.post("/trash/empty")
async def empty_trash(context: Context, session: Checked) -> dict:
    items = DriveItems(context.db)
    purged = 0
    for item in await items.trashed():
        for file in await items.purge(item["_id"]):
            await _forget_bytes(context, [key for key in (file.get("key"), file.get("thumb_key")) if key])
            purged += 1
    return {"purged_files": purged}
