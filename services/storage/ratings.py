"""Ratings in MongoDB: one document per (image, user) in `ratings`, one aggregate per image in `image_scores`.

`image_scores` (keyed by image id) also carries what ranking and training need without a join: the
image's job, owner, prompt and creation time, whether its owner hid it, and the training run that used it.
"""

from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from schemas.base import utcnow
from schemas.ratings import RateLogo
from services.ratings.scoring import Aggregate, Fold, Outcome, RatingVersion, fold
from services.storage.mongo import translated_errors
from services.storage.rateable import RateableImage
from services.storage.rating_state import BatchState, KnownState
from services.storage.transactions import Conflict, in_transaction

BEST_ORDER = [("score", DESCENDING), ("count", DESCENDING), ("_id", ASCENDING)]


def rating_id(image_id: str, user_id: str) -> str:
    """The rating's document id: one per (image, user), found without a secondary index.

    The length prefix keeps it unambiguous whatever characters the ids contain.
    """
    return f"{len(image_id)}:{image_id}:{user_id}"


async def create_rating_indexes(db: AsyncDatabase) -> None:
    # Redundant with the document id, and kept: it states the rule, and serves lookups by image.
    await db.ratings.create_index([("image_id", ASCENDING), ("user_id", ASCENDING)], unique=True)
    # Each rating rewrites this index (the score changes), so it is the only one: the global best-of list
    # and the retraining trigger's "unused and above the bar" walk it from the top; a user's best-of
    # list starts from the generator's index of the user's images instead.
    await db.image_scores.create_index([("score", DESCENDING)])


@dataclass(frozen=True)
class RecordedRating:
    """What one RateLogo did, and the image's aggregate before and after the batch it was part of."""

    command: RateLogo
    outcome: Outcome
    job_id: str
    aggregate: Aggregate
    previous_score: float
    training_run: str | None


