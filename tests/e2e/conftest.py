import httpx
import pytest
from faststream import TestApp

from services.api.app import create_app
from services.settings import DEV_API_KEY
from tests.support import ServedApp
from workers.generator.app import build_generator


@pytest.fixture
async def generator(generator_settings, shared_model):
    app = build_generator(generator_settings, model=shared_model)
    async with TestApp(app):
        yield app


@pytest.fixture
async def api(api_settings):
    async with ServedApp(create_app(api_settings)) as served:
        yield served


@pytest.fixture
async def client(api):
    async with httpx.AsyncClient(base_url=api.url, headers={"X-API-Key": DEV_API_KEY}, timeout=120) as client:
        yield client
