"""`logoforge dev`: the whole stack on one machine with nothing configured.

RabbitMQ comes from the system; SeaweedFS (S3) and SecantusDB (MongoDB) are started as child processes
with their data under the data dir; the API, a generator, the ratings service, a trainer and the assets worker
run in this process, each model on its own thread. Each store is started only if nothing already listens where the
settings point. The Telegram bot is not started here: run `logoforge bot` beside it with a token.
"""

import asyncio
import logging
import signal
from contextlib import AsyncExitStack
from urllib.parse import urlparse

import httpx

from logoforge.devstack import DevStackError, SeaweedS3, SecantusMongo, port_open
from logoforge.serving import NotifyingServer, serve_until_listening
from services.api.settings import ApiSettings
from services.cluster import node_urls
from services.ratings.settings import RatingsSettings
from services.settings import DEV_ADMIN_KEY
from services.storage.jobs import JobStatus
from workers.generator.settings import GeneratorSettings
from workers.trainer.settings import TrainerSettings

logger = logging.getLogger(__name__)


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


def check_rabbitmq(url: str) -> None:
    nodes = [_host_port(node, 5672) for node in node_urls(url)]
    if not any(port_open(host, port) for host, port in nodes):
        where = ", ".join(f"{host}:{port}" for host, port in nodes)
        raise DevStackError(
            f"RabbitMQ is not reachable at {where}. Start it with `rabbitmq-server -detached` "
            "(Debian: `apt-get install rabbitmq-server`), or point LOGOFORGE_RABBIT_URL at one."
        )


def start_stores(settings: GeneratorSettings, stack: AsyncExitStack) -> list[str]:
    """Start SecantusDB and SeaweedFS where the settings point, unless something already listens there."""
    notes = []
    mongo_host, mongo_port = _host_port(settings.mongo_url, 27017)
    if port_open(mongo_host, mongo_port):
        notes.append(f"MongoDB    {settings.mongo_url} (already running)")
    else:
        mongo = SecantusMongo(settings.data_dir / "mongo", port=mongo_port).start()
        stack.callback(mongo.stop)
        notes.append(f"MongoDB    {mongo.url} (SecantusDB, data in {mongo.data_dir})")
    s3_host, s3_port = _host_port(settings.s3_endpoint or "http://127.0.0.1:8333", 8333)
    if port_open(s3_host, s3_port):
        notes.append(f"S3         {settings.s3_endpoint} (already running)")
    else:
        s3 = SeaweedS3(
            settings.data_dir / "s3", settings.s3_access_key, settings.s3_secret_key.get_secret_value(), port=s3_port
        ).start()
        stack.callback(s3.stop)
        notes.append(f"S3         {s3.endpoint} (SeaweedFS, bucket {settings.s3_bucket}, data in {s3.data_dir})")
    return notes


async def generate_once(api_url: str, api_key: str, prompt: str, size: int, steps: int) -> dict:
    """`POST /generate`; when the API answers 202 (still queued or drawing after its wait, e.g. behind other
    jobs), follow the job until it ends. The job id, seed, model and image URLs."""
    request = {"prompt": prompt, "num_images": 1, "height": size, "width": size, "num_steps": steps}
    async with httpx.AsyncClient(base_url=api_url, headers={"X-API-Key": api_key}, timeout=600) as client:
        response = await client.post("/generate", json=request)
        response.raise_for_status()
        if response.status_code != 202:
            return response.json()
        job_id = response.json()["job_id"]
        _print(f"Job {job_id} is still queued or drawing; following it")
        job = await _follow(client, job_id)
    if job["status"] != JobStatus.SUCCEEDED:
        raise DevStackError(f"job {job_id} {job['status']}: {job.get('error') or 'no images'}")
    return {"job_id": job_id, "seed": job["seed"], "model": job["model"], "images": [i["url"] for i in job["images"]]}


async def _follow(client: httpx.AsyncClient, job_id: str) -> dict:
    """The job once it ended: its server-sent events until the stream closes (at the end, or after the API's
    wait without news), then its record; again while it has not ended."""
    while True:
        async with client.stream("GET", f"/jobs/{job_id}/events") as events:
            events.raise_for_status()
            async for _ in events.aiter_lines():
                pass
        job = (await client.get(f"/jobs/{job_id}")).raise_for_status().json()
        if job["status"] in JobStatus.FINISHED:
            return job


