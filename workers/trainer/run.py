"""One training run from prepared examples to a trained adapter, on the trainer's dedicated thread.

The steps, each its own function: prepare models, build the encoded sets (with DreamBooth class
images), measure the baselines, resume from the last checkpoint, loop (progress, checkpoints,
validation), and package the outcome. Storage goes through `RunIO`, whose methods block this thread
(never the event loop) until S3 has the bytes.
"""

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from schemas.training import TrainingConfig
from workers.trainer import artifacts
from workers.trainer.data import EncodedSet, Example, encode_pixels, encode_set, pixels_from_image
from workers.trainer.evaluation import grid_png, heldout_loss, validation_images
from workers.trainer.loop import LoraLoop
from workers.trainer.models import Components, add_lora, load_components

logger = logging.getLogger(__name__)

IN_SERVICE_NAME = "in_service_baseline"
MAX_DEFAULT_PROMPTS = 4


class RunIO(Protocol):
    """The blocking storage and reporting a run needs (see TrainerService's bridge)."""

    def put(self, key: str, body: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def progress(self, step: int, max_steps: int, loss: float, seconds_left: float | None) -> None: ...


@dataclass
class RunPlan:
    run_id: str
    config: TrainingConfig
    model_source: str
    device: str
    train: list[Example]
    heldout: list[Example]
    in_service: tuple[str, bytes] | None = None  # (version, adapter weights) to compare against


@dataclass
class RunOutcome:
    metrics: dict[str, float]
    adapter: bytes
    losses: list[float]
    heldout: list[dict[str, float]] = field(default_factory=list)
    validation_keys: list[str] = field(default_factory=list)
    resumed_from: int = 0


def class_images_set(components: Components, config: TrainingConfig) -> EncodedSet | None:
    """DreamBooth prior preservation: images of the class from the base model, made before any LoRA."""
    import torch

    if config.mode != "dreambooth" or not config.class_prompt:
        return None
    pipeline = components.pipeline()
    generator = torch.Generator().manual_seed(config.seed)
    pixels: list[torch.Tensor] = []
    with torch.no_grad():
        while len(pixels) < config.num_class_images:
            count = min(4, config.num_class_images - len(pixels))
            result = pipeline(
                prompt=config.class_prompt,
                num_images_per_prompt=count,
                height=config.resolution,
                width=config.resolution,
                num_inference_steps=config.inference_steps,
                generator=generator,
            )
            pixels += [pixels_from_image(image, config.resolution) for image in result.images]
    return encode_pixels(components, pixels, [config.class_prompt] * len(pixels), cache_text=True)


def baseline_losses(components: Components, heldout: EncodedSet, in_service: tuple[str, bytes] | None) -> dict:
    """Held-out loss of the base model and of the adapter in service, before our LoRA exists."""
    metrics = {"heldout_loss_base": heldout_loss(components, heldout)}
    if in_service is not None:
        version, weights = in_service
        pipeline = components.pipeline()
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / artifacts.ADAPTER_WEIGHTS).write_bytes(weights)
            pipeline.load_lora_weights(folder, weight_name=artifacts.ADAPTER_WEIGHTS, adapter_name=IN_SERVICE_NAME)
        metrics["heldout_loss_in_service"] = heldout_loss(components, heldout)
        pipeline.delete_adapters(IN_SERVICE_NAME)
        logger.info("adapter in service %s: held-out loss %.5f", version, metrics["heldout_loss_in_service"])
    return metrics


def resume(loop: LoraLoop, run_id: str, io: RunIO) -> int:
    """Continue from the last checkpoint of this run, if one was saved; return the step resumed at."""
    import json

    pointer = io.get(artifacts.latest_checkpoint_key(run_id))
    if pointer is None:
        return 0
    body = io.get(json.loads(pointer)["key"])
    if body is None:
        logger.warning("run %s: checkpoint pointer names a missing object; starting over", run_id)
        return 0
    loop.restore(artifacts.checkpoint_from_bytes(body))
    return loop.state.step


