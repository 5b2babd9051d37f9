"""A user's generation history: their jobs, newest first, in pages; an item they delete is only hidden.

Hidden jobs keep their images and ratings, since ratings, rankings of other users and training runs
refer to them; the job just leaves the owner's history and the best-of lists.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from schemas.base import utcnow
from services.storage.jobs import JobStatus
from services.storage.mongo import translated_errors

NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]


class InvalidCursor(ValueError):
    """A page cursor that this API did not hand out."""


@dataclass(frozen=True)
class PageCursor:
    """Where the next page starts: after the job with this creation time and id."""

    created_at: datetime
    job_id: str

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.job_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "PageCursor":
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            created_at, job_id = raw.split("|", 1)
            return cls(datetime.fromisoformat(created_at), job_id)
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise InvalidCursor(f"before: not a cursor from this API ({error})") from None


class HistoryStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._jobs = db.jobs

    async def page(
        self, user_id: str, limit: int, before: PageCursor | None = None
    ) -> tuple[list[dict[str, Any]], PageCursor | None]:
        """One page of the user's visible jobs, newest first, and the cursor of the next page (None at the end)."""
        query: dict[str, Any] = {
            "requester.user_id": user_id,
            "hidden": {"$ne": True},
            "status": {"$nin": JobStatus.HIDDEN},
        }
        if before is not None:
            query["$or"] = [
                {"created_at": {"$lt": before.created_at}},
                {"created_at": before.created_at, "_id": {"$lt": before.job_id}},
            ]
        async with translated_errors("history page"):
            jobs = await self._jobs.find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list()
        if len(jobs) <= limit:
            return jobs, None
        last = jobs[limit - 1]
        return jobs[:limit], PageCursor(last["created_at"], last["_id"])

    async def variations(
        self, image_ids: list[str], user_id: str | None = None, fields: dict[str, int] | None = None
    ) -> list[dict[str, Any]]:
        """The visible jobs drawn as variations of these images (of one user's, when given), newest first; only
        `fields` of each, when given."""
        if not image_ids:
            return []
        query: dict[str, Any] = {
            "params.variation_of": {"$in": image_ids},
            "hidden": {"$ne": True},
            "status": {"$nin": JobStatus.HIDDEN},
        }
        if user_id is not None:
            query["requester.user_id"] = user_id
        async with translated_errors("variations"):
            return await self._jobs.find(query, fields).sort(NEWEST_FIRST).limit(1000).to_list()

    async def hide(self, user_id: str, job_id: str) -> dict[str, Any] | None:
        """Hide one of the user's jobs from their history; the job, or None if they have no such job."""
        async with translated_errors("history hide"):
            return await self._jobs.find_one_and_update(
                {"_id": job_id, "requester.user_id": user_id},
                {"$set": {"hidden": True, "hidden_at": utcnow()}},
            )
