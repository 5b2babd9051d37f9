"""The least any server can do to take one logo, set beside the drive's upload in bench/drive_bench.py.

    LOGOFORGE_... .venv/bin/python -m uvicorn bench.upload_floor:app --port N

A bare ASGI app on uvicorn (uvloop and httptools, as the API runs), with no framework, no session, no form, no
metrics or traces: `POST /bare/<folder>/<name>` takes the PNG as the request's body, runs the drive's own check on
it (`check_image`: every pixel decoded) on the event loop, then writes the bytes with the API's `ObjectStore.put`
beside the insert of the drive's record (`DriveItems.add_checked_file`: the same document, the same indexes).
`POST /checked/<folder>/<name>` first reads the folder's record, as an upload into a folder that may have gone must;
`POST /form/<folder>` also takes the file and its prompt as a browser's form sends them (multipart, parsed by
Starlette's form parser, python-multipart, as any ASGI framework here would).
"""

import asyncio
import json
from typing import Any

from pymongo import AsyncMongoClient
from starlette.datastructures import UploadFile
from starlette.requests import Request

from services.drive.images import check_image
from services.drive.items import DriveItems
from services.settings import CommonSettings
from services.storage.s3 import ObjectStore

MAX_BYTES = 20 * 1024 * 1024

settings = CommonSettings()
store = ObjectStore.from_settings(settings)
items = DriveItems(AsyncMongoClient(settings.mongo_url, tz_aware=True)[settings.mongo_db])


async def _answer(send: Any, status: int, body: dict[str, Any]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # nothing to start or stop
        return
    how, folder, *rest = scope["path"].strip("/").split("/")
    prompt = "a logo"
    if how == "form":
        async with Request(scope, receive).form() as form:
            upload = form["file"]
            assert isinstance(upload, UploadFile)
            name, data, prompt = upload.filename or "unnamed", await upload.read(), str(form.get("prompt", ""))
    else:
        name, data = rest[0], await _body(receive)
    if how != "bare" and await items.folder(folder) is None:
        await _answer(send, 404, {"detail": f"folder: no folder {folder}"})
        return
    image = check_image(data, name, MAX_BYTES)
    item_id = items.new_file_id()
    key = f"drive/{item_id}/original.{image.extension}"
    record = items.add_checked_file(folder, name, item_id=item_id, key=key, size=len(data), image=image, prompt=prompt)
    await asyncio.gather(store.put(key, data, image.content_type), record)
    await _answer(send, 200, {"id": item_id})
