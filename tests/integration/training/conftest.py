"""Stores for the training tests: settings, S3 and MongoDB handles on the test's own bucket and database."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from services.settings import CommonSettings
from services.storage.s3 import ObjectStore
from tests.conftest import S3_KEY, S3_SECRET


@pytest.fixture
def store_env(s3_server, mongo_server, tmp_path: Path) -> dict:
    """Like `common_env` without a RabbitMQ vhost, for tests that only touch the stores."""
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
def settings(store_env: dict) -> CommonSettings:
    return CommonSettings(**store_env)


@pytest.fixture
async def store(settings: CommonSettings) -> ObjectStore:
    store = ObjectStore.from_settings(settings)
    await store.ensure_bucket()
    return store


@pytest.fixture
async def mongo_client(settings: CommonSettings) -> AsyncIterator[AsyncMongoClient]:
    client = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
def db(mongo_client: AsyncMongoClient, settings: CommonSettings):  # noqa: ANN201
    return mongo_client[settings.mongo_db]


@pytest.fixture
def trainer_settings(common_env: dict, model_dir: Path):  # noqa: ANN201
    from services.settings import TrainerSettings

    return TrainerSettings(**common_env, model=str(model_dir), torch_threads=1, progress_interval_s=0.0)


@pytest.fixture(scope="session")
def model_thread():  # noqa: ANN201
    """One training thread for the session, at one torch thread: other test processes share the 2 cores."""
    from workers.trainer.service import ModelThread

    thread = ModelThread(torch_threads=1)
    yield thread
    thread.close()
