"""`logoforge ops retrain`: record a training run on the unused well-rated images now, and publish it."""

from pymongo.asynchronous.database import AsyncDatabase

from schemas.base import Message
from services.messaging import declare_topology, make_broker, publish
from services.ratings.settings import RetrainSettings
from services.ratings.trigger import RetrainTrigger, claim_policy
from services.storage import mongo
from services.storage.ratings import create_rating_indexes
from services.storage.training_runs import TrainingRun, TrainingRunStore, create_training_run_indexes


async def retrain(settings: RetrainSettings, datasets: list[str] | None) -> TrainingRun:
    """Record a manual run on the unused well-rated images (and `datasets`) and publish it.

    NothingToTrain when no unused image passes the bar and no dataset was named; UnknownDatasets when a named
    dataset was never imported (nothing is claimed then).
    """
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
        return await trigger.manual(datasets)
    finally:
        await broker.stop()
        await client.close()