def save_checkpoint(loop: LoraLoop, run_id: str, io: RunIO) -> None:
    import json

    key = artifacts.checkpoint_key(run_id, loop.state.step)
    io.put(key, artifacts.checkpoint_bytes(loop.checkpoint()), "application/octet-stream")
    # The pointer is written after the checkpoint itself, so it never names a half-written one.
    io.put(
        artifacts.latest_checkpoint_key(run_id),
        json.dumps({"step": loop.state.step, "key": key}).encode(),
        "application/json",
    )


def validate(loop: LoraLoop, plan: RunPlan, heldout: EncodedSet, prompts: list[str], io: RunIO) -> str:
    """Held-out loss into the history, and the validation grid to S3; returns the grid's key."""
    step = loop.state.step
    loss = heldout_loss(loop.components, heldout)
    loop.state.heldout.append({"step": step, "loss": loss})
    config = plan.config
    images = validation_images(loop.components, prompts, config.resolution, config.inference_steps, config.seed)
    key = artifacts.validation_key(plan.run_id, step)
    title = f"run {plan.run_id} step {step}/{config.max_steps}  held-out loss {loss:.4f}"
    io.put(key, grid_png(images, prompts, title), "image/png")
    return key


def validation_prompts(config: TrainingConfig, train: list[Example]) -> list[str]:
    """The configured prompts, else the first few distinct training captions."""
    if config.validation_prompts:
        return config.validation_prompts
    return list(dict.fromkeys(e.caption for e in train))[:MAX_DEFAULT_PROMPTS]


def execute(plan: RunPlan, io: RunIO) -> RunOutcome:
    """The whole run; every step is one of the functions above."""
    config = plan.config
    started = time.monotonic()
    components = load_components(plan.model_source, config, plan.device)
    class_set = class_images_set(components, config)
    train_set = encode_set(components, plan.train, config.resolution, cache_text=not config.train_text_encoder)
    heldout_set = encode_set(components, plan.heldout, config.resolution, cache_text=False)
    metrics = baseline_losses(components, heldout_set, plan.in_service)
    loop = LoraLoop(components, add_lora(components, config), config, train_set, class_set)
    resumed_from = resume(loop, plan.run_id, io)
    prompts = validation_prompts(config, plan.train)
    validate_every = config.validate_every or loop.steps_per_epoch
    keys = _train(loop, plan, heldout_set, prompts, validate_every, io)
    if not loop.state.heldout or loop.state.heldout[-1]["step"] != loop.state.step:
        keys.append(validate(loop, plan, heldout_set, prompts, io))
    metrics.update(
        heldout_loss=loop.state.heldout[-1]["loss"],
        train_loss=sum(loop.state.losses[-10:]) / max(1, len(loop.state.losses[-10:])),
        steps=float(loop.state.step),
        train_examples=float(len(plan.train)),
        heldout_examples=float(len(plan.heldout)),
        heldout_is_train=float(plan.train == plan.heldout),
        seconds=time.monotonic() - started,
    )
    return RunOutcome(
        metrics,
        artifacts.adapter_bytes(components),
        loop.state.losses,
        loop.state.heldout,
        keys,
        resumed_from,
    )


def _train(
    loop: LoraLoop, plan: RunPlan, heldout: EncodedSet, prompts: list[str], validate_every: int, io: RunIO
) -> list[str]:
    config = plan.config
    keys: list[str] = []
    first_step, clock = loop.state.step, time.monotonic()
    while loop.state.step < config.max_steps:
        loss = loop.step()
        step = loop.state.step
        done = step - first_step
        seconds_left = (time.monotonic() - clock) / done * (config.max_steps - step)
        if step % config.checkpoint_every == 0 and step < config.max_steps:
            save_checkpoint(loop, plan.run_id, io)
        if step % validate_every == 0:
            keys.append(validate(loop, plan, heldout, prompts, io))
        io.progress(step, config.max_steps, loss, seconds_left)
    return keys


def describe_outcome(outcome: RunOutcome) -> dict[str, Any]:
    return {key: round(value, 6) for key, value in outcome.metrics.items()}
