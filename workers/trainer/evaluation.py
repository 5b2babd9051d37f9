"""Validation: a held-out denoising loss that is comparable between adapters, and validation image grids.

The held-out loss uses fixed noise, a fixed latent draw and fixed, evenly spaced timesteps for each
held-out example, so two evaluations differ only by the weights: the base model, the adapter in
service and the new adapter are all measured on exactly the same problem. It is plain MSE (no SNR
weighting), whatever the run trained with, so adapters trained with different settings compare.
"""

import io
import textwrap

from workers.trainer.data import EncodedSet
from workers.trainer.loop import denoising_loss, sample_latents
from workers.trainer.models import Components

HELDOUT_SEED = 20_240_611
HELDOUT_TIMESTEPS = 8
CAPTION_HEIGHT = 36


def heldout_loss(components: Components, heldout: EncodedSet, timesteps: int = HELDOUT_TIMESTEPS) -> float:
    """Mean denoising MSE over the held-out examples at `timesteps` evenly spaced noise levels."""
    import torch

    total_steps = components.noise_scheduler.config.num_train_timesteps
    levels = torch.linspace(0, total_steps - 1, timesteps).round().long()
    generator = torch.Generator().manual_seed(HELDOUT_SEED)
    was_training = components.unet.training
    components.unet.eval()
    losses = []
    with torch.no_grad():
        for index in range(len(heldout)):
            indices = torch.tensor([index] * timesteps)
            latents = sample_latents(heldout, indices[:1], generator, components).repeat(timesteps, 1, 1, 1)
            noise = torch.randn(latents.shape, generator=generator).to(latents.device, latents.dtype)
            states = _text_states(components, heldout, indices)
            loss = denoising_loss(components, latents, states, noise, levels.to(latents.device), snr_gamma=None)
            losses.append(loss.mean().item())
    components.unet.train(was_training)
    return float(sum(losses) / len(losses))


def _text_states(components: Components, encoded: EncodedSet, indices):
    # Always through the text encoder as it is now: it may carry a LoRA of its own.
    return components.text_encoder(encoded.input_ids[indices].to(components.device))[0]


def validation_images(components: Components, prompts: list[str], resolution: int, steps: int, seed: int) -> list:
    """One image per prompt from the model as it is now (LoRA included), each with its own fixed seed."""
    import torch

    pipeline = components.pipeline()
    was_training = components.unet.training
    components.unet.eval()
    images = []
    with torch.no_grad():
        for index, prompt in enumerate(prompts):
            generator = torch.Generator().manual_seed(seed + index)
            result = pipeline(
                prompt=prompt,
                height=resolution,
                width=resolution,
                num_inference_steps=steps,
                generator=generator,
            )
            images.append(result.images[0])
    components.unet.train(was_training)
    return images


def grid_png(images: list, prompts: list[str], title: str) -> bytes:
    """The images side by side, each with its prompt underneath, and a title line: one PNG."""
    from PIL import Image, ImageDraw

    size = max(image.width for image in images)
    cell_width = max(size, 160)
    width, height = cell_width * len(images), 16 + size + CAPTION_HEIGHT
    grid = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(grid)
    draw.text((4, 2), title, fill="black")
    for index, (image, prompt) in enumerate(zip(images, prompts, strict=True)):
        left = index * cell_width
        grid.paste(image, (left + (cell_width - image.width) // 2, 16))
        lines = textwrap.wrap(prompt, width=max(10, cell_width // 6))[:3]
        draw.multiline_text((left + 2, 18 + size), "\n".join(lines), fill="black", spacing=1)
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    return buffer.getvalue()
