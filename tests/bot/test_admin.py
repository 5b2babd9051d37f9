"""Admin commands through the real API's admin endpoints: /retrain, /stats, /promote."""

import pytest

from schemas.ratings import RateLogo
from services.storage.adapters import AdapterRegistry
from tests.bot.conftest import ADMIN, USER, queued_messages, reply_to, running_bot
from tests.support import publish_command, record_generated_job

pytestmark = pytest.mark.asyncio


async def test_retrain_is_refused_to_others_and_trains_on_the_rated_images_for_admins(
    telegram, bot_settings_with_api, ratings_service, events, db, rabbit_url
):
    [image_id] = await record_generated_job(db, f"tg:{ADMIN}", prompt="a logo of a heron")
    async with running_bot(bot_settings_with_api):
        # Nothing rated yet: the API's selection finds nothing, and says so (with a code the bot words itself).
        assert "nothing to train on" in await reply_to(telegram, ADMIN, "/retrain")
        await reply_to(telegram, ADMIN, "/set language ru")
        assert "Пока не на чем обучать" in await reply_to(telegram, ADMIN, "/retrain")
        await reply_to(telegram, ADMIN, "/set language en")

        await publish_command(
            rabbit_url, RateLogo(correlation_id=image_id.split("-")[0], image_id=image_id, user_id="tg:7", score=5)
        )
        await events.wait(lambda e: e.routing_key == "rating.recorded", what="rating.recorded")

        for command in ("/retrain", "/stats", "/promote base"):
            assert "admins only" in await reply_to(telegram, USER, command)
        assert await db.training_runs.count_documents({}) == 0

        started = await reply_to(telegram, ADMIN, "/retrain")
        assert "queued with 1 image." in started
        stats = await reply_to(telegram, ADMIN, "/stats")

    [train] = await queued_messages(rabbit_url, "train")
    assert (train["reason"], train["image_ids"]) == ("manual", [image_id])
    assert train["run_id"] in started
    run = await db.training_runs.find_one({"_id": train["run_id"]})
    assert run["image_ids"] == [image_id]
    assert "train: 1 · 0 · 0" in stats and "generate: 0 · 0 · 0" in stats
    assert "ratings: 0 · 1 · 0" in stats  # the ratings service consumes
    assert "done 1" in stats and "Ratings: 1 of 1 image\n" in stats
    assert "Adapter in service: the base model" in stats


async def test_promote_puts_an_adapter_in_service_and_announces_it(telegram, bot_settings_with_api, events, db):
    registry = AdapterRegistry(db)
    async with running_bot(bot_settings_with_api):
        assert "There is no adapter version “v-missing”" in await reply_to(telegram, ADMIN, "/promote v-missing")
        assert "Usage: /promote" in await reply_to(telegram, ADMIN, "/promote")

        await registry.register("run-1", "run-1", "adapters/run-1/pytorch_lora_weights.safetensors", {}, {})
        promoted = await reply_to(telegram, ADMIN, "/promote run-1")
        assert "In service: run-1 (before: the base model)" in promoted
        announced = await events.wait(lambda e: e.routing_key == "adapter.promoted", what="adapter.promoted")
        assert announced.body["version"] == "run-1"
        assert (await registry.in_service())["version"] == "run-1"
        assert "Adapter in service: run-1" in await reply_to(telegram, ADMIN, "/stats")

        assert "In service: the base model (before: run-1)" in await reply_to(telegram, ADMIN, "/promote base")
    assert (await registry.in_service())["version"] is None
