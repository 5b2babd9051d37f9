"""LoRA adapters in MongoDB: one document per trained version, and one pointer to the version in service.

`adapters` holds {_id: version, run_id, s3_key, metrics, config, status, created_at, promoted_at}, status
being `candidate` (trained, not served), `in_service`, or `retired` (served before). `adapter_service`
holds the single pointer {_id: "current", version, s3_key, history}: `history` is the stack of versions
that were in service before (None standing for the base model), which `rollback` pops.

Promotion path (one for every caller): `promote`/`rollback` here change the pointer with a compare-and-set
write and return the `AdapterPromoted` event; the caller (the trainer's automatic policy, the bot's
`/promote`, or `logoforge ops promote|rollback` acting directly) publishes it, and every generator loads
the adapter between jobs.
"""

import logging
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.base import utcnow
from schemas.training import AdapterPromoted
from services.storage.mongo import translated_errors

logger = logging.getLogger(__name__)

POINTER_ID = "current"
NO_ADAPTER = "none"
CAS_ATTEMPTS = 5


class AdapterStatus:
    CANDIDATE = "candidate"
    IN_SERVICE = "in_service"
    RETIRED = "retired"


class AdapterError(ValueError):
    """A promotion or rollback that cannot be done; the message names the field."""


class UnknownAdapter(AdapterError, LookupError):
    def __init__(self, version: str, field: str = "version") -> None:
        super().__init__(f"{field}: unknown adapter version {version!r}")
        self.version = version


class AdapterRecord(BaseModel):
    """A trained adapter as registered: where its weights are, how it scored, and whether it serves."""

    model_config = ConfigDict(frozen=True)

    version: str
    run_id: str
    s3_key: str
    metrics: dict[str, float]
    config: dict[str, Any]
    status: str
    created_at: datetime
    promoted_at: datetime | None = None


def beats(candidate_loss: float, baseline_loss: float, min_improvement: float = 0.0) -> bool:
    """The automatic policy: promote when the held-out loss is lower than the baseline's by the margin."""
    return candidate_loss < baseline_loss * (1.0 - min_improvement)


class AdapterRegistry:
    def __init__(self, db: AsyncDatabase) -> None:
        self._adapters = db.adapters
        self._pointer = db.adapter_service

    async def register(
        self, version: str, run_id: str, s3_key: str, metrics: dict[str, float], config: dict[str, Any]
    ) -> AdapterRecord:
        """Record a trained adapter as a candidate; a second call for the same version changes nothing."""
        document = {
            "_id": version,
            "version": version,
            "run_id": run_id,
            "s3_key": s3_key,
            "metrics": metrics,
            "config": config,
            "status": AdapterStatus.CANDIDATE,
            "created_at": utcnow(),
            "promoted_at": None,
        }
        async with translated_errors("adapter register"):
            await self._adapters.update_one({"_id": version}, {"$setOnInsert": document}, upsert=True)
            return AdapterRecord.model_validate(await self._adapters.find_one({"_id": version}) or document)

    async def get(self, version: str) -> AdapterRecord | None:
        async with translated_errors("adapter read"):
            found = await self._adapters.find_one({"_id": version})
        return None if found is None else AdapterRecord.model_validate(found)

    async def all(self) -> list[AdapterRecord]:
        async with translated_errors("adapter list"):
            found = await self._adapters.find({}).sort("created_at", 1).to_list()
        return [AdapterRecord.model_validate(document) for document in found]

    async def in_service(self) -> dict[str, Any]:
        """The pointer: {version, s3_key, history}; version None means the base model.

        A plain document still, since the bot's admin tools read it as one.
        """
        async with translated_errors("adapter pointer read"):
            pointer = await self._pointer.find_one({"_id": POINTER_ID})
        return pointer or {"_id": POINTER_ID, "version": None, "s3_key": None, "history": []}

    async def promote(
        self, version: str | None, reason: Literal["auto", "manual", "rollback"] = "manual"
    ) -> AdapterPromoted:
        """Put `version` (None or "none": the base model) in service; unknown versions are refused."""
        version = None if version in (None, NO_ADAPTER) else version
        s3_key = None
        if version is not None:
            adapter = await self.get(version)
            if adapter is None:
                raise UnknownAdapter(version)
            s3_key = adapter.s3_key
        for _ in range(CAS_ATTEMPTS):
            current = await self.in_service()
            if current["version"] == version:
                return self._event(version, s3_key, current["version"], reason)
            history = [*current.get("history", []), current["version"]]
            if await self._swap(current["version"], version, s3_key, history):
                await self._mark(current["version"], version)
                return self._event(version, s3_key, current["version"], reason)
        raise AdapterError("version: the adapter in service kept changing during promotion; try again")

    async def announcement(self) -> AdapterPromoted:
        """The event that puts the adapter in service now into every generator (to announce it again)."""
        current = await self.in_service()
        history = current.get("history", [])
        return AdapterPromoted(
            correlation_id=current["version"] or NO_ADAPTER,
            version=current["version"],
            s3_key=current["s3_key"],
            previous_version=history[-1] if history else None,
        )

    async def rollback(self) -> AdapterPromoted:
        """Go back to the version that was in service before the current one."""
        for _ in range(CAS_ATTEMPTS):
            current = await self.in_service()
            history = list(current.get("history", []))
            if not history:
                raise AdapterError("version: nothing to roll back to; no adapter was in service before")
            previous = history.pop()
            s3_key = None
            if previous is not None:
                adapter = await self.get(previous)
                if adapter is None:
                    raise UnknownAdapter(previous)
                s3_key = adapter.s3_key
            if await self._swap(current["version"], previous, s3_key, history):
                await self._mark(current["version"], previous)
                return self._event(previous, s3_key, current["version"], "rollback")
        raise AdapterError("version: the adapter in service kept changing during rollback; try again")

    async def _swap(self, expected: str | None, version: str | None, s3_key: str | None, history: list) -> bool:
        """Compare-and-set the pointer; False when another promotion got there first."""
        update = {"$set": {"version": version, "s3_key": s3_key, "history": history, "updated_at": utcnow()}}
        async with translated_errors("adapter pointer write"):
            try:
                result = await self._pointer.find_one_and_update(
                    {"_id": POINTER_ID, "version": expected},
                    update,
                    upsert=expected is None,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:  # the pointer exists but moved on: not our expected version
                return False
        return result is not None

    async def _mark(self, old: str | None, new: str | None) -> None:
        async with translated_errors("adapter status"):
            if old is not None:
                await self._adapters.update_one({"_id": old}, {"$set": {"status": AdapterStatus.RETIRED}})
            if new is not None:
                await self._adapters.update_one(
                    {"_id": new}, {"$set": {"status": AdapterStatus.IN_SERVICE, "promoted_at": utcnow()}}
                )

    @staticmethod
    def _event(version: str | None, s3_key: str | None, previous: str | None, reason: str) -> AdapterPromoted:
        logger.info("adapter in service: %s (was %s; %s)", version or "none", previous or "none", reason)
        return AdapterPromoted(
            correlation_id=version or NO_ADAPTER, version=version, s3_key=s3_key, previous_version=previous
        )
