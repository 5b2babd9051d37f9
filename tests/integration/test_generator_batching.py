"""Dynamic batching on the real tiny pipeline: compatible drawings that wait for the model thread are drawn in
one call, each from its own seed; a failing or oversized batch never takes its batch mates down with it."""

import asyncio
import io
import json
import threading
import uuid
from collections import Counter

import numpy as np
import pytest
from faststream import TestApp
from PIL import Image

from logoforge.devstack import wait_until
from logoforge.processes import LogoforgeProcess
from schemas.generation import SCHEDULERS, GenerationParams
from schemas.topology import GENERATE
from services.errors import DeviceOutOfMemory
from services.ops.queues import depths
from tests.integration.test_generator import command_body, publish_raw
from workers.generator.app import build_generator
from workers.generator.pipeline import DiffusionModel, Interrupted
from workers.generator.settings import GeneratorSettings

pytestmark = pytest.mark.asyncio


class CountingPipeline:
    """The real pipeline, recording how many images each call drew; `fail_above` images raise out of memory."""

    def __init__(self, pipeline, fail_above: int | None = None) -> None:
        self._pipeline = pipeline
        self.calls: list[int] = []
        self.fail_above = fail_above

    def __call__(self, **kwargs):
        import torch

        images = len(kwargs["prompt_embeds"])
        if self.fail_above is not None and images > self.fail_above:
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {images} images")
        self.calls.append(images)
        return self._pipeline(**kwargs)

    def __getattr__(self, name: str):
        return getattr(self._pipeline, name)


async def loaded_model(model_dir, **settings) -> DiffusionModel:
    model = DiffusionModel(GeneratorSettings(model=str(model_dir), **settings))
    await model.load()
    return model


@pytest.fixture
async def model(model_dir):
    model = await loaded_model(model_dir, batch_max_images=8)
    model.pipeline = CountingPipeline(model.pipeline)
    yield model
    await model.close()


def params(prompt: str, images: int = 1, size: int = 64, steps: int = 3) -> GenerationParams:
    return GenerationParams(prompt=prompt, num_images=images, height=size, width=size, num_steps=steps)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


async def while_busy(model: DiffusionModel, *requests: tuple[GenerationParams, int]) -> list:
    """Submit a first drawing, then `requests` while the model thread draws it; results of `requests`."""
    first = model.submit(params("a logo that keeps the thread busy", steps=6), 1)
    results = await asyncio.gather(*(model.submit(p, seed) for p, seed in requests), return_exceptions=True)
    await first
    return results


async def test_drawings_waiting_together_are_drawn_in_one_call_each_from_its_own_seed(model):
    fox = params("a logo of a fox", images=2)
    alone = await model.submit(fox, 7)
    again = await model.submit(fox, 7)
    assert again.pngs == alone.pngs  # the same request drawn alone twice: the same bytes
    model.pipeline.calls.clear()

    others = [(params("a logo of an owl"), 1), (params("a logo of a heron", images=3), 2), (params("a bee"), 3)]
    batched, *_ = await while_busy(model, (fox, 7), *others)
    assert model.pipeline.calls == [1, 7]  # the busy one, then the four waiting ones (2+1+3+1 images) at once
    assert len(batched.pngs) == 2
    # The same noise as alone; the batched arithmetic may round differently (README states the bound).
    difference = max(int(np.abs(pixels(a) - pixels(b)).max()) for a, b in zip(batched.pngs, alone.pngs, strict=True))
    print(f"largest difference per pixel channel, batched vs alone: {difference}")
    assert difference <= 2


async def test_a_batch_holds_only_compatible_drawings_and_at_most_the_cap(model):
    results = await while_busy(
        model,
        (params("a", images=4), 1),
        (params("b", size=128), 2),
        (params("c", images=4), 3),
        (params("d", images=4), 4),
    )
    assert all(len(result.pngs) == n for result, n in zip(results, [4, 1, 4, 4], strict=True))
    # After the busy call: a and c fill the cap of 8; the 128-px one and d are drawn apart.
    assert model.pipeline.calls[0] == 1 and sorted(model.pipeline.calls[1:]) == [1, 4, 8]


