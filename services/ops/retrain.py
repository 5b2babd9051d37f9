"""`logoforge ops retrain`: record a training run on the unused well-rated images now, and publish it."""

import json
import sys

from pymongo.asynchronous.database import AsyncDatabase

from schemas.base import Message
from services.messaging import declare_topology, make_broker, publish
from services.ratings.settings import RetrainSettings
from services.ratings.trigger import NothingToTrain, RetrainTrigger, UnknownDatasets, claim_policy
from services.storage import mongo
from services.storage.ratings import create_rating_indexes
from services.storage.training_runs import TrainingRunStore, create_training_run_indexes


async def retrain(settings: RetrainSettings, datasets: list[str] | None) -> int:
    """Start a manual run and print it as JSON; exit status 0: published, 1: nothing to train on, 2: unknown dataset."""
    client = mongo.connect(settings)
    broker = make_broker(settings.rabbit_url)
    try:
        db: AsyncDatabase = client[settings.mongo_db]
        await mongo.ensure_indexes(db, [create_rating_indexes, create_training_run_indexes])
        await broker.connect()
        await declare_topology(broker)

        async def send(message: Message) -> None:
            await publish(broker, message)

        trigger = RetrainTrigger(TrainingRunStore(db), send, claim_policy(settings), settings.retrain_publish_lease_s)
        try:
            run = await trigger.manual(datasets)
        except NothingToTrain as error:
            print(error)
            return 1
        except UnknownDatasets as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(
            json.dumps(
                {
                    "run_id": run.run_id,
                    "images": len(run.image_ids),
                    "datasets": run.datasets,
                    "status": run.status,
                    "published": True,
                }
            )
        )
        return 0
    finally:
        await broker.stop()
        await client.close()
