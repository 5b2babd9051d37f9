"""A three-node RabbitMQ cluster on this machine: nodes stop one after another while jobs flow, and nothing is lost.

The API and two generators are given the node list; when the node they are on stops, they move to a surviving
node by themselves (services/cluster.py), and the quorum queues keep every accepted command.
"""

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from faststream import TestApp
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from logoforge.devstack import LocalRabbitCluster, LocalRabbitMQ, wait_until
from schemas.generation import job_id_for
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.cluster import ClusterBroker
from services.settings import DEV_API_KEY
from tests.support import ServedApp
from workers.generator.app import build_generator
from workers.generator.settings import GeneratorSettings

USER = "cluster"
REQUEST = {"prompt": "a logo of a fox", "num_images": 1, "height": 64, "width": 64, "num_steps": 1}


@pytest.fixture
def cluster(tmp_path) -> Iterator[LocalRabbitCluster]:
    if not LocalRabbitMQ.available():
        pytest.skip("RabbitMQ's server scripts are not installed (apt-get install rabbitmq-server)")
    cluster = LocalRabbitCluster(tmp_path / "cluster")
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_jobs_flow_while_nodes_stop_one_after_another(cluster, store_env, model_dir):
    assert len(cluster.running()) == 3
    env = {**store_env, "rabbit_url": cluster.url, "retry_backoff_s": 0.05, "retry_backoff_max_s": 0.2}
    api = create_app(ApiSettings(**env))
    generators = [
        build_generator(GeneratorSettings(**env, model=str(model_dir), progress_interval_s=0.0)) for _ in range(2)
    ]
    brokers: list[ClusterBroker] = [api.state.context.gateway.broker, *(g.broker for g in generators)]
    drawn_before = counted("logoforge_job_outcomes_total", channel="api", outcome="succeeded")
    delivered_before = counted(
        "faststream_received_messages_total",
        app_name="logoforge",
        broker="rabbitmq",
        handler="logoforge.commands.generate",
    )
    headers = {"X-API-Key": DEV_API_KEY, "X-User-Id": USER}
    answers: dict[str, int] = {}
    phases: list[tuple[str, int]] = []  # (what happened, submissions answered until then)

    first, second = cluster.nodes[0], cluster.nodes[1]
    async with (
        TestApp(generators[0]),
        TestApp(generators[1]),
        ServedApp(api) as served,
        httpx.AsyncClient(base_url=served.url, headers=headers, timeout=60) as client,
    ):
        assert all(f":{first.port}/" in broker.node for broker in brokers)  # the first node that answers
        done = asyncio.Event()

        async def submit_until_done() -> None:
            number = 0
            while not done.is_set():
                key = f"job-{number}"
                response = await client.post("/jobs", json=REQUEST, headers={"Idempotency-Key": key})
                answers[job_id_for(USER, key)] = response.status_code
                number += 1

        def accepted_count() -> int:
            return sum(1 for code in answers.values() if code == 202)

        async def accepted_more(count: int, what: str) -> None:
            target = accepted_count() + count

            async def reached() -> bool:
                return accepted_count() >= target

            await wait_until(reached, 120, f"{count} more jobs accepted {what}")

        async def stop_nodes_in_turn() -> None:
            await accepted_more(5, "at first")
            for node, name in ((first, "first"), (second, "second")):
                await asyncio.to_thread(node.stop)
                phases.append((f"{name} node stopped", len(answers)))
                await accepted_more(5, f"with the {name} node down")
                # Every process left the stopped node for a surviving one, by itself.
                assert all(f":{node.port}/" not in broker.node for broker in brokers)
                await asyncio.to_thread(node.start)
                phases.append((f"{name} node back", len(answers)))
                await accepted_more(5, f"with the {name} node back")
            done.set()

        await asyncio.gather(submit_until_done(), stop_nodes_in_turn())
        assert len(cluster.running()) == 3

        accepted = {job for job, code in answers.items() if code == 202}
        refused = {job for job, code in answers.items() if code == 503}
        assert set(answers.values()) <= {202, 503}, answers
        mongo = AsyncMongoClient(env["mongo_url"])
        jobs = mongo[env["mongo_db"]].jobs

        async def all_accepted_succeeded() -> bool:
            succeeded = {"_id": {"$in": list(accepted)}, "status": "succeeded"}
            return await jobs.count_documents(succeeded) == len(accepted)

        try:
            await wait_until(all_accepted_succeeded, 240, "every accepted job drawn")
        except TimeoutError:
            left = await jobs.find({"_id": {"$in": list(accepted)}, "status": {"$ne": "succeeded"}}).to_list()
            raise AssertionError(f"{len(left)} accepted jobs not drawn: {[j['status'] for j in left]}") from None
        assert await jobs.count_documents({"status": {"$nin": ["succeeded", "withdrawn"]}}) == 0
        assert await jobs.count_documents({"_id": {"$in": list(refused)}, "status": {"$ne": "withdrawn"}}) == 0
        # Exactly once in effect: one record per job (its id), one image record per image, whichever deliveries drew it.
        images = mongo[env["mongo_db"]].images
        assert await images.count_documents({"job_id": {"$in": list(accepted)}}) == len(accepted)
        assert await images.count_documents({"job_id": {"$in": list(refused)}}) == 0
        await mongo.close()

    # How often the model ran for them: a redelivered job already recorded is only announced again, so this is at
    # most the deliveries; it can be a little under the jobs, when a lost connection cancelled a handler after
    # its record was written (its redelivery then finds the job done).
    drawn = counted("logoforge_job_outcomes_total", channel="api", outcome="succeeded") - drawn_before
    delivered = (
        counted(
            "faststream_received_messages_total",
            app_name="logoforge",
            broker="rabbitmq",
            handler="logoforge.commands.generate",
        )
        - delivered_before
    )
    assert delivered >= len(accepted)
    assert 0.9 * len(accepted) <= drawn <= delivered
    # RabbitMQ's own metrics (rabbitmq_prometheus) name what the Grafana dashboard charts; a quorum queue's are
    # reported by the node that leads it now, wherever the restarts left it.
    async with httpx.AsyncClient() as plain:
        pages = [
            (
                await plain.get(
                    f"http://127.0.0.1:{node.prometheus_port}/metrics/detailed",
                    params={"family": "queue_coarse_metrics"},
                )
            ).text
            for node in cluster.nodes
        ]
    assert any('rabbitmq_detailed_queue_messages{vhost="/",queue="generate"}' in page for page in pages)
    report = {
        "submitted": len(answers),
        "accepted": len(accepted),
        "refused_503": len(refused),
        "succeeded": len(accepted),
        "drawn": int(drawn),
        "generate_deliveries": int(delivered),
        "phases": phases,
    }
    print("cluster run:", json.dumps(report))