async def test_a_drawing_that_fails_fails_alone(model):
    def broken_callback(step: int, total: int) -> None:
        raise ValueError("this job's progress callback is broken")

    first = model.submit(params("busy", steps=6), 1)
    good = [model.submit(params(f"a logo number {n}"), n) for n in range(3)]
    bad = model.submit(params("a logo with a broken callback"), 9, on_step=broken_callback)
    results = await asyncio.gather(*good, bad, first, return_exceptions=True)
    assert [len(result.pngs) for result in results[:3]] == [1, 1, 1]
    assert isinstance(results[3], ValueError)


async def test_out_of_memory_splits_the_batch_down_to_one_job(model):
    model.pipeline.fail_above = 2
    results = await while_busy(model, *[(params(f"logo {n}"), n) for n in range(4)], (params("big", images=3), 9))
    assert [len(result.pngs) for result in results[:4]] == [1, 1, 1, 1]
    assert isinstance(results[4], DeviceOutOfMemory)  # three images never fit: that job alone fails
    assert max(model.pipeline.calls) <= 2


async def test_commands_on_the_queue_are_batched_and_each_job_is_stored_and_announced_once(
    generator_settings, model, rabbit_url, events
):
    job_ids = [uuid.uuid4().hex for _ in range(6)]
    async with TestApp(build_generator(generator_settings, model=model)):
        for number, job_id in enumerate(job_ids):
            await publish_raw(rabbit_url, json.dumps(command_body(job_id, seed=number, num_images=2)).encode())
        for job_id in job_ids:
            done = await events.for_job(job_id, "generation.completed", timeout_s=120)
            assert len(done.body["images"]) == 2
    completed = Counter(e.body["correlation_id"] for e in events.received if e.routing_key == "generation.completed")
    assert all(completed[job_id] == 1 for job_id in job_ids)
    progress = {e.body["correlation_id"] for e in events.received if e.routing_key == "generation.progress"}
    assert progress == set(job_ids)  # every job its own progress events
    assert len(model.pipeline.calls) < len(job_ids) and sum(model.pipeline.calls) == 12


async def test_two_generators_share_the_queue(generator_settings, model, rabbit_url, events, tmp_path):
    """This process's generator and another one (a process of its own, as each generator runs) both take work
    from the queue; every job is drawn once."""
    settings = generator_settings.model_copy(update={"batch_max_images": 2})
    other = LogoforgeProcess(settings, "generator", log_path=tmp_path / "other-generator.log").start()
    job_ids = [uuid.uuid4().hex for _ in range(12)]
    try:
        async with TestApp(build_generator(settings, model=model)):

            async def both_consuming() -> bool:
                return any(d.name == GENERATE.queue.name and d.consumers == 2 for d in await depths(rabbit_url))

            await wait_until(both_consuming, 120, "two generators consuming")
            for number, job_id in enumerate(job_ids):
                await publish_raw(rabbit_url, json.dumps(command_body(job_id, seed=number, num_steps=6)).encode())
            for job_id in job_ids:
                await events.for_job(job_id, "generation.completed", timeout_s=180)
    finally:
        other.stop()
    completed = Counter(e.body["correlation_id"] for e in events.received if e.routing_key == "generation.completed")
    assert all(completed[job_id] == 1 for job_id in job_ids)
    here = sum(model.pipeline.calls)
    assert 2 <= here <= 10, here  # this one drew some, the other process the rest


async def test_each_scheduler_draws_a_job_the_same_way_every_time_and_differently_from_the_others(model_dir):
    model = await loaded_model(model_dir)
    try:
        drawn = {}
        for scheduler in SCHEDULERS:
            request = GenerationParams(
                prompt="a logo of a fox", num_images=2, height=64, width=64, num_steps=4, scheduler=scheduler
            )
            first, again = await model.submit(request, 11), await model.submit(request, 11)
            assert first.pngs == again.pngs, scheduler
            # Batched with a job of another seed: the noise of each step (euler_a) still comes from its own seed.
            batched, _ = await while_busy(model, (request, 11), (request.model_copy(update={"prompt": "an owl"}), 12))
            difference = max(
                int(np.abs(pixels(a) - pixels(b)).max()) for a, b in zip(batched.pngs, first.pngs, strict=True)
            )
            print(f"{scheduler}: largest difference per pixel channel, batched vs alone: {difference}")
            assert difference <= 2, scheduler
            drawn[scheduler] = first.pngs
        assert len({tuple(pngs) for pngs in drawn.values()}) == len(SCHEDULERS)
    finally:
        await model.close()


