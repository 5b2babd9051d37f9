"""Adapters in service: a running generator loads promoted adapters between jobs, with no restart."""

import asyncio
import uuid

import pytest
from faststream import TestApp

from logoforge.cli import main
from schemas.generation import GenerateLogo, GenerationParams
from services.ops.adapters import promote, rollback
from services.storage.adapters import AdapterRegistry, UnknownAdapter
from tests.integration.training.builders import publish_message
from workers.generator.app import build_generator
from workers.generator.pipeline import DiffusionModel
from workers.trainer.artifacts import adapter_key
from workers.trainer.synthetic import random_adapter


@pytest.fixture
def settings(generator_settings):
    return generator_settings


async def register(store, db, model_dir, version: str, seed: int) -> None:
    body = await asyncio.to_thread(random_adapter, model_dir, seed)
    await store.put(adapter_key(version), body, "application/octet-stream")
    await AdapterRegistry(db).register(version, version, adapter_key(version), {"heldout_loss": 1.0}, {})


async def draw(rabbit_url, events, store, adapter: str | None = None):
    """One 64px job with a fixed seed; returns (the event, the PNG bytes)."""
    job_id = uuid.uuid4().hex
    params = GenerationParams(
        prompt="a logo of a red circle", height=64, width=64, num_steps=2, seed=7, adapter=adapter
    )
    await publish_message(rabbit_url, GenerateLogo(correlation_id=job_id, params=params))
    done = await events.wait(
        lambda e: e.routing_key in ("generation.completed", "generation.failed") and e.body["correlation_id"] == job_id,
        60,
        f"job {job_id}",
    )
    if done.routing_key == "generation.failed":
        return done, None
    return done, (await store.get(done.body["images"][0]["key"])).body


async def test_generator_swaps_adapters_without_restart(generator_settings, model_dir, store, db, rabbit_url, events):
    await register(store, db, model_dir, "va", seed=1)
    await register(store, db, model_dir, "vb", seed=2)
    await AdapterRegistry(db).promote("va")  # in service before the generator starts
    model = DiffusionModel(generator_settings)
    app = build_generator(generator_settings, model=model)
    async with TestApp(app):
        first, first_png = await draw(rabbit_url, events, store)
        assert first.body["adapter"] == "va"  # read from MongoDB at start-up

        await promote(generator_settings, "vb")
        await events.wait(lambda e: e.routing_key == "adapter.loaded" and e.body["version"] == "vb", 30)
        second, second_png = await draw(rabbit_url, events, store)
        assert second.body["adapter"] == "vb" and second_png != first_png
        job = await db.jobs.find_one({"_id": second.body["correlation_id"]})
        assert job["adapter"] == "vb"

        base, base_png = await draw(rabbit_url, events, store, adapter="none")
        assert base.body["adapter"] is None and base_png not in (first_png, second_png)
        pinned, pinned_png = await draw(rabbit_url, events, store, adapter="va")
        assert pinned.body["adapter"] == "va" and pinned_png == first_png
        failed, _ = await draw(rabbit_url, events, store, adapter="nope")
        assert failed.body["kind"] == "invalid"
        assert "params.adapter: unknown adapter version 'nope'" in failed.body["reason"]

        back = await rollback(generator_settings)
        assert (back.version, back.previous_version) == ("va", "vb")
        await events.wait(lambda e: e.routing_key == "adapter.loaded" and e.body["version"] == "va", 30)
        again, again_png = await draw(rabbit_url, events, store)
        assert again.body["adapter"] == "va" and again_png == first_png
    await model.close()

    with pytest.raises(UnknownAdapter, match="version: unknown adapter version 'missing'"):
        await promote(generator_settings, "missing")
    assert (await AdapterRegistry(db).get("va")).status == "in_service"
    assert (await AdapterRegistry(db).get("vb")).status == "retired"


async def test_rollback_walks_back_to_the_base_model(db):
    registry = AdapterRegistry(db)
    for version in ("v1", "v2"):
        await registry.register(version, version, adapter_key(version), {}, {})
    await registry.promote("v1")
    await registry.promote("v2")
    assert (await registry.rollback()).version == "v1"
    assert (await registry.rollback()).version is None
    with pytest.raises(ValueError, match="version: nothing to roll back to"):
        await registry.rollback()


def test_ops_cli_refuses_unknown_versions_and_empty_history(store_env, rabbit_url, monkeypatch, capsys):
    for key, value in {**store_env, "rabbit_url": rabbit_url}.items():
        monkeypatch.setenv(f"LOGOFORGE_{key.upper()}", str(value))
    with pytest.raises(SystemExit) as exit_info:
        main(["ops", "promote", "v-unknown"])
    assert exit_info.value.code == 2
    assert "error: version: unknown adapter version 'v-unknown'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["ops", "rollback"])
    assert exit_info.value.code == 2
    assert "error: version: nothing to roll back to" in capsys.readouterr().err
