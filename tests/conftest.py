"""Real services for the tests: RabbitMQ (a fresh vhost per test), SeaweedFS S3, SecantusDB, the tiny model."""

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from logoforge.devstack import SeaweedS3, SecantusMongo
from services.api.settings import ApiSettings
from workers.generator.settings import GeneratorSettings

RABBIT = "amqp://guest:guest@127.0.0.1:5672"
S3_KEY, S3_SECRET = "logoforge-test", "logoforge-test-secret"


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    server = SeaweedS3(tmp_path_factory.mktemp("seaweed"), S3_KEY, S3_SECRET).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecantusMongo]:
    server = SecantusMongo(tmp_path_factory.mktemp("secantus"), test_commands=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workers.tiny_model import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-random-sd")


@pytest.fixture
def vhost() -> Iterator[str]:
    """A fresh RabbitMQ vhost per test, so queues and dead letters never leak between tests."""
    name = f"logoforge-test-{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield name
    _rabbitmqctl("delete_vhost", name)


@pytest.fixture
def rabbit_url(vhost: str) -> str:
    return f"{RABBIT}/{vhost}"


@pytest.fixture
def store_env(s3_server: SeaweedS3, mongo_server: SecantusMongo, tmp_path: Path) -> dict:
    """Settings for the stores of one test: its own database and bucket."""
    suffix = uuid.uuid4().hex[:10]
    return {
        "mongo_url": mongo_server.url,
        "mongo_db": f"test_{suffix}",
        "s3_endpoint": s3_server.endpoint,
        "s3_bucket": f"test-{suffix}",
        "s3_access_key": S3_KEY,
        "s3_secret_key": S3_SECRET,
        "data_dir": tmp_path / "data",
    }


@pytest.fixture
def common_env(rabbit_url: str, store_env: dict) -> dict:
    """Settings shared by every process of one test: its own vhost, database and bucket."""
    return {**store_env, "rabbit_url": rabbit_url, "retry_backoff_s": 0.05, "retry_backoff_max_s": 0.2}


@pytest.fixture
def generator_settings(common_env: dict, model_dir: Path) -> GeneratorSettings:
    return GeneratorSettings(**common_env, model=str(model_dir), progress_interval_s=0.0)


@pytest.fixture
def api_settings(common_env: dict) -> ApiSettings:
    return ApiSettings(**common_env, generate_timeout_s=60)


@pytest.fixture(scope="session")
async def shared_model(model_dir: Path) -> AsyncIterator:
    """One loaded tiny pipeline for the whole session; apps borrow it and never close it."""
    from workers.generator.pipeline import DiffusionModel

    model = DiffusionModel(GeneratorSettings(model=str(model_dir)))
    await model.load()
    yield model
    await model.close()


@pytest.fixture
async def events(rabbit_url: str) -> AsyncIterator:
    """Every event published on the test's vhost, to wait on."""
    from tests.support import EventCollector

    async with EventCollector(rabbit_url) as collector:
        yield collector