@pytest.mark.parametrize("scheduler", SCHEDULERS)
async def test_a_job_stopped_in_its_batch_leaves_it_and_its_batch_mates_draw_on_undisturbed(model, scheduler):
    def job(prompt: str, images: int) -> GenerationParams:
        return GenerationParams(prompt=prompt, num_images=images, height=64, width=64, num_steps=6, scheduler=scheduler)

    kept = [(job("a logo of a fox", 2), 11), (job("a logo of an owl", 1), 12)]
    alone = [await model.submit(params, seed) for params, seed in kept]
    unet_rows: list[int] = []  # the batch the UNet sees at each call (twice the images, under guidance)
    hook = model.pipeline.unet.register_forward_pre_hook(lambda module, args: unet_rows.append(args[0].shape[0]))
    stop = threading.Event()

    def stop_at_step_two(step: int, total: int) -> None:
        if step >= 2:
            stop.set()

    try:
        # Five steps, not six: never in a batch with the three below, which wait for it and then go as one.
        busy = model.submit(params("a logo that keeps the thread busy", steps=5), 1)
        stopped = model.submit(job("a logo of a heron", 3), 13, on_step=stop_at_step_two, stop=stop)
        drawn = [model.submit(params, seed) for params, seed in kept]
        await busy
        with pytest.raises(Interrupted):
            await stopped
        batched = await asyncio.gather(*drawn)
    finally:
        hook.remove()
    assert model.pipeline.calls[-1] == 6  # 3 + 2 + 1 images in one call
    # The heron's three images left after its second step: the UNet's batch went from 12 rows to 6 and stayed.
    batch_rows = unet_rows[unet_rows.index(12) :]
    assert set(batch_rows) == {12, 6} and batch_rows.index(6) >= 2 and batch_rows[-1] == 6
    for batched_job, alone_job in zip(batched, alone, strict=True):
        assert len(batched_job.pngs) == len(alone_job.pngs)
        difference = max(
            int(np.abs(pixels(a) - pixels(b)).max()) for a, b in zip(batched_job.pngs, alone_job.pngs, strict=True)
        )
        assert difference <= 2, f"{scheduler}: a batch mate of the stopped job drew differently ({difference})"


async def test_each_distinct_text_is_encoded_once_and_kept_for_the_next_batches(model_dir):
    import torch

    model = await loaded_model(model_dir)
    encoded: list[int] = []  # the texts of each call of the text encoder
    model.pipeline.text_encoder.register_forward_pre_hook(lambda module, args: encoded.append(args[0].shape[0]))
    try:
        fox = params("a logo of a fox", images=3)
        first = await model.submit(fox, 5)
        assert encoded == [2]  # the prompt and the empty negative prompt, once each for the job's three images
        again = await model.submit(fox, 5)
        assert encoded == [2] and again.pngs == first.pngs  # nothing encoded again; the same bytes
        await model.submit(params("a logo of an owl"), 6)
        assert encoded == [2, 1]  # only the new prompt

        # The same drawing as diffusers makes from the texts themselves, with the job's own starting noise.
        pipeline = model.pipeline
        latents = torch.randn((3, 4, 8, 8), generator=torch.Generator().manual_seed(5))
        with torch.inference_mode():
            plain = pipeline(
                prompt=["a logo of a fox"] * 3,
                negative_prompt=[""] * 3,
                height=64,
                width=64,
                num_inference_steps=3,
                guidance_scale=fox.guidance_scale,
                latents=latents,
            ).images
        for ours, theirs in zip(first.pngs, plain, strict=True):
            theirs_png = io.BytesIO()
            theirs.save(theirs_png, format="PNG")
            assert int(np.abs(pixels(ours) - pixels(theirs_png.getvalue())).max()) <= 2
    finally:
        await model.close()
