"""Fault runs at size: kill -9 generators mid-job, restart RabbitMQ under submissions, stop MongoDB and S3.

    .venv/bin/python bench/faults.py [--jobs 100] [--kills 10] [--submissions 200] [--outage-s 30]

Everything runs as separate processes on this machine: a RabbitMQ node of its own (so it can be stopped),
SecantusDB, SeaweedFS, `logoforge api` and `logoforge generator` on the tiny model (64×64, 4 steps, one
image per job). Each scenario prints one row: what was accepted, what finished, what was lost or drawn
twice. The small versions of these runs are tests (tests/faults, tests/integration); this is the report.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logoforge.devstack import LocalRabbitMQ, SeaweedS3, SecantusMongo, free_port, wait_until
from logoforge.processes import LogoforgeProcess
from schemas.generation import job_id_for
from services.ops.queues import replay
from services.settings import DEV_API_KEY

USER = "faults"
REQUEST = {"prompt": "a logo of a fox", "num_images": 1, "height": 64, "width": 64, "num_steps": 4}


@dataclass
class Row:
    scenario: str
    submitted: int
    accepted: int
    refused: int
    succeeded: int
    replayed: int  # dead-lettered during the fault, then re-driven by `ops replay` and drawn
    lost: int
    extra_images: int
    seconds: float


class Stack:
    """RabbitMQ (own node), SecantusDB, SeaweedFS, one API and one generator, all killable."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rabbit = LocalRabbitMQ(folder / "rabbitmq")
        self.mongo = SecantusMongo(folder / "mongo")
        self.s3 = SeaweedS3(folder / "s3", "faults", "faults-secret")
        self.api_port = free_port()
        self.generators: list[LogoforgeProcess] = []

    def start(self) -> None:
        self.rabbit.start()
        self.mongo.start()
        self.s3.start()
        self.api = LogoforgeProcess(self.env, "api", "--port", str(self.api_port), log_path=self.folder / "api.log")
        self.api.start()

    @property
    def env(self) -> dict[str, str]:
        return {
            "LOGOFORGE_RABBIT_URL": self.rabbit.url,
            "LOGOFORGE_MONGO_URL": self.mongo.url,
            "LOGOFORGE_MONGO_DB": "faults",
            "LOGOFORGE_S3_ENDPOINT": self.s3.endpoint,
            "LOGOFORGE_S3_ACCESS_KEY": "faults",
            "LOGOFORGE_S3_SECRET_KEY": "faults-secret",
            "LOGOFORGE_DATA_DIR": str(self.folder / "data"),
            "LOGOFORGE_PROGRESS_INTERVAL_S": "0",
        }

    def start_generator(self) -> LogoforgeProcess:
        log = self.folder / f"generator-{len(self.generators)}.log"
        generator = LogoforgeProcess(self.env, "generator", log_path=log).start()
        self.generators.append(generator)
        return generator

    def stop(self) -> None:
        for process in [*self.generators, self.api]:
            process.stop()
        self.s3.stop()
        self.mongo.stop()
        self.rabbit.stop()


class Run:
    def __init__(self, stack: Stack, client: httpx.AsyncClient) -> None:
        self.stack = stack
        self.client = client
        self.answers: dict[str, int] = {}
        self.mongo = AsyncMongoClient(stack.mongo.url, serverSelectionTimeoutMS=2000)

    async def ready(self) -> bool:
        try:
            return (await self.client.get("/health/ready")).status_code == 200
        except httpx.HTTPError:
            return False

    async def submit(self, key: str) -> int:
        try:
            response = await self.client.post("/jobs", json=REQUEST, headers={"Idempotency-Key": key})
            code = response.status_code
        except httpx.HTTPError:
            code = 0  # no answer at all: counted as refused by the client, checked like a 503
        self.answers[job_id_for(USER, key)] = code
        return code

    async def succeeded(self, jobs: set[str]) -> int:
        return await self.count(jobs, "succeeded")

    async def count(self, jobs: set[str], status: str) -> int:
        return await self.mongo.faults.jobs.count_documents({"_id": {"$in": list(jobs)}, "status": status})

    async def settle(self, jobs: set[str], what: str) -> None:
        """Wait until every job has ended, drawn or failed (dead-lettered)."""

        async def ended() -> bool:
            return await self.count(jobs, "succeeded") + await self.count(jobs, "failed") == len(jobs)

        await wait_until(ended, 900, what)

    async def row(self, scenario: str, started: float) -> Row:
        accepted = {job for job, code in self.answers.items() if code == 202}
        refused = set(self.answers) - accepted

        await self.settle(accepted, f"{scenario}: every accepted job ended")
        # What an operator does after an outage outlasted the retries: look, then replay the dead letters.
        failed = await self.count(accepted, "failed")
        if failed:
            await replay(self.stack.rabbit.url, "generate")

            async def all_drawn() -> bool:
                return await self.succeeded(accepted) == len(accepted)

            await wait_until(all_drawn, 900, f"{scenario}: every replayed job drawn")
        seconds = time.monotonic() - started
        db = self.mongo.faults
        visible_refused = await db.jobs.count_documents(
            {"_id": {"$in": list(refused)}, "status": {"$nin": ["withdrawn", "accepting"]}}
        )
        images = await db.images.count_documents({"job_id": {"$in": list(accepted)}})
        return Row(
            scenario,
            len(self.answers),
            len(accepted),
            len(refused),
            await self.succeeded(accepted),
            failed,
            len(accepted) - await self.succeeded(accepted) + visible_refused,
            images - len(accepted) * REQUEST["num_images"],
            seconds,
        )


