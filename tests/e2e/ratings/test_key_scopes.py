"""Service keys have an owner and the users they act for: one service never acts for, nor reads, another's users."""

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from services.api.security import ServiceKey
from services.settings import DEV_ADMIN_KEY
from tests.support import record_generated_job

pytestmark = pytest.mark.asyncio

BOT_KEY, SHOP_KEY = "bot-service-key", "shop-service-key"


@pytest.fixture
def api_settings(common_env: dict):
    from services.api.settings import ApiSettings

    keys = [
        ServiceKey(owner="bot", key=SecretStr(BOT_KEY), users="tg:"),
        ServiceKey(owner="shop", key=SecretStr(SHOP_KEY)),  # acts for shop:… users
    ]
    return ApiSettings(**common_env, api_keys=keys)


def client(api, key: str, user_id: str | None = None) -> httpx.AsyncClient:
    headers = {"X-API-Key": key} | ({"X-User-Id": user_id} if user_id else {})
    return httpx.AsyncClient(base_url=api.url, headers=headers, timeout=30)


async def test_a_service_key_acts_only_for_user_ids_in_its_namespace(api):
    request = {"prompt": "a logo of a heron", "num_images": 1, "height": 64, "width": 64, "num_steps": 1}
    async with client(api, SHOP_KEY, "tg:1") as shop_as_telegram_user:
        refused = await shop_as_telegram_user.post("/jobs", json=request)
        assert refused.status_code == 403, refused.text
        assert "X-User-Id" in refused.json()["detail"] and "'shop:'" in refused.json()["detail"]
        assert (await shop_as_telegram_user.get("/users/tg:1/history")).status_code == 403
    async with client(api, BOT_KEY, "shop:alice") as bot_as_shop_user:
        assert (await bot_as_shop_user.get("/users/shop:alice/history")).status_code == 403


async def test_user_data_is_read_with_the_key_that_acts_for_the_user_or_an_admin_key(api, api_settings, db):
    from services.storage.s3 import ObjectStore

    [image_id] = await record_generated_job(db, "tg:1")
    job_id = image_id.rsplit("-", 1)[0]
    key = f"images/{job_id}/0.png"
    store = ObjectStore.from_settings(api_settings)
    await store.ensure_bucket()
    await store.put(key, b"\x89PNG tg:1", "image/png")

    async with (
        client(api, BOT_KEY) as bot,
        client(api, BOT_KEY, "tg:1") as telegram_user,
        client(api, BOT_KEY, "tg:2") as other_telegram_user,
        client(api, SHOP_KEY) as shop,
        client(api, SHOP_KEY, "shop:alice") as shop_user,
        client(api, DEV_ADMIN_KEY) as admin,
    ):
        # Its own user, the service itself, and an admin read it.
        for reader in (telegram_user, bot, admin):
            assert (await reader.get("/users/tg:1/history")).json()["items"][0]["job_id"] == job_id
            assert (await reader.get(f"/jobs/{job_id}")).status_code == 200
            assert (await reader.get(f"/static/{key}")).content == b"\x89PNG tg:1"
            assert (await reader.get("/images/best", params={"user_id": "tg:1"})).status_code == 200
        # Another user of the same service, and another service with or without a user, do not.
        for outsider in (other_telegram_user, shop, shop_user):
            assert (await outsider.get("/users/tg:1/history")).status_code == 403
            assert (await outsider.get(f"/jobs/{job_id}")).status_code == 404
            assert (await outsider.get(f"/static/{key}")).status_code == 404  # as if it did not exist
            assert (await outsider.get("/images/best", params={"user_id": "tg:1"})).status_code == 403
        # A signed link stays the way to share one image.
        signed = (await telegram_user.get(f"/jobs/{job_id}")).json()["images"][0]["url"]
        async with httpx.AsyncClient(timeout=30) as anyone:
            assert (await anyone.get(signed)).content == b"\x89PNG tg:1"


async def test_a_key_without_an_owner_is_refused_at_start_naming_the_setting(monkeypatch):
    from services.api.settings import ApiSettings

    monkeypatch.setenv("LOGOFORGE_API_KEYS", '["a-bare-key"]')
    with pytest.raises(ValidationError, match="api_keys[\\s\\S]*each API key names its owner"):
        ApiSettings()
    monkeypatch.setenv("LOGOFORGE_API_KEYS", '[{"owner": "shop", "key": "k"}]')
    assert ApiSettings().api_keys[0].user_prefix == "shop:"
