"""RabbitMQ stopped and started again while jobs are submitted: every 202 is drawn, every 503 leaves nothing."""

import asyncio

import httpx
from faststream import TestApp
from pymongo import AsyncMongoClient

from logoforge.devstack import wait_until
from schemas.generation import job_id_for
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.settings import DEV_API_KEY
from tests.support import ServedApp
from workers.generator.app import build_generator

USER = "faults"
REQUEST = {"prompt": "a logo of a fox", "num_images": 1, "height": 64, "width": 64, "num_steps": 2}


async def ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/health/ready")).status_code == 200


async def test_readiness_and_answers_follow_the_broker(common_env, own_rabbit):
    settings = ApiSettings(**{**common_env, "rabbit_url": own_rabbit.url})
    mongo = AsyncMongoClient(settings.mongo_url)
    jobs = mongo[settings.mongo_db].jobs
    headers = {"X-API-Key": DEV_API_KEY, "X-User-Id": USER}
    async with (
        ServedApp(create_app(settings)) as served,
        httpx.AsyncClient(base_url=served.url, headers=headers, timeout=30) as client,
    ):
        await wait_until(lambda: ready(client), 30, "ready")
        own_rabbit.stop()

        async def broker_reported_down() -> bool:
            answer = await client.get("/health/ready")
            return answer.status_code == 503 and answer.json()["checks"]["rabbitmq"] != "ok"

        await wait_until(broker_reported_down, 10, "reported not ready once the broker stopped")
        refused = await client.post("/jobs", json=REQUEST, headers={"Idempotency-Key": "first"})
        assert refused.status_code == 503, refused.text
        job_id = job_id_for(USER, "first")
        assert (await client.get(f"/jobs/{job_id}")).status_code == 404
        assert [job["status"] async for job in jobs.find({})] == ["withdrawn"]  # hidden, never drawn

        own_rabbit.start()
        await wait_until(lambda: ready(client), 60, "ready again after the broker restarted")
        accepted = await client.post("/jobs", json=REQUEST, headers={"Idempotency-Key": "first"})
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["job_id"] == job_id_for(USER, "first")
        assert (await client.get(f"/jobs/{accepted.json()['job_id']}")).json()["status"] == "queued"
    await mongo.close()


async def test_a_broker_restart_under_submissions_loses_no_accepted_job_and_runs_no_refused_one(
    common_env, model_dir, shared_model, own_rabbit
):
    from workers.generator.settings import GeneratorSettings

    env = {**common_env, "rabbit_url": own_rabbit.url}
    settings = ApiSettings(**env)
    generator = build_generator(
        GeneratorSettings(**env, model=str(model_dir), progress_interval_s=0.0), model=shared_model
    )
    headers = {"X-API-Key": DEV_API_KEY, "X-User-Id": USER}
    answers: dict[str, int] = {}
    async with (
        TestApp(generator),
        ServedApp(create_app(settings)) as served,
        httpx.AsyncClient(base_url=served.url, headers=headers, timeout=30) as client,
    ):
        await wait_until(lambda: ready(client), 30, "ready")
        restarted, refused_while_down = asyncio.Event(), asyncio.Event()

        async def submit_until_restarted() -> None:
            """Submit one job after another until five more were accepted after the restart."""
            accepted_after_restart = 0
            for number in range(500):
                key = f"job-{number}"
                response = await client.post("/jobs", json=REQUEST, headers={"Idempotency-Key": key})
                answers[job_id_for(USER, key)] = response.status_code
                if response.status_code == 503:
                    refused_while_down.set()
                if restarted.is_set() and response.status_code == 202:
                    accepted_after_restart += 1
                    if accepted_after_restart == 5:
                        return

        async def some_submitted() -> bool:
            return len(answers) >= 5

        async def restart_after_some_jobs() -> None:
            await wait_until(some_submitted, 60, "five submissions")
            await asyncio.to_thread(own_rabbit.stop)
            await asyncio.wait_for(refused_while_down.wait(), 60)  # submissions go on meanwhile
            await asyncio.to_thread(own_rabbit.start)
            await wait_until(lambda: ready(client), 60, "ready again")
            restarted.set()

        await asyncio.gather(submit_until_restarted(), restart_after_some_jobs())
        accepted = {job for job, code in answers.items() if code == 202}
        refused = {job for job, code in answers.items() if code == 503}
        assert set(answers.values()) <= {202, 503}, answers
        assert refused, "the broker was stopped, yet no submission was refused"

        mongo = AsyncMongoClient(settings.mongo_url)
        jobs = mongo[settings.mongo_db].jobs

        async def all_accepted_succeeded() -> bool:
            return await jobs.count_documents({"_id": {"$in": list(accepted)}, "status": "succeeded"}) == len(accepted)

        try:
            await wait_until(all_accepted_succeeded, 180, "every accepted job drawn")
        except TimeoutError:
            left = await jobs.find({"_id": {"$in": list(accepted)}, "status": {"$ne": "succeeded"}}).to_list()
            undrawn = [(job["_id"], job["status"]) for job in left]
            raise AssertionError(f"{len(left)} accepted jobs not drawn: {undrawn}") from None
        # A refused job left at most a withdrawn record, which no reader sees and no generator draws.
        assert await jobs.count_documents({"_id": {"$in": list(refused)}, "status": {"$ne": "withdrawn"}}) == 0
        assert await jobs.count_documents({"status": {"$ne": "withdrawn"}}) == len(accepted)
        assert await mongo[settings.mongo_db].images.count_documents({"job_id": {"$in": list(refused)}}) == 0
        await mongo.close()