async def generator_killed(run: Run, jobs: int, kills: int) -> Row:
    started = time.monotonic()
    for number in range(jobs):
        await run.submit(f"kill-{uuid.uuid4().hex[:6]}-{number}")
    accepted = {job for job, code in run.answers.items() if code == 202}
    generator = run.stack.start_generator()
    for kill in range(kills):
        target = (kill + 1) * len(accepted) // (kills + 1)

        async def reached(count: int = target) -> bool:
            return await run.succeeded(accepted) >= count

        await wait_until(reached, 300, f"{target} jobs drawn")
        generator.kill()
        generator = run.stack.start_generator()
    return await run.row(f"generator kill -9 ×{kills}", started)


async def broker_restarted(run: Run, submissions: int, restarts: int) -> Row:
    started = time.monotonic()
    run.answers.clear()
    every = max(1, submissions // (restarts + 1))
    restart_count = restarts
    for number in range(submissions):
        await run.submit(f"broker-{number}")
        if number % every == every - 1 and restarts > 0:
            restarts -= 1
            await asyncio.to_thread(run.stack.rabbit.stop)
            for extra in range(5):  # submissions while it is down
                await run.submit(f"broker-{number}-down-{extra}")
            await asyncio.to_thread(run.stack.rabbit.start)
            await wait_until(run.ready, 60, "the API connected again")  # as a client would, before going on
    return await run.row(f"RabbitMQ restarted ×{restart_count} under submissions", started)


async def store_stopped(run: Run, submissions: int, outage_s: float, which: str) -> Row:
    started = time.monotonic()
    run.answers.clear()
    server = run.stack.mongo if which == "MongoDB" else run.stack.s3
    half = submissions // 2
    for number in range(half):
        await run.submit(f"{which}-{number}")
    await asyncio.to_thread(server.stop)
    outage_end = time.monotonic() + outage_s
    number = half
    while time.monotonic() < outage_end:
        await run.submit(f"{which}-{number}")
        number += 1
        await asyncio.sleep(0.1)
    await asyncio.to_thread(server.start)
    for extra in range(submissions - half):
        await run.submit(f"{which}-after-{extra}")
    return await run.row(f"{which} stopped {outage_s:.0f} s", started)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="logoforge-faults-") as tmp:
        stack = Stack(Path(tmp))
        stack.start()
        headers = {"X-API-Key": DEV_API_KEY, "X-User-Id": USER}
        base = f"http://127.0.0.1:{stack.api_port}"
        try:
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
                run = Run(stack, client)
                await wait_until(run.ready, 120, "API ready")
                print(
                    "| scenario | submitted | 202 | 503 | succeeded | of which replayed | lost "
                    "| drawn twice (extra images) | seconds |"
                )
                print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
                for scenario in (
                    lambda: generator_killed(run, args.jobs, args.kills),
                    lambda: broker_restarted(run, args.submissions, 3),
                    lambda: store_stopped(run, args.submissions, args.outage_s, "MongoDB"),
                    lambda: store_stopped(run, args.submissions, args.outage_s, "S3"),
                ):
                    r = await scenario()
                    print(
                        f"| {r.scenario} | {r.submitted} | {r.accepted} | {r.refused} | {r.succeeded} "
                        f"| {r.replayed} | {r.lost} | {r.extra_images} | {r.seconds:.0f} |",
                        flush=True,
                    )
        finally:
            stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--outage-s", type=float, default=30)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(parser.parse_args()))
