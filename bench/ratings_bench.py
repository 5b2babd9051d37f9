"""Ratings ingested per second through RabbitMQ and the ratings service, against raw inserts into the same MongoDB.

One run, one MongoDB server, one driver (PyMongo async):
  raw      insert the rating documents the service would store, straight into a collection with the same
           unique index: one insert_one per rating (what a writer handling one rating at a time does), and
           insert_many in chunks of --batch-size (the best case for bulk loading);
  broker   publish N RateLogo commands to the `ratings` queue, then start the real ratings service
           (services.ratings.app.build_ratings) and time until all N ratings are in MongoDB. The service
           does the whole job: validates images and jobs, reads and updates the aggregates in one
           transaction per batch, publishes LogoRated (bound to a queue here, as a listener would), acks.
Each round measures both on a fresh database, alternating, so load from elsewhere on the machine hits
both alike; the medians over --rounds and the ratio broker / raw are printed (target: 0.5 or more
against insert_one).

  python bench/ratings_bench.py --ratings 3000 --images 300

With no --mongo-url it starts a SecantusDB of its own; with no --rabbit-url it uses a fresh vhost on the
local RabbitMQ (rabbitmqctl), deleted afterwards.
"""

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aio_pika
from faststream import TestApp
from pymongo import ASCENDING, AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from logoforge.devstack import SecantusMongo
from schemas.base import utcnow
from schemas.ratings import RateLogo
from schemas.topology import COMMANDS, EVENTS
from services.messaging import declare_topology, make_broker
from services.ratings.app import build_ratings
from services.settings import RatingsSettings
from services.storage.ratings import rating_id

IMAGES_PER_JOB = 8


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


async def seed_images(db, images: int) -> list[dict]:
    """Finished jobs and their images, shaped as the generator writes them."""
    now = utcnow()
    image_docs, job_docs = [], []
    for job_number in range(0, images, IMAGES_PER_JOB):
        job_id = uuid.uuid4().hex
        refs = []
        for index in range(min(IMAGES_PER_JOB, images - job_number)):
            key = f"images/{job_id}/{index}.png"
            refs.append({"image_id": f"{job_id}-{index}", "index": index, "key": key, "nsfw": False})
            image_docs.append(
                {
                    "_id": f"{job_id}-{index}",
                    "job_id": job_id,
                    "index": index,
                    "key": key,
                    "nsfw": False,
                    "prompt": f"logo {job_number}",
                    "seed": 1,
                    "user_id": f"owner-{job_number % 17}",
                    "created_at": now,
                }
            )
        job_docs.append(
            {
                "_id": job_id,
                "status": "succeeded",
                "params": {"prompt": f"logo {job_number}"},
                "requester": {"channel": "api", "user_id": f"owner-{job_number % 17}", "chat_id": None},
                "seed": 1,
                "images": refs,
                "created_at": now,
                "updated_at": now,
            }
        )
    await db.jobs.insert_many(job_docs)
    await db.images.insert_many(image_docs)
    return image_docs


def make_commands(images: list[dict], count: int) -> list[RateLogo]:
    """`count` ratings, every (user, image) pair distinct, scores skewed to good as real ones are."""
    rng = random.Random(7)
    return [
        RateLogo(
            correlation_id=images[n % len(images)]["job_id"],
            image_id=images[n % len(images)]["_id"],
            user_id=f"user-{n // len(images)}",
            score=rng.choice([2, 3, 4, 4, 5, 5]),
        )
        for n in range(count)
    ]


def stored_rating(command: RateLogo, image: dict) -> dict:
    """The document the ratings service stores for a first rating (services/storage/ratings.py)."""
    return {
        "_id": rating_id(command.image_id, command.user_id),
        "image_id": command.image_id,
        "user_id": command.user_id,
        "job_id": image["job_id"],
        "image_owner": image["user_id"],
        "score": command.score,
        "comment": command.comment,
        "message_id": command.message_id,
        "occurred_at": command.occurred_at,
        "recorded_at": utcnow(),
    }


async def raw_rates(client: AsyncMongoClient, commands: list[RateLogo], images: dict, batch: int) -> dict:
    rates = {}
    for name in ("insert_one", "insert_many"):
        collection = client[f"bench_raw_{uuid.uuid4().hex[:8]}"].ratings
        await collection.create_index([("image_id", ASCENDING), ("user_id", ASCENDING)], unique=True)
        documents = [stored_rating(command, images[command.image_id]) for command in commands]
        started = time.perf_counter()
        if name == "insert_one":
            for document in documents:
                await collection.insert_one(document)
        else:
            for start in range(0, len(documents), batch):
                await collection.insert_many(documents[start : start + batch])
        rates[name] = len(documents) / (time.perf_counter() - started)
        await client.drop_database(collection.database.name)
    return rates


