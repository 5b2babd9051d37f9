"""Stores for the training tests: settings, S3 and MongoDB handles on the test's own bucket and database."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from services.settings import CommonSettings
from services.storage.s3 import ObjectStore


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
def db(mongo_client: AsyncMongoClient, settings: CommonSettings):
    return mongo_client[settings.mongo_db]


@pytest.fixture
def trainer_settings(common_env: dict, model_dir: Path):
    from workers.trainer.settings import TrainerSettings

    return TrainerSettings(**common_env, model=str(model_dir), torch_threads=1, progress_interval_s=0.0)


@pytest.fixture(scope="session")
def model_thread():
    """One training thread for the session, at one torch thread: other test processes share the 2 cores."""
    from workers.trainer.service import ModelThread

    thread = ModelThread(torch_threads=1)
    yield thread
    thread.close()
