"""Fixtures for the ratings service against real RabbitMQ and SecantusDB."""

import pytest
from faststream import TestApp
from pymongo import AsyncMongoClient

from services.ratings.app import build_ratings
from services.ratings.settings import RatingsSettings


@pytest.fixture
def ratings_settings(common_env: dict) -> RatingsSettings:
    # One 5 scores 1.83; a bar of 1.5 lets a single good rating qualify, so tests stay small.
    return RatingsSettings(**common_env, retrain_quality_bar=1.5, retrain_min_images=6, retrain_max_images=100)


@pytest.fixture
async def db(ratings_settings: RatingsSettings):
    client = AsyncMongoClient(ratings_settings.mongo_url, tz_aware=True)
    yield client[ratings_settings.mongo_db]
    await client.close()


@pytest.fixture
async def ratings_app(ratings_settings: RatingsSettings):
    app = build_ratings(ratings_settings)
    async with TestApp(app):
        yield app
