"""kill -9 a generator in the middle of jobs, again and again: every job succeeds exactly once, none is lost."""

from pymongo import AsyncMongoClient

from logoforge.processes import LogoforgeProcess
from services.messaging import declare_topology, make_broker
from services.storage.s3 import ObjectStore
from tests.support import drain_queue, publish_commands, small_job

JOBS = 10
IMAGES_PER_JOB = 2
KILLS = 3


async def test_a_generator_killed_mid_job_loses_and_duplicates_nothing(
    generator_settings, rabbit_url, events, tmp_path
):
    jobs = [small_job(n, images=IMAGES_PER_JOB) for n in range(JOBS)]
    job_ids = {job.correlation_id for job in jobs}
    broker = make_broker(rabbit_url)
    await broker.connect()
    await declare_topology(broker)
    await broker.stop()
    await publish_commands(rabbit_url, jobs)

    def completed() -> set[str]:
        return {e.body["correlation_id"] for e in events.received if e.routing_key == "generation.completed"}

    for kill in range(KILLS):
        generator = LogoforgeProcess(generator_settings, "generator", log_path=tmp_path / f"generator-{kill}.log")
        generator.start()
        # Kill it while a job it has not finished is drawing: a progress event of an unfinished job.
        done_before = completed()
        await events.wait(
            lambda e, done=done_before: (
                e.routing_key == "generation.progress" and e.body["correlation_id"] not in done and e.body["step"] >= 2
            ),
            timeout_s=120,
            what=f"a job drawing (kill {kill + 1})",
        )
        generator.kill()

    survivor = LogoforgeProcess(generator_settings, "generator", log_path=tmp_path / "generator-last.log").start()
    try:
        for job_id in job_ids:
            await events.for_job(job_id, "generation.completed", timeout_s=240)
    finally:
        survivor.stop()

    client = AsyncMongoClient(generator_settings.mongo_url)
    records = await client[generator_settings.mongo_db].jobs.find({}).to_list()
    await client.close()
    assert {r["_id"] for r in records} == job_ids
    assert all(r["status"] == "succeeded" and len(r["images"]) == IMAGES_PER_JOB for r in records)
    store = ObjectStore.from_settings(generator_settings)
    keys = await store.list_keys("images/")
    assert sorted(keys) == sorted(f"images/{j}/{n}.png" for j in job_ids for n in range(IMAGES_PER_JOB))
    assert await drain_queue(rabbit_url, "generate.dead") == []
