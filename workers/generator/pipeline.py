"""The diffusion pipeline behind the generator: loaded once, always called from one dedicated thread.

torch's intra-op threads belong to the thread that calls it, so every model call goes through a
single-worker executor; the event loop never blocks on the model. Drawings submitted while the thread is busy
wait for it and are then drawn together, as many compatible ones as fit in one batch.
"""

import asyncio
import io
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.generation import GenerationParams
from services import observability
from services.errors import DeviceOutOfMemory
from workers.device import device_memory_errors
from workers.generator.settings import GeneratorSettings
from workers.tiny_model import resolve_model_source

# Text encodings kept between batches: 256 of SD 1.5's (77 x 768 floats) are about 60 MB in float32.
EMBEDDINGS_KEPT = 256

if TYPE_CHECKING:  # diffusers is imported on the model thread; its top-level name is a placeholder class to mypy
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline

logger = logging.getLogger(__name__)

StepCallback = Callable[[int, int], None]


class Interrupted(Exception):
    """The caller stopped the drawing: before it began, or at a step of it."""


@dataclass
class Generated:
    """PNG bytes of each image, in order, and what the safety checker said."""

    pngs: list[bytes]
    nsfw: list[bool]
    nsfw_checked: bool


@dataclass
class DrawRequest:
    """One job's drawing, waiting for the model thread; its future is settled on the caller's loop."""

    params: GenerationParams
    seed: int
    on_step: StepCallback | None
    adapter_name: str | None
    stop: threading.Event | None
    future: "asyncio.Future[Generated]"
    loop: asyncio.AbstractEventLoop
    init_image: bytes | None = None  # a variation's starting image (PNG)

    def compatible_with(self, other: "DrawRequest") -> bool:
        """Drawn in one call: the same size, steps, guidance, scheduler and adapter, and for variations the same
        strength (prompts, seeds, counts and starting images may differ); never a variation with a new drawing."""
        mine, theirs = self.params, other.params
        return (
            mine.height,
            mine.width,
            mine.num_steps,
            mine.guidance_scale,
            mine.scheduler,
            self.adapter_name,
            mine.variation_of is None,
            mine.strength,
        ) == (
            theirs.height,
            theirs.width,
            theirs.num_steps,
            theirs.guidance_scale,
            theirs.scheduler,
            other.adapter_name,
            theirs.variation_of is None,
            theirs.strength,
        )

    def stopped_before_start(self) -> bool:
        if self.stop is not None and self.stop.is_set():
            self.fail(Interrupted("stopped before the first step"))
            return True
        return False

    def succeed(self, result: Generated) -> None:
        self.loop.call_soon_threadsafe(self._set_result, result)

    def fail(self, error: BaseException) -> None:
        self.loop.call_soon_threadsafe(self._set_exception, error)

    def _set_result(self, result: Generated) -> None:
        if not self.future.done():  # a caller that went away may have cancelled it
            self.future.set_result(result)

    def _set_exception(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class DiffusionModel:
    """Owns the pipeline and the one thread that may touch it."""

    def __init__(self, settings: GeneratorSettings) -> None:
        self._settings = settings
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="diffusion")
        self._waiting: deque[DrawRequest] = deque()
        self._arriving = 0
        self._queue_changed = threading.Condition()
        self._schedulers: dict[str, Any] = {}  # diffusers schedulers by name, made on first use
        self._img2img: Any = None  # the image-to-image pipeline on the same modules, made on first use
        # The text encoder's output by (adapter, text), most recently used last (see `_embeddings`).
        self._embedded: OrderedDict[tuple[str | None, str], Any] = OrderedDict()
        self.pipeline: StableDiffusionPipeline | None = None
        self.name = ""

    async def run(self, fn: Callable, *args):
        """Run `fn(*args)` on the model thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def load(self) -> None:
        source, name = await self.run(resolve_model_source, self._settings.model, self._settings.data_dir)
        self.pipeline = await self.run(self._load, source)
        self._schedulers = {"default": self.pipeline.scheduler}
        self.name = name
        logger.info("loaded %s on %s (%s)", name, self._settings.device, self._settings.dtype)

    def _load(self, source: str):
        import torch
        from diffusers import StableDiffusionPipeline

        if self._settings.torch_threads:
            torch.set_num_threads(self._settings.torch_threads)
        dtype = getattr(torch, self._settings.dtype)
        pipeline = StableDiffusionPipeline.from_pretrained(source, dtype=dtype)
        pipeline = pipeline.to(self._settings.device)
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def _scheduler(self, name: str):
        """The scheduler a request names, made once from the model's own scheduler's configuration."""
        if name not in self._schedulers:
            from diffusers import (
                DDIMScheduler,
                DPMSolverMultistepScheduler,
                EulerAncestralDiscreteScheduler,
                UniPCMultistepScheduler,
            )

            config = self._schedulers["default"].config
            made = {
                "dpm++_2m_karras": lambda: DPMSolverMultistepScheduler.from_config(
                    config, algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=True
                ),
                "euler_a": lambda: EulerAncestralDiscreteScheduler.from_config(config),
                "ddim": lambda: DDIMScheduler.from_config(config),
                "unipc": lambda: UniPCMultistepScheduler.from_config(config),
            }
            self._schedulers[name] = made[name]()
        return self._schedulers[name]

    async def load_adapter(self, folder: Path, weight_name: str, adapter_name: str) -> None:
        """Add a LoRA adapter to the pipeline (on the model thread: between jobs, never during one)."""
        await self.run(self._load_adapter, folder, weight_name, adapter_name)

    def _loaded(self) -> "StableDiffusionPipeline":
        if self.pipeline is None:
            raise RuntimeError("the model is not loaded")
        return self.pipeline

    def _load_adapter(self, folder: Path, weight_name: str, adapter_name: str) -> None:
        self._embedded.clear()  # an adapter may change the text encoder
        with device_memory_errors(f"loading adapter {adapter_name}"):
            self._loaded().load_lora_weights(str(folder), weight_name=weight_name, adapter_name=adapter_name)

    async def unload_adapter(self, adapter_name: str) -> None:
        await self.run(self._unload_adapter, adapter_name)

    def _unload_adapter(self, adapter_name: str) -> None:
        self._embedded.clear()
        self._loaded().delete_adapters([adapter_name])

    def _embeddings(self, pipeline: "StableDiffusionPipeline", texts: list[str], adapter_name: str | None):
        """The text encoder's output for each of `texts`, one row each (on the model thread).

        Each distinct text is encoded once: the empty negative prompt of almost every job, a job's prompt repeated
        for each of its images, a prompt drawn again. Kept for the next batches, up to EMBEDDINGS_KEPT texts, by
        adapter (and forgotten whenever an adapter is loaded or unloaded, since one may change the encoder).
        """
        import torch

        keys = [(adapter_name, text) for text in texts]
        missing = list(dict.fromkeys(key for key in keys if key not in self._embedded))
        if missing:
            encoded, _ = pipeline.encode_prompt(
                [text for _, text in missing], pipeline.device, 1, do_classifier_free_guidance=False
            )
            self._embedded.update(zip(missing, encoded, strict=True))
        rows = []
        for key in keys:
            self._embedded.move_to_end(key)
            rows.append(self._embedded[key])
        while len(self._embedded) > EMBEDDINGS_KEPT:
            self._embedded.popitem(last=False)
        return torch.stack(rows)

    def _select_adapter(self, adapter_name: str | None) -> None:
        """Activate one adapter, or none; done at the start of each job, on the model thread."""
        pipeline = self._loaded()
        if not pipeline.get_list_adapters():
            if adapter_name is not None:
                raise RuntimeError(f"adapter {adapter_name} is not loaded")
            return
        if adapter_name is None:
            pipeline.disable_lora()
        else:
            pipeline.enable_lora()
            pipeline.set_adapters([adapter_name])

    def submit(
        self,
        params: GenerationParams,
        seed: int,
        on_step: StepCallback | None = None,
        adapter_name: str | None = None,
        stop: threading.Event | None = None,
        init_image: bytes | None = None,
    ) -> "asyncio.Future[Generated]":
        """Hand the drawing to the model thread now (not at the loop's next turn); await the future for it.

        The model thread draws the requests waiting for it in batches (see `_draw_next_batch`). Setting `stop`
        takes the request out at the next step: drawn alone, the denoising loop ends; in a batch, its rows leave
        the batch and the others draw on, freed of its share of the work. Its future then raises Interrupted,
        as it does for a request stopped before its batch began.
        """
        loop = asyncio.get_running_loop()
        request = DrawRequest(params, seed, on_step, adapter_name, stop, loop.create_future(), loop, init_image)
        with self._queue_changed:
            self._waiting.append(request)
            self._arriving = max(0, self._arriving - 1)
            self._queue_changed.notify_all()
        self._executor.submit(self._draw_next_batch)
        return request.future

    def note_arrival(self) -> None:
        """A command arrived that will probably be submitted in a moment: a batch may wait briefly for it."""
        with self._queue_changed:
            self._arriving += 1

    def cancel_arrival(self) -> None:
        """A command that `note_arrival` announced will not be submitted after all."""
        with self._queue_changed:
            self._arriving = max(0, self._arriving - 1)
            self._queue_changed.notify_all()

    def _draw_next_batch(self) -> None:
        """On the model thread: take the oldest waiting request and the compatible ones behind it (up to
        `batch_max_images` images) and draw them in one pipeline call.

        One task is queued per submitted request, so every request is taken by some task; a task that finds
        nothing waiting (its request went with an earlier batch) returns at once. A batch starts as soon as
        the thread is free; only while commands are arriving that have not been submitted yet does it wait for
        them, at most `batch_wait_s`.
        """
        batch = self._take_batch()
        if batch:
            self._draw_settling(batch)

    def _take_batch(self) -> list["DrawRequest"]:
        cap = self._settings.batch_images
        deadline = time.monotonic() + self._settings.batch_wait_s
        with self._queue_changed:
            if not self._waiting:
                return []
            batch = [self._waiting.popleft()]
            while True:
                images = sum(request.params.num_images for request in batch)
                for request in list(self._waiting):
                    if images + request.params.num_images <= cap and request.compatible_with(batch[0]):
                        self._waiting.remove(request)
                        batch.append(request)
                        images += request.params.num_images
                remaining = deadline - time.monotonic()
                if images >= cap or self._arriving == 0 or remaining <= 0:
                    return batch
                self._queue_changed.wait(remaining)

    def _draw_settling(self, batch: list["DrawRequest"]) -> None:
        """Draw `batch` and settle every request's future: one request's failure is its own.

        Out of device memory, the batch is split in halves and each drawn again, down to one request (whose
        DeviceOutOfMemory is then its answer, retried by the delivery policy). Any other failure of a batch
        draws each of its requests alone, so that the one that fails fails by itself.
        """
        started = [request for request in batch if not request.stopped_before_start()]
        if not started:
            return
        images = sum(request.params.num_images for request in started)
        logger.debug("drawing %d job(s), %d image(s), in one call", len(started), images)
        drawing_started = time.perf_counter()
        try:
            results = self._draw(started)
        except DeviceOutOfMemory as error:
            if len(started) == 1:
                started[0].fail(error)
                return
            logger.warning("out of device memory drawing %d jobs at once: splitting the batch", len(started))
            middle = len(started) // 2
            self._draw_settling(started[:middle])
            self._draw_settling(started[middle:])
            return
        except Exception as error:  # settled on the request's future: raised in its own handler
            if len(started) == 1:
                started[0].fail(error)
                return
            for request in started:
                self._draw_settling([request])
            return
        seconds = time.perf_counter() - drawing_started
        observability.BATCH_IMAGES.observe(images)
        observability.GENERATION_SECONDS_PER_IMAGE.observe(seconds / images)
        observability.GENERATION_STEP_SECONDS.observe(seconds / max(1, started[0].params.denoising_steps))
        for request, generated in results:  # those stopped while drawn were settled as they were dropped
            request.succeed(generated)

    def _draw(self, batch: list["DrawRequest"]) -> list[tuple["DrawRequest", Generated]]:
        """One pipeline call for every image of `batch`; each request's starting noise comes from its own seed,
        exactly as when it is drawn alone, so its images do not depend on its batch mates.

        A request stopped while drawn leaves at the next step: alone, the loop ends; in a batch, its rows leave
        the latents, the prompt embeddings, the scheduler's state and the noise generators, the others go on as
        before (their images are those they would have been), and its future fails with Interrupted at once.
        Returned: each request still drawn at the end, with its images."""
        import torch

        pipeline = self._loaded()
        first = batch[0].params
        self._select_adapter(batch[0].adapter_name)
        pipeline.scheduler = self._scheduler(first.scheduler)
        latent_shape = (
            pipeline.unet.config.in_channels,
            first.height // pipeline.vae_scale_factor,
            first.width // pipeline.vae_scale_factor,
        )
        # One generator per job: its starting noise, then (for ancestral schedulers) the noise of each step of
        # its images, drawn in the same order whether the job is drawn alone or in a batch.
        seeded = [torch.Generator(device="cpu").manual_seed(request.seed) for request in batch]
        latents = torch.cat(
            [
                torch.randn((request.params.num_images, *latent_shape), generator=generator, dtype=pipeline.unet.dtype)
                for request, generator in zip(batch, seeded, strict=True)
            ]
        ).to(pipeline.device)
        generators = [seeded[index] for index, request in enumerate(batch) for _ in range(request.params.num_images)]
        per_image = [request for request in batch for _ in range(request.params.num_images)]
        prompts = [request.params.prompt for request in per_image]
        negatives = [request.params.negative_prompt or "" for request in per_image]
        guided = first.guidance_scale > 1 and pipeline.unet.config.time_cond_proj_dim is None
        live = list(batch)  # the requests still drawn, in the order of their rows

        def step_end(pipeline, step: int, timestep, tensors: dict) -> dict:
            for request in live:
                if request.on_step is not None:
                    # Some schedulers (PNDM's warm-up) call back once more than the steps asked for.
                    request.on_step(min(step + 1, first.denoising_steps), first.denoising_steps)
            stopped = [request for request in live if request.stop is not None and request.stop.is_set()]
            if not stopped:
                return tensors
            for request in stopped:
                request.fail(Interrupted("stopped while drawn"))
            if len(stopped) == len(live):
                live.clear()
                pipeline._interrupt = True  # diffusers' documented way to end the loop from a callback
                return tensors
            rows: list[int] = []
            offset = 0
            for request in list(live):
                count = request.params.num_images
                if request in stopped:
                    live.remove(request)
                else:
                    rows.extend(range(offset, offset + count))
                offset += count
            logger.debug("dropping %d stopped job(s) from a batch of %d images", len(stopped), offset)
            return _keep_rows(pipeline, tensors, generators, rows, offset)

        with device_memory_errors(f"drawing {len(prompts)} images"), torch.inference_mode():
            texts = prompts + negatives if guided else prompts
            embedded = self._embeddings(pipeline, texts, batch[0].adapter_name)
            prompt_embeds = embedded[: len(prompts)]
            negative_embeds = embedded[len(prompts) :] if guided else None
            if first.variation_of is not None:
                # Image to image from each job's starting image, on the same modules (no second copy of the
                # weights): its noise comes from the job's own generator, as for a new drawing.
                starts = [_starting_image(request.init_image, first.width, first.height) for request in per_image]
                result = self._variations(pipeline)(
                    prompt_embeds=prompt_embeds,
                    negative_prompt_embeds=negative_embeds,
                    image=starts,
                    strength=first.variation_strength,
                    num_images_per_prompt=1,
                    # Enough steps that at this strength at least one is run (diffusers runs steps x strength).
                    num_inference_steps=max(first.num_steps, math.ceil(1 / first.variation_strength)),
                    guidance_scale=first.guidance_scale,
                    generator=generators,
                    callback_on_step_end=step_end,
                    callback_on_step_end_tensor_inputs=["latents", "prompt_embeds"],
                )
            else:
                result = pipeline(
                    prompt_embeds=prompt_embeds,
                    negative_prompt_embeds=negative_embeds,  # of "" where a job has none, as diffusers reads None
                    num_images_per_prompt=1,
                    height=first.height,
                    width=first.width,
                    num_inference_steps=first.num_steps,
                    guidance_scale=first.guidance_scale,
                    latents=latents,
                    generator=generators,
                    callback_on_step_end=step_end,
                    callback_on_step_end_tensor_inputs=["latents", "prompt_embeds"],
                )
        checked = result.nsfw_content_detected is not None
        nsfw = list(result.nsfw_content_detected) if checked else [False] * len(result.images)
        pngs = [_png(image) for image in result.images] if live else []
        generated, offset = [], 0
        for request in live:
            end = offset + request.params.num_images
            generated.append((request, Generated(pngs=pngs[offset:end], nsfw=nsfw[offset:end], nsfw_checked=checked)))
            offset = end
        return generated

    def _variations(self, pipeline: "StableDiffusionPipeline"):
        """An image-to-image pipeline over the loaded pipeline's own modules, made once; its scheduler follows."""
        from diffusers import StableDiffusionImg2ImgPipeline

        if self._img2img is None or self._img2img.unet is not pipeline.unet:
            self._img2img = StableDiffusionImg2ImgPipeline(**pipeline.components)
            self._img2img.set_progress_bar_config(disable=True)
        self._img2img.scheduler = pipeline.scheduler
        return self._img2img

    async def close(self) -> None:
        self._img2img = None
        self.pipeline = None
        self._executor.shutdown(wait=True)


def _keep_rows(pipeline, tensors: dict, generators: list, rows: list[int], count: int) -> dict:
    """Keep only `rows` of a batch of `count` images in the pipeline loop's state: the latents, the prompt
    embeddings (negative half, then positive, under guidance), the per-image noise generators (the list the
    scheduler reads, changed in place), and the scheduler's own per-image history (multistep solvers keep past
    model outputs: tensors, alone or in lists, whose first dimension is the batch)."""
    import torch

    index = torch.tensor(rows, device=tensors["latents"].device)
    tensors["latents"] = tensors["latents"][index]
    embeds = tensors["prompt_embeds"]
    if embeds.shape[0] == 2 * count:
        embeds = torch.cat([embeds[:count][index], embeds[count:][index]])
    else:
        embeds = embeds[index]
    tensors["prompt_embeds"] = embeds
    generators[:] = [generators[row] for row in rows]

    def kept(value):
        if isinstance(value, torch.Tensor) and value.ndim == 4 and value.shape[0] == count:
            return value[index.to(value.device)]
        if isinstance(value, list) and any(isinstance(item, torch.Tensor) for item in value):
            return [kept(item) for item in value]
        return value

    scheduler = pipeline.scheduler
    for name, value in list(vars(scheduler).items()):
        scheduler.__dict__[name] = kept(value)
    return tensors


def _starting_image(png: bytes | None, width: int, height: int):
    """A variation's starting image, as RGB at the size to draw."""
    from PIL import Image

    if png is None:
        raise ValueError("a variation without its starting image")
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
