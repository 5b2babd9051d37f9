"""What metrics and traces cost a consumer, side by side in one run.

    .venv/bin/python bench/observability_bench.py [--messages 2000] [--rounds 5]

The same consumer (a handler that validates a small JSON command and returns) on the real RabbitMQ, behind the
same delivery policy, two ways: as every LogoForge process runs it (`make_broker`: FastStream's telemetry and
Prometheus middlewares, and the tracer provider `configure_tracing` sets up, here with no OTEL_* variable: spans
with trace ids, not recorded) and bare (the delivery policy alone). Each round publishes `--messages` persistent,
confirmed messages and times until the consumer has handled them all; the sides alternate so that machine noise
falls on both, and medians are reported with their ratio (observed / bare).
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faststream.rabbit import RabbitBroker, RabbitQueue
from faststream.rabbit.schemas import Channel

from services.messaging import Backoff, DeliveryPolicy, make_broker
from services.observability import configure_tracing

RABBIT = "amqp://guest:guest@127.0.0.1:5672/"


def bare_broker() -> RabbitBroker:
    broker = RabbitBroker(RABBIT, default_channel=Channel(prefetch_count=64, publisher_confirms=True), log_level=10)
    broker.add_middleware(lambda msg, context: DeliveryPolicy(msg, context=context, broker=broker, backoff=Backoff()))
    return broker


async def one_round(broker: RabbitBroker, messages: int) -> float:
    queue = RabbitQueue(f"bench.observability.{uuid.uuid4().hex[:8]}", auto_delete=True)
    done = asyncio.Event()
    seen = 0

    @broker.subscriber(queue)
    async def handle(body: dict) -> None:
        nonlocal seen
        assert body["prompt"]
        seen += 1
        if seen == messages:
            done.set()

    async with broker:
        await broker.start()
        body = {"prompt": "a logo of a fox", "num_images": 1, "seed": 7}
        started = time.perf_counter()
        await asyncio.gather(*(broker.publish(body, queue, persist=True) for _ in range(messages)))
        await asyncio.wait_for(done.wait(), 300)
        return time.perf_counter() - started


async def main(messages: int, rounds: int) -> None:
    configure_tracing("logoforge-bench")  # as every process: with no OTEL_* variable set, spans are not recorded
    times: dict[str, list[float]] = {"observed": [], "bare": []}
    for _ in range(rounds):
        times["observed"].append(await one_round(make_broker(RABBIT, prefetch=64), messages))
        times["bare"].append(await one_round(bare_broker(), messages))
    medians = {side: statistics.median(values) for side, values in times.items()}
    report = {
        "messages": messages,
        "rounds": rounds,
        "median_s": {side: round(value, 3) for side, value in medians.items()},
        "messages_per_s": {side: round(messages / value) for side, value in medians.items()},
        "us_per_message": {side: round(value / messages * 1e6, 1) for side, value in medians.items()},
        "ratio_observed_over_bare": round(medians["observed"] / medians["bare"], 3),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.messages, arguments.rounds))
