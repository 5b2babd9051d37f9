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
TITLE_LINE_HEIGHT = 12
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
    width = cell_width * len(images)
    # The title wrapped to the grid's width (a run's id is longer than one small image is wide): never cut.
    title_lines = _wrapped(ImageDraw.Draw(Image.new("RGB", (1, 1))), title, width - 8)
    top = 4 + TITLE_LINE_HEIGHT * len(title_lines)
    grid = Image.new("RGB", (width, top + size + CAPTION_HEIGHT), "white")
    draw = ImageDraw.Draw(grid)
    draw.multiline_text((4, 2), "\n".join(title_lines), fill="black", spacing=1)
    for index, (image, prompt) in enumerate(zip(images, prompts, strict=True)):
        left = index * cell_width
        grid.paste(image, (left + (cell_width - image.width) // 2, top))
        lines = textwrap.wrap(prompt, width=max(10, cell_width // 6))[:3]
        draw.multiline_text((left + 2, top + 2 + size), "\n".join(lines), fill="black", spacing=1)
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    return buffer.getvalue()


def _wrapped(draw, text: str, max_width: float) -> list[str]:
    """`text` in lines no wider than `max_width` as drawn; a word wider than that is broken where it must be."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if draw.textlength(candidate) <= max_width:
            line = candidate
            continue
        if draw.textlength(word) <= max_width:  # the word fits a line of its own
            lines.append(line)
            line = word
            continue
        line = f"{line} " if line else ""  # too long for any line: broken, starting on this one
        for char in word:
            if line and draw.textlength(line + char) > max_width:
                lines.append(line)
                line = ""
            line += char
    return [*lines, line] if line else lines
