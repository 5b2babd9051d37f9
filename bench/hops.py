"""What each hop of a generation costs on this machine, warm and right after the model ran, side by side.

    .venv/bin/python bench/hops.py [--runs 30] [--size 64] [--steps 4] [--images 1]

A `/generate` request crosses these hops one after another, whatever the code around them does: the HTTP
request and its answer, the command through RabbitMQ (a quorum queue, confirmed), the PNG upload to S3, the
job's completion in MongoDB, and the LogoGenerated event through RabbitMQ back to the API. Each is timed
against the real local services twice: "warm", right after the same hop, and "after the model", right after
the tiny pipeline drew (as in the generator, on another thread), when the services have sat idle for the
model's duration. The sum of the after-model medians is the least that `/generate` can add to the model on
this machine; it is printed with the model's own median for comparison with api_latency.py's ratio.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aio_pika
import httpx
from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api_latency import SEED_PROMPT, load_pipeline, wait_ready
from bench.common import child, local_services, settings_fields
from logoforge.devstack import free_port
from services.settings import CommonSettings
from services.storage.s3 import ObjectStore

Hop = Callable[[], Awaitable[None]]


async def rabbit_hop(url: str) -> tuple[Hop, Callable[[], Awaitable[None]]]:
    """Publish (confirmed, persistent) to a quorum queue and wait until this process's consumer has it."""
    connection = await aio_pika.connect(url)
    publisher = await connection.channel(publisher_confirms=True)
    consumer = await connection.channel()
    queue = await consumer.declare_queue(
        f"bench.hops.{uuid.uuid4().hex[:8]}", durable=True, arguments={"x-queue-type": "quorum"}
    )
    arrived: asyncio.Queue[None] = asyncio.Queue()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()
        arrived.put_nowait(None)

    await queue.consume(on_message)

    async def hop() -> None:
        body = aio_pika.Message(b"{}" * 400, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await publisher.default_exchange.publish(body, routing_key=queue.name)
        await arrived.get()

    async def close() -> None:
        await queue.delete(if_unused=False, if_empty=False)
        await connection.close()

    return hop, close


async def measure(runs: int, size: int, steps: int, images: int) -> None:
    from workers.tiny_model import build_tiny_pipeline

    with local_services() as env, tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_pipeline(Path(tmp) / "tiny")
        port = free_port()
        env = {**env, "LOGOFORGE_PORT": str(port)}
        settings = CommonSettings(**settings_fields(env))
        pipeline = load_pipeline(model_dir)
        png = b"\x89PNG" + os.urandom(12_000)  # the size of a 64x64 PNG the tiny model draws
        store = ObjectStore.from_settings(settings)
        await store.ensure_bucket()
        mongo = AsyncMongoClient(settings.mongo_url)
        jobs = mongo[settings.mongo_db].bench_jobs
        rabbit, close_rabbit = await rabbit_hop(settings.rabbit_url)

        def draw() -> None:
            import torch

            with torch.inference_mode():
                pipeline(
                    prompt=SEED_PROMPT,
                    num_images_per_prompt=images,
                    height=size,
                    width=size,
                    num_inference_steps=steps,
                    guidance_scale=8.5,
                )

        model_thread = ThreadPoolExecutor(max_workers=1)  # one thread for the model, as in the generator
        with child(["api"], env, Path(tmp) / "api.log"):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                await wait_ready(client)

                async def http() -> None:
                    (await client.get("/health/live")).raise_for_status()

                async def s3_put() -> None:
                    await store.put(f"images/bench-hops/{uuid.uuid4().hex}.png", png, "image/png")

                async def mongo_write() -> None:
                    await jobs.update_one({"_id": uuid.uuid4().hex}, {"$set": {"status": "succeeded"}}, upsert=True)

                hops: dict[str, Hop] = {
                    "HTTP round trip (GET /health/live)": http,
                    "RabbitMQ publish -> consume (quorum)": rabbit,
                    "S3 put (12 kB PNG, boto3)": s3_put,
                    "MongoDB write (update by _id)": mongo_write,
                }
                warm: dict[str, list[float]] = {name: [] for name in hops}
                cold: dict[str, list[float]] = {name: [] for name in hops}
                model: list[float] = []
                for _ in range(runs):
                    for name, hop in hops.items():
                        await hop()
                        started = time.perf_counter()
                        await hop()
                        warm[name].append(time.perf_counter() - started)
                        started = time.perf_counter()
                        await asyncio.get_running_loop().run_in_executor(model_thread, draw)
                        model.append(time.perf_counter() - started)
                        started = time.perf_counter()
                        await hop()
                        cold[name].append(time.perf_counter() - started)
        model_thread.shutdown()
        await close_rabbit()
        await mongo.close()

    print(f"runs: {runs} per hop; model: tiny pipeline, {size}x{size}, {steps} steps, {images} image(s), CPU")
    print(f"{'hop':40s} {'warm':>9s} {'after the model':>16s}")
    for name in hops:
        warm_ms, cold_ms = statistics.median(warm[name]) * 1e3, statistics.median(cold[name]) * 1e3
        print(f"{name:40s} {warm_ms:7.2f} ms {cold_ms:13.2f} ms")
    # /generate's serial chain: HTTP (in and out), two broker hops, one S3 put, one MongoDB write.
    names = list(hops)
    chain = [names[0], names[1], names[2], names[3], names[1]]
    least = sum(statistics.median(cold[name]) for name in chain)
    model_s = statistics.median(model)
    print(
        f"model median {model_s * 1e3:.1f} ms; least added by the chain after the model {least * 1e3:.1f} ms "
        f"-> ratio no lower than {(model_s + least) / model_s:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--images", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(measure(args.runs, args.size, args.steps, args.images))


if __name__ == "__main__":
    main()
