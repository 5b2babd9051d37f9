"""The diffusion pipeline behind the generator: loaded once, always called from one dedicated thread.

torch's intra-op threads belong to the thread that calls it, so every model call goes through a
single-worker executor; the event loop never blocks on the model.
"""

import asyncio
import io
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from schemas.generation import GenerationParams
from workers.device import device_memory_errors
from workers.generator.settings import GeneratorSettings
from workers.tiny_model import resolve_model_source

if TYPE_CHECKING:  # diffusers is imported on the model thread; its top-level name is a placeholder class to mypy
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline

logger = logging.getLogger(__name__)

StepCallback = Callable[[int, int], None]


class Interrupted(Exception):
    """The caller stopped the drawing before it began."""


@dataclass
class Generated:
    """PNG bytes of each image, in order, and what the safety checker said."""

    pngs: list[bytes]
    nsfw: list[bool]
    nsfw_checked: bool


class DiffusionModel:
    """Owns the pipeline and the one thread that may touch it."""

    def __init__(self, settings: GeneratorSettings) -> None:
        self._settings = settings
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="diffusion")
        self.pipeline: StableDiffusionPipeline | None = None
        self.name = ""

    async def run(self, fn: Callable, *args):
        """Run `fn(*args)` on the model thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def load(self) -> None:
        source, name = await self.run(resolve_model_source, self._settings.model, self._settings.data_dir)
        self.pipeline = await self.run(self._load, source)
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

    async def load_adapter(self, folder: Path, weight_name: str, adapter_name: str) -> None:
        """Add a LoRA adapter to the pipeline (on the model thread: between jobs, never during one)."""
        await self.run(self._load_adapter, folder, weight_name, adapter_name)

    def _loaded(self) -> "StableDiffusionPipeline":
        if self.pipeline is None:
            raise RuntimeError("the model is not loaded")
        return self.pipeline

    def _load_adapter(self, folder: Path, weight_name: str, adapter_name: str) -> None:
        with device_memory_errors(f"loading adapter {adapter_name}"):
            self._loaded().load_lora_weights(str(folder), weight_name=weight_name, adapter_name=adapter_name)

    async def unload_adapter(self, adapter_name: str) -> None:
        await self.run(self._loaded().delete_adapters, [adapter_name])

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
    ) -> "asyncio.Future[Generated]":
        """Hand the drawing to the model thread now (not at the loop's next turn); await the future for it.

        Setting `stop` ends the denoising loop at its next step (the images are then unfinished), or
        raises Interrupted if the thread had not begun.
        """
        return asyncio.get_running_loop().run_in_executor(
            self._executor, self._generate, params, seed, on_step, adapter_name, stop
        )

    def _generate(
        self,
        params: GenerationParams,
        seed: int,
        on_step: StepCallback | None,
        adapter_name: str | None,
        stop: threading.Event | None,
    ) -> Generated:
        import torch

        if stop is not None and stop.is_set():
            raise Interrupted("stopped before the first step")
        pipeline = self._loaded()
        self._select_adapter(adapter_name)
        generator = torch.Generator(device="cpu").manual_seed(seed)

        def step_end(pipeline, step: int, timestep, tensors: dict) -> dict:
            if on_step is not None:
                on_step(step + 1, params.num_steps)
            if stop is not None and stop.is_set():
                pipeline._interrupt = True  # diffusers' documented way to end the loop from a callback
            return tensors

        with device_memory_errors("drawing"), torch.inference_mode():
            result = pipeline(
                prompt=params.prompt,
                negative_prompt=params.negative_prompt,
                num_images_per_prompt=params.num_images,
                height=params.height,
                width=params.width,
                num_inference_steps=params.num_steps,
                guidance_scale=params.guidance_scale,
                generator=generator,
                callback_on_step_end=step_end,
            )
        checked = result.nsfw_content_detected is not None
        nsfw = list(result.nsfw_content_detected) if checked else [False] * len(result.images)
        return Generated(pngs=[_png(image) for image in result.images], nsfw=nsfw, nsfw_checked=checked)

    async def close(self) -> None:
        self.pipeline = None
        self._executor.shutdown(wait=True)


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
