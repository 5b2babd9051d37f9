"""Fixtures for ratings, history and best-of over HTTP: the API, the generator and the ratings service."""

import httpx
import pytest
from faststream import TestApp
from pymongo import AsyncMongoClient

from services.ratings.app import build_ratings
from services.ratings.settings import RatingsSettings
from services.settings import DEV_ADMIN_KEY, DEV_API_KEY


@pytest.fixture
def api_settings(common_env: dict):
    from services.api.settings import ApiSettings

    # Same retraining policy as the ratings service below: a single good rating qualifies, 6 images start a run.
    return ApiSettings(**common_env, generate_timeout_s=60, retrain_quality_bar=1.5, retrain_min_images=6)


@pytest.fixture
async def ratings_service(common_env: dict):
    app = build_ratings(RatingsSettings(**common_env, retrain_quality_bar=1.5, retrain_min_images=6))
    async with TestApp(app):
        yield app


@pytest.fixture
async def db(common_env: dict):
    client = AsyncMongoClient(common_env["mongo_url"], tz_aware=True)
    yield client[common_env["mongo_db"]]
    await client.close()


def _client(api, key: str, user_id: str | None) -> httpx.AsyncClient:
    headers = {"X-API-Key": key} | ({"X-User-Id": user_id} if user_id else {})
    return httpx.AsyncClient(base_url=api.url, headers=headers, timeout=120)


@pytest.fixture
async def alice(api):
    async with _client(api, DEV_API_KEY, "alice") as client:
        yield client


@pytest.fixture
async def bob(api):
    async with _client(api, DEV_API_KEY, "bob") as client:
        yield client


@pytest.fixture
async def admin(api):
    async with _client(api, DEV_ADMIN_KEY, None) as client:
        yield client