async def publish_all(rabbit_url: str, commands: list[RateLogo]) -> None:
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(COMMANDS.name)
        events = await channel.get_exchange(EVENTS.name)
        listener = await channel.declare_queue("bench.rating-events", durable=True)
        await listener.bind(events, routing_key="rating.recorded")
        for start in range(0, len(commands), 500):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            command.model_dump_json().encode(),
                            content_type="application/json",
                            message_id=command.message_id,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=command.routing_key,
                    )
                    for command in commands[start : start + 500]
                )
            )


async def broker_rate(settings: RatingsSettings, db, commands: list[RateLogo]) -> float:
    broker = make_broker(settings.rabbit_url)
    await broker.connect()
    await declare_topology(broker)
    await broker.stop()
    await publish_all(settings.rabbit_url, commands)
    started = time.perf_counter()
    async with TestApp(build_ratings(settings)):
        # Polling the store is the measurement: done means all N ratings are in MongoDB.
        while await db.ratings.count_documents({}) < len(commands):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
    return len(commands) / elapsed


async def one_round(args: argparse.Namespace, client: AsyncMongoClient, rabbit_url: str) -> dict[str, float]:
    """Raw inserts and the broker path, on a fresh database of seeded images; ratings per second of each."""
    database = f"bench_{uuid.uuid4().hex[:8]}"
    db = client[database]
    images = await seed_images(db, args.images)
    commands = make_commands(images, args.ratings)
    rates = await raw_rates(client, commands, {image["_id"]: image for image in images}, args.batch_size)
    settings = RatingsSettings(
        rabbit_url=rabbit_url,
        mongo_url=args.mongo_url,
        mongo_db=database,
        ratings_prefetch=args.prefetch,
        ratings_batch_size=args.batch_size,
        log_level="WARNING",
    )
    rates["broker"] = await broker_rate(settings, db, commands)
    rates["runs"] = await db.training_runs.count_documents({})
    await client.drop_database(database)
    return rates


async def run(args: argparse.Namespace, rabbit_url: str) -> None:
    client = AsyncMongoClient(args.mongo_url, tz_aware=True)
    rounds = []
    for number in range(1, args.rounds + 1):
        rates = await one_round(args, client, rabbit_url)
        rounds.append(rates)
        print(
            f"round {number}: insert_one {rates['insert_one']:6.0f}/s  insert_many {rates['insert_many']:6.0f}/s  "
            f"broker {rates['broker']:6.0f}/s  ratio {rates['broker'] / rates['insert_one']:.2f}"
            f"  (training runs started: {rates['runs']:.0f})"
        )
    await client.close()

    names = ("insert_one", "insert_many", "broker")
    median = {name: statistics.median(rates[name] for rates in rounds) for name in names}
    print(
        f"ratings: {args.ratings} over {args.images} images; prefetch {args.prefetch}, batch {args.batch_size}; "
        f"medians of {args.rounds} rounds"
    )
    print(f"raw insert_one:               {median['insert_one']:8.0f} ratings/s")
    print(f"raw insert_many (batch {args.batch_size:4d}): {median['insert_many']:8.0f} ratings/s")
    print(f"through broker + service:     {median['broker']:8.0f} ratings/s")
    print(f"ratio vs insert_one:  {median['broker'] / median['insert_one']:.2f}  (target >= 0.5)")
    print(f"ratio vs insert_many: {median['broker'] / median['insert_many']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ratings", type=int, default=3000)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--prefetch", type=int, default=RatingsSettings.model_fields["ratings_prefetch"].default)
    parser.add_argument("--batch-size", type=int, default=RatingsSettings.model_fields["ratings_batch_size"].default)
    parser.add_argument("--rounds", type=int, default=3, help="repeat both measurements; medians are reported")
    parser.add_argument("--mongo-url", default=None)
    parser.add_argument("--rabbit-url", default=None)
    args = parser.parse_args()

    vhost = None
    rabbit_url = args.rabbit_url
    if rabbit_url is None:
        vhost = f"logoforge-bench-{uuid.uuid4().hex[:8]}"
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        rabbit_url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    mongo = None
    try:
        if args.mongo_url is None:
            mongo = SecantusMongo(Path(tempfile.mkdtemp(prefix="logoforge-bench-"))).start()
            args.mongo_url = mongo.url
        asyncio.run(run(args, rabbit_url))
    finally:
        if mongo is not None:
            mongo.stop()
        if vhost is not None:
            rabbitmqctl("delete_vhost", vhost)


if __name__ == "__main__":
    main()
