"""The drive's own records (`drive_items`): folders and uploaded files, with their prompts, trash and paging.

Listings come from these records, never from scanning the bucket. A file's bytes live in S3 under
`drive/<item id>/`: the original and its WebP thumbnail beside it.
"""

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.base import utcnow
from services.drive.images import CheckedImage
from services.errors import InvalidInput
from services.storage.mongo import translated_errors

ROOT = "root"  # the uploads folder at the top of the tree; it has no record
MAX_NAME_LENGTH = 200
_FORBIDDEN_IN_NAMES = re.compile(r"[/\\\x00-\x1f\x7f]")

Sort = Literal["name", "date", "size"]
# Per sort: the field, its direction, and the order of the page's rows.
SORTS: dict[str, tuple[str, int]] = {
    "name": ("name_key", ASCENDING),
    "date": ("created_at", DESCENDING),
    "size": ("size", DESCENDING),
}


class NameTaken(InvalidInput):
    """Another live item in the folder has that name."""


def check_name(name: str, what: str = "name") -> str:
    """A name as the drive keeps it: trimmed; no slashes, control characters, '.' or '..'."""
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput(f"{what}: must not be empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidInput(f"{what}: at most {MAX_NAME_LENGTH} characters, got {len(cleaned)}")
    if cleaned in (".", "..") or _FORBIDDEN_IN_NAMES.search(cleaned):
        raise InvalidInput(f"{what}: {cleaned[:60]!r} may not be '.' or '..' nor contain slashes or control characters")
    return cleaned


@dataclass
class Page:
    folders: list[dict[str, Any]]
    files: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(value: Any, item_id: str) -> str:
    if isinstance(value, datetime):
        value = {"$date": value.isoformat()}
    return base64.urlsafe_b64encode(json.dumps([value, item_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, str]:
    try:
        value, item_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise InvalidInput("cursor: not a cursor this drive made") from None
    if isinstance(value, dict) and "$date" in value:
        value = datetime.fromisoformat(value["$date"])
    return value, item_id


async def create_drive_indexes(db: AsyncDatabase) -> None:
    items = db.drive_items
    # Live items only: a name may be used again once its item is in the trash.
    await items.create_index(
        [("parent", ASCENDING), ("name_key", ASCENDING)], unique=True, partialFilterExpression={"live": True}
    )
    for field in ("name_key", "created_at", "size"):
        await items.create_index(
            [("parent", ASCENDING), ("live", ASCENDING), ("kind", ASCENDING), (field, ASCENDING), ("_id", ASCENDING)]
        )
    await items.create_index([("live", ASCENDING), ("trashed_at", DESCENDING)])


class DriveItems:
    def __init__(self, db: AsyncDatabase) -> None:
        self._items = db.drive_items

    async def get(self, item_id: str) -> dict[str, Any] | None:
        async with translated_errors("drive item read"):
            return await self._items.find_one({"_id": item_id})

    async def folder(self, folder_id: str) -> dict[str, Any] | None:
        """A live folder, or the uploads root."""
        if folder_id == ROOT:
            return {"_id": ROOT, "kind": "folder", "name": "Uploads", "parent": None, "live": True}
        item = await self.get(folder_id)
        return item if item is not None and item["kind"] == "folder" and item["live"] else None

    async def ancestors(self, folder_id: str) -> list[dict[str, Any]]:
        """The folders from the uploads root down to `folder_id`, for breadcrumbs."""
        chain = []
        current = await self.folder(folder_id)
        while current is not None:
            chain.append(current)
            if current["_id"] == ROOT or len(chain) > 64:
                break
            current = await self.folder(current["parent"] or ROOT)
        return list(reversed(chain))

    async def _insert(self, document: dict[str, Any]) -> dict[str, Any]:
        try:
            async with translated_errors("drive item insert"):
                await self._items.insert_one(document)
        except DuplicateKeyError:
            raise NameTaken(f"name: {document['name']!r} is already in this folder") from None
        return document

    def _new(self, kind: str, parent: str, name: str, **fields: Any) -> dict[str, Any]:
        now = utcnow()
        return {
            "_id": uuid.uuid4().hex,
            "kind": kind,
            "parent": parent,
            "name": name,
            "name_key": name.casefold(),
            "live": True,
            "trashed_at": None,
            "created_at": now,
            "updated_at": now,
            "size": 0,
            **fields,
        }

    async def check_free(self, parent: str, name: str) -> None:
        """NameTaken when a live item in `parent` already has `name` (the unique index decides races)."""
        async with translated_errors("drive name check"):
            taken = await self._items.find_one({"parent": parent, "name_key": name.casefold(), "live": True})
        if taken is not None:
            raise NameTaken(f"name: {name!r} is already in this folder")

    async def create_folder(self, parent: str, name: str) -> dict[str, Any]:
        name = check_name(name)
        if await self.folder(parent) is None:
            raise InvalidInput(f"parent: no folder {parent}")
        return await self._insert(self._new("folder", parent, name))

    async def add_file(self, parent: str, name: str, **fields: Any) -> dict[str, Any]:
        return await self._insert(self._new("file", parent, name, **fields))

    async def add_checked_file(
        self,
        parent: str,
        name: str,
        *,
        item_id: str,
        key: str,
        size: int,
        image: CheckedImage,
        prompt: str | None = None,
        negative_prompt: str | None = None,
    ) -> dict[str, Any]:
        """The record of an uploaded logo whose bytes passed `check_image`; blank prompts are recorded as none."""
        return await self.add_file(
            parent,
            name,
            _id=item_id,
            key=key,
            size=size,
            width=image.width,
            height=image.height,
            content_type=image.content_type,
            prompt=(prompt or "").strip() or None,
            negative_prompt=(negative_prompt or "").strip() or None,
        )

    def new_file_id(self) -> str:
        return uuid.uuid4().hex

    async def forget_file(self, item_id: str) -> None:
        """Remove a file's record outright (an upload whose bytes could not be written)."""
        async with translated_errors("drive item delete"):
            await self._items.delete_one({"_id": item_id, "kind": "file"})

    async def rename(self, item_id: str, name: str) -> dict[str, Any]:
        name = check_name(name)
        item = await self._live(item_id)
        try:
            async with translated_errors("drive rename"):
                await self._items.update_one(
                    {"_id": item_id}, {"$set": {"name": name, "name_key": name.casefold(), "updated_at": utcnow()}}
                )
        except DuplicateKeyError:
            raise NameTaken(f"name: {name!r} is already in this folder") from None
        return {**item, "name": name}

    async def move(self, item_id: str, target: str) -> dict[str, Any]:
        item = await self._live(item_id)
        if await self.folder(target) is None:
            raise InvalidInput(f"target: no folder {target}")
        if item["kind"] == "folder" and item_id in {folder["_id"] for folder in await self.ancestors(target)}:
            raise InvalidInput("target: a folder cannot be moved into itself or into a folder inside it")
        try:
            async with translated_errors("drive move"):
                await self._items.update_one({"_id": item_id}, {"$set": {"parent": target, "updated_at": utcnow()}})
        except DuplicateKeyError:
            raise NameTaken(f"name: {item['name']!r} is already in the target folder") from None
        return {**item, "parent": target}

    async def _live(self, item_id: str) -> dict[str, Any]:
        item = await self.get(item_id)
        if item is None or not item["live"]:
            raise InvalidInput(f"item: no item {item_id} outside the trash")
        return item

    async def trash(self, item_id: str) -> None:
        """To the trash with everything inside it; restored together."""
        await self._live(item_id)
        now = utcnow()
        ids = await self._subtree(item_id)
        async with translated_errors("drive trash"):
            await self._items.update_one({"_id": item_id}, {"$set": {"live": False, "trashed_at": now}})
            # What is inside goes with it but is not listed in the trash by itself.
            await self._items.update_many({"_id": {"$in": ids[1:]}}, {"$set": {"live": False, "trashed_with": item_id}})

    async def restore(self, item_id: str) -> dict[str, Any]:
        item = await self.get(item_id)
        if item is None or item["live"] or item.get("trashed_with"):
            raise InvalidInput(f"item: no item {item_id} in the trash")
        parent = item["parent"] if await self.folder(item["parent"]) is not None else ROOT
        await self.check_free(parent, item["name"])
        async with translated_errors("drive restore"):
            await self._items.update_one(
                {"_id": item_id}, {"$set": {"live": True, "trashed_at": None, "parent": parent, "updated_at": utcnow()}}
            )
            await self._items.update_many(
                {"trashed_with": item_id}, {"$set": {"live": True}, "$unset": {"trashed_with": ""}}
            )
        return {**item, "parent": parent}

    async def trashed(self) -> list[dict[str, Any]]:
        async with translated_errors("drive trash list"):
            return (
                await self._items.find({"live": False, "trashed_at": {"$ne": None}})
                .sort("trashed_at", DESCENDING)
                .to_list(500)
            )

    async def purge(self, item_id: str) -> list[dict[str, Any]]:
        """Forget a trashed item and what was inside it; returns the files, whose bytes the caller deletes."""
        ids = await self._subtree(item_id)
        async with translated_errors("drive purge"):
            files = await self._items.find({"_id": {"$in": ids}, "kind": "file"}).to_list(None)
            await self._items.delete_many({"_id": {"$in": ids}})
        return files

    async def _subtree(self, item_id: str) -> list[str]:
        """`item_id` and every item below it, breadth first."""
        ids, frontier = [item_id], [item_id]
        while frontier:
            async with translated_errors("drive subtree"):
                children = await self._items.find({"parent": {"$in": frontier}}, {"_id": 1}).to_list(None)
            frontier = [child["_id"] for child in children]
            ids += frontier
        return ids

    async def page(
        self, folder_id: str, sort: str = "name", cursor: str | None = None, limit: int = 60, search: str | None = None
    ) -> Page:
        """A folder's live folders (all, on the first page) and a page of its files, in `sort` order.

        Keyset paging: a page deep in a large folder costs what the first one does.
        """
        field, direction = SORTS.get(sort, SORTS["name"])
        query: dict[str, Any] = {"parent": folder_id, "live": True}
        if search:
            query["prompt"] = {"$regex": re.escape(search), "$options": "i"}
        folders: list[dict[str, Any]] = []
        if cursor is None and not search:
            async with translated_errors("drive folder list"):
                folders = await self._items.find({**query, "kind": "folder"}).sort("name_key", ASCENDING).to_list(1000)
        files_query: dict[str, Any] = {**query, "kind": "file"}
        if cursor is not None:
            value, last_id = decode_cursor(cursor)
            beyond = "$gt" if direction == ASCENDING else "$lt"
            files_query["$or"] = [{field: {beyond: value}}, {field: value, "_id": {beyond: last_id}}]
        async with translated_errors("drive file list"):
            files = (
                await self._items.find(files_query)
                .sort([(field, direction), ("_id", direction)])
                .limit(limit + 1)
                .to_list(limit + 1)
            )
        next_cursor = None
        if len(files) > limit:
            files = files[:limit]
            next_cursor = encode_cursor(files[-1][field], files[-1]["_id"])
        return Page(folders=folders, files=files, next_cursor=next_cursor)

    async def counts(self) -> dict[str, int]:
        """Live files, and items in the trash (what the home page shows)."""
        async with translated_errors("drive counts"):
            return {
                "uploads": await self._items.count_documents({"live": True, "kind": "file"}),
                "trash": await self._items.count_documents({"live": False, "trashed_at": {"$ne": None}}),
            }

    async def files_in(self, folder_id: str) -> list[dict[str, Any]]:
        """A folder's live files (not those of its sub-folders), by name."""
        async with translated_errors("drive folder files"):
            return (
                await self._items.find({"parent": folder_id, "live": True, "kind": "file"})
                .sort("name_key", ASCENDING)
                .to_list(None)
            )

    async def folder_paths(self) -> list[dict[str, str]]:
        """Every live folder with its path from the uploads root, sorted by path (for "move to")."""
        async with translated_errors("drive folder list"):
            folders = await self._items.find({"kind": "folder", "live": True}).to_list(2000)
        by_id = {folder["_id"]: folder for folder in folders}

        def path(folder: dict[str, Any]) -> str:
            parts, current, hops = [folder["name"]], folder, 0
            while current["parent"] in by_id and hops < 64:
                current, hops = by_id[current["parent"]], hops + 1
                parts.append(current["name"])
            return "Uploads / " + " / ".join(reversed(parts))

        return [{"_id": ROOT, "path": "Uploads"}] + sorted(
            ({"_id": folder["_id"], "path": path(folder)} for folder in folders),
            key=lambda entry: entry["path"].casefold(),
        )

    async def search(self, text: str, limit: int = 60) -> list[dict[str, Any]]:
        """Live files anywhere in the uploads whose prompt contains `text` (case-insensitive)."""
        async with translated_errors("drive search"):
            return (
                await self._items.find(
                    {"live": True, "kind": "file", "prompt": {"$regex": re.escape(text), "$options": "i"}}
                )
                .sort("created_at", DESCENDING)
                .limit(limit)
                .to_list(limit)
            )