class RatingStore:
    def __init__(self, db: AsyncDatabase, known: KnownState | None = None) -> None:
        self._db = db
        self._known = known

    async def record(self, commands: list[RateLogo], images: dict[str, RateableImage]) -> list[RecordedRating]:
        """Apply rateable commands (in arrival order) in one transaction; redeliveries change nothing."""
        attempts = 0

        async def work(session: AsyncClientSession) -> tuple[Fold, BatchState]:
            nonlocal attempts
            attempts += 1
            # First from memory; once that proved stale (or on a conflict), from MongoDB.
            state = self._known.state_for(commands) if self._known and attempts == 1 else None
            state = state or await self._read_state(commands, session)
            result = fold(commands, state.ratings, state.aggregates)
            await self._write(result, state, images, session)
            return result, state

        if not commands:
            return []
        try:
            outcome = await in_transaction(self._db.client, work, "rating batch")
            if outcome is None:  # only a work function that raises Abort gets None back, and this one never does
                raise RuntimeError("rating batch: transaction rolled back without a reason")
            result, state = outcome
        except BaseException:
            if self._known:
                self._known.forget(commands)
            raise
        if self._known:
            self._known.remember(result, state.claims)
        return [
            RecordedRating(
                command,
                outcome,
                images[command.image_id].job_id,
                result.aggregates[command.image_id],
                state.aggregates.get(command.image_id, Aggregate()).score,
                state.claims.get(command.image_id),
            )
            for command, outcome in zip(commands, result.outcomes, strict=True)
        ]

    async def _read_state(self, commands: list[RateLogo], session: AsyncClientSession) -> BatchState:
        image_ids = sorted({command.image_id for command in commands})
        wanted = sorted({rating_id(command.image_id, command.user_id) for command in commands})
        state = BatchState({}, {}, {})
        async for doc in self._db.ratings.find({"_id": {"$in": wanted}}, session=session):
            state.ratings[(doc["image_id"], doc["user_id"])] = RatingVersion(
                doc["score"], doc["message_id"], doc["occurred_at"], doc.get("comment")
            )
        async for doc in self._db.image_scores.find({"_id": {"$in": image_ids}}, session=session):
            state.aggregates[doc["_id"]] = Aggregate(doc["count"], doc["sum"])
            state.claims[doc["_id"]] = doc.get("training_run")
        return state

    async def _write(
        self, result: Fold, before: BatchState, images: dict[str, RateableImage], session: AsyncClientSession
    ) -> None:
        """Write what changed, each update conditional on the state it was computed from."""
        now = utcnow()
        rating_writes: list[InsertOne | UpdateOne] = []
        for image_id, user_id in sorted(result.changed_ratings):
            version = result.ratings[(image_id, user_id)]
            fields = {
                "score": version.score,
                "comment": version.comment,
                "message_id": version.message_id,
                "occurred_at": version.occurred_at,
                "recorded_at": now,
            }
            if (previous := before.ratings.get((image_id, user_id))) is not None:
                rating_writes.append(
                    UpdateOne(
                        {"_id": rating_id(image_id, user_id), "message_id": previous.message_id}, {"$set": fields}
                    )
                )
            else:
                image = images[image_id]
                rating_writes.append(
                    InsertOne(
                        {
                            "_id": rating_id(image_id, user_id),
                            "image_id": image_id,
                            "user_id": user_id,
                            "job_id": image.job_id,
                            "image_owner": image.owner,
                            **fields,
                        }
                    )
                )
        score_writes: list[InsertOne | UpdateOne] = []
        for image_id in sorted(result.changed_images):
            aggregate = result.aggregates[image_id]
            score_fields = {
                "count": aggregate.count,
                "sum": aggregate.total,
                "mean": aggregate.mean,
                "score": aggregate.score,
                "updated_at": now,
            }
            if (previous_aggregate := before.aggregates.get(image_id)) is not None:
                score_writes.append(
                    UpdateOne(
                        {"_id": image_id, "count": previous_aggregate.count, "sum": previous_aggregate.total},
                        {"$set": score_fields},
                    )
                )
            else:
                image = images[image_id]
                score_writes.append(
                    InsertOne(
                        {
                            "_id": image_id,
                            "job_id": image.job_id,
                            "user_id": image.owner,
                            "prompt": image.prompt,
                            "key": image.key,
                            "created_at": image.created_at,
                            "hidden": False,
                            "training_run": None,
                            **score_fields,
                        }
                    )
                )
        for collection, writes in ((self._db.ratings, rating_writes), (self._db.image_scores, score_writes)):
            if writes:
                written = await collection.bulk_write(writes, ordered=True, session=session)
                updates = sum(isinstance(write, UpdateOne) for write in writes)
                if written.matched_count != updates:
                    raise Conflict(f"{collection.name}: {updates - written.matched_count} documents changed meanwhile")

    async def aggregates(self, image_ids: list[str]) -> dict[str, dict[str, Any]]:
        async with translated_errors("aggregate read"):
            return {doc["_id"]: doc async for doc in self._db.image_scores.find({"_id": {"$in": image_ids}})}

    async def ratings_by(self, user_id: str, image_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The given user's own ratings of these images, by image id."""
        async with translated_errors("rating read"):
            cursor = self._db.ratings.find({"image_id": {"$in": image_ids}, "user_id": user_id})
            return {doc["image_id"]: doc async for doc in cursor}

    async def best(self, limit: int, user_id: str | None = None) -> list[dict[str, Any]]:
        """Rated images by confidence-aware score, best first; hidden ones left out."""
        query: dict[str, Any] = {"hidden": False}
        async with translated_errors("best images"):
            if user_id is not None:
                images = self._db.images.find({"user_id": user_id}, {"_id": 1})
                query["_id"] = {"$in": [image["_id"] async for image in images]}
            return await self._db.image_scores.find(query).sort(BEST_ORDER).limit(limit).to_list()

    async def hide_images(self, image_ids: list[str]) -> None:
        """Leave these images out of the best-of lists (their owner removed them from the history).

        An image nobody rated yet gets its (empty) aggregate now, hidden, so that a rating arriving
        later updates that document instead of creating a visible one.
        """
        async with translated_errors("hide images"):
            images = await self._db.images.find({"_id": {"$in": image_ids}}).to_list()
            if not images:
                return
            await self._db.image_scores.bulk_write(
                [
                    UpdateOne(
                        {"_id": image["_id"]},
                        {
                            "$set": {"hidden": True},
                            "$setOnInsert": {
                                "job_id": image["job_id"],
                                "user_id": image["user_id"],
                                "prompt": image["prompt"],
                                "key": image["key"],
                                "created_at": image["created_at"],
                                "training_run": None,
                                "count": 0,
                                "sum": 0,
                                "mean": 0.0,
                                "score": 0.0,
                                "updated_at": utcnow(),
                            },
                        },
                        upsert=True,
                    )
                    for image in images
                ],
                ordered=False,
            )