async def run_dev(prompt: str | None = None, keep_running: bool = True, size: int = 512, steps: int = 20) -> int:
    import uvicorn

    from services.api.app import create_app
    from services.ratings.app import build_ratings
    from workers.assets.app import build_assets
    from workers.assets.settings import AssetsSettings
    from workers.generator.app import build_generator
    from workers.trainer.app import build_trainer

    api_settings = ApiSettings()
    # Every part runs in this one process, so the API's /metrics shows all their metrics: no worker opens a
    # metrics port of its own (metrics_port=None).
    # The generator signs the links in LogoGenerated with the API's key, for the API's address.
    generator_settings = GeneratorSettings(
        public_url=api_settings.public_url or f"http://{api_settings.host}:{api_settings.port}",
        url_signing_key=api_settings.url_signing_key,
        metrics_port=None,
    )
    ratings_settings = RatingsSettings(metrics_port=None)
    try:
        check_rabbitmq(generator_settings.rabbit_url)
    except DevStackError as error:
        logger.error("%s", error)
        return 2
    async with AsyncExitStack() as stack:
        try:
            notes = await asyncio.to_thread(start_stores, generator_settings, stack)
        except DevStackError as error:
            logger.error("%s", error)
            return 2
        generator = build_generator(generator_settings)
        assets_settings = AssetsSettings(
            public_url=generator_settings.public_url, url_signing_key=api_settings.url_signing_key, metrics_port=None
        )
        workers = [
            generator,
            build_ratings(ratings_settings),
            build_trainer(TrainerSettings(metrics_port=None)),
            build_assets(assets_settings),
        ]
        for worker in workers:
            await worker.start()
            stack.push_async_callback(worker.stop)
        config = uvicorn.Config(
            create_app(api_settings), host=api_settings.host, port=api_settings.port, log_level="warning"
        )
        server = NotifyingServer(config)
        api_url = f"http://{api_settings.host}:{api_settings.port}"
        try:
            serving = await serve_until_listening(server)
        except RuntimeError as error:
            logger.error("the API could not start: %s", error)
            return 2
        if generator.broker is None:  # build_generator always gives its app one
            raise RuntimeError("the generator app has no broker")
        generator_model = generator.broker.context.get("generator").model.name
        notes.append(
            f"Ratings    retraining once {ratings_settings.retrain_min_images} unused images score "
            f">= {ratings_settings.retrain_quality_bar}; Trainer on the same model"
        )
        admin_keys = [key.get_secret_value() for key in api_settings.admin_keys]
        development = f"; the development one: {DEV_ADMIN_KEY}" if DEV_ADMIN_KEY in admin_keys else ""
        drive = f"{api_url}/drive  (sign in with an admin key: LOGOFORGE_ADMIN_KEYS{development})"
        _announce(api_url, drive, generator_settings.rabbit_url, generator_model, notes)
        code = 0
        if prompt:
            try:
                result = await generate_once(
                    api_url, api_settings.api_keys[0].key.get_secret_value(), prompt, size, steps
                )
            except DevStackError as error:
                logger.error("%s", error)
                code, keep_running = 1, False
            else:
                _print(f"\nGenerated job {result['job_id']} (seed {result['seed']}, model {result['model']}):")
                for url in result["images"]:
                    _print(f"  {url}")
        if keep_running:
            await _until_signal()
        server.should_exit = True
        await serving
        return code


def _announce(api_url: str, drive: str, rabbit_url: str, model: str, notes: list[str]) -> None:
    rabbit = urlparse(node_urls(rabbit_url)[0])
    lines = [
        "LogoForge is up:",
        f"  API        {api_url}  (docs {api_url}/docs, broker contract {api_url}/asyncapi.json)",
        f"  Drive      {drive}",
        f"  Metrics    {api_url}/metrics  (Prometheus text: every part of this stack)",
        f"  RabbitMQ   {rabbit.hostname}:{rabbit.port or 5672}{rabbit.path or '/'}",
        *(f"  {note}" for note in notes),
        f"  Generator  model {model}",
    ]
    _print("\n".join(lines))


def _print(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - this is the command's own output


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
