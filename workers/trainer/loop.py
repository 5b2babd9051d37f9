"""The LoRA train loop under accelerate: one optimizer step at a time, deterministic and resumable.

Every random draw is a function of (seed, micro-step): the order of examples comes from a permutation
per epoch, and noise and timesteps from a generator seeded with the micro-step. A run resumed from a
checkpoint at step N therefore continues exactly as the uninterrupted run would have.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from schemas.training import TrainingConfig
from services.errors import MissingData
from workers.trainer.data import EncodedSet
from workers.trainer.models import Components

logger = logging.getLogger(__name__)

MAX_GRAD_NORM = 1.0
CHECKPOINT_FORMAT = 1


def text_states_for(components: Components, encoded: EncodedSet, indices, trains_text: bool):
    """Cached text-encoder states, or a fresh (differentiable) pass when the text encoder is trained."""
    if encoded.text_states is not None and not trains_text:
        return encoded.text_states[indices].to(components.device, components.weight_dtype)
    return components.text_encoder(encoded.input_ids[indices].to(components.device))[0]


def sample_latents(encoded: EncodedSet, indices, generator, components: Components):
    """Draw from each image's VAE latent distribution, scaled as the UNet expects."""
    import torch

    mean, std = encoded.latent_mean[indices], encoded.latent_std[indices]
    latents = mean + std * torch.randn(mean.shape, generator=generator)
    return (latents * components.vae.config.scaling_factor).to(components.device, components.weight_dtype)


def denoising_loss(components: Components, latents, text_states, noise, timesteps, snr_gamma: float | None):
    """Per-example loss of predicting the noise (or v), optionally Min-SNR-weighted (Hang et al. 2023)."""
    import torch
    from diffusers.training_utils import compute_snr

    scheduler = components.noise_scheduler
    noisy = scheduler.add_noise(latents, noise, timesteps)
    prediction = components.unet(noisy, timesteps, text_states).sample.float()
    if scheduler.config.prediction_type == "v_prediction":
        target = scheduler.get_velocity(latents, noise, timesteps).float()
    else:
        target = noise.float()
    loss = torch.nn.functional.mse_loss(prediction, target, reduction="none").mean(dim=[1, 2, 3])
    if snr_gamma is not None:
        snr = compute_snr(scheduler, timesteps)
        weights = torch.clamp(snr, max=snr_gamma)
        weights = weights / (snr + 1) if scheduler.config.prediction_type == "v_prediction" else weights / snr
        loss = loss * weights
    return loss


@dataclass
class LoopState:
    """What a checkpoint must hold to continue a run exactly: the step and the loss history."""

    step: int = 0
    losses: list[float] = field(default_factory=list)
    heldout: list[dict[str, float]] = field(default_factory=list)


class LoraLoop:
    """Owns the accelerator and optimizer of one run; `step()` does one optimizer step."""

    def __init__(
        self,
        components: Components,
        parameters: list,
        config: TrainingConfig,
        train_set: EncodedSet,
        class_set: EncodedSet | None = None,
    ) -> None:
        import torch
        from accelerate import Accelerator
        from accelerate.state import AcceleratorState

        # accelerate keeps one process-wide state and refuses a second run with another precision;
        # each run is a fresh start here, so clear it (the trainer never runs two at once).
        AcceleratorState._reset_state()
        self.accelerator = Accelerator(
            mixed_precision=config.mixed_precision,
            gradient_accumulation_steps=config.gradient_accumulation_steps,
            cpu=components.device.type == "cpu",
        )
        self.components = components
        self.config = config
        self.train_set = train_set
        self.class_set = class_set
        self.parameters = parameters
        optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=1e-2)
        trained = [components.unet] + ([components.text_encoder] if config.train_text_encoder else [])
        prepared = self.accelerator.prepare(*trained, optimizer)
        self.models, self.optimizer = prepared[:-1], prepared[-1]
        self.state = LoopState()

    @property
    def steps_per_epoch(self) -> int:
        per_step = self.config.batch_size * self.config.gradient_accumulation_steps
        return max(1, -(-len(self.train_set) // per_step))

    def batch_indices(self, micro_step: int, size: int, count: int):
        """Indices of one micro-batch: consecutive slices of a fresh permutation per epoch."""
        import torch

        positions = range(micro_step * size, (micro_step + 1) * size)
        indices = []
        permutations: dict[int, torch.Tensor] = {}  # by epoch; a micro-batch may span two
        for position in positions:
            epoch = position // count
            if epoch not in permutations:
                shuffle = torch.Generator().manual_seed(self.config.seed + epoch)
                permutations[epoch] = torch.randperm(count, generator=shuffle)
            indices.append(int(permutations[epoch][position % count]))
        return torch.tensor(indices)

    def micro_loss(self, micro_step: int):
        import torch

        generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + micro_step)
        loss = self._set_loss(self.train_set, micro_step, generator)
        if self.class_set is not None:
            loss = loss + self.config.prior_loss_weight * self._set_loss(self.class_set, micro_step, generator)
        return loss

    def _set_loss(self, encoded: EncodedSet, micro_step: int, generator):
        import torch

        components = self.components
        indices = self.batch_indices(micro_step, self.config.batch_size, len(encoded))
        latents = sample_latents(encoded, indices, generator, components)
        noise = torch.randn(latents.shape, generator=generator).to(latents.device, latents.dtype)
        steps = components.noise_scheduler.config.num_train_timesteps
        timesteps = torch.randint(0, steps, (len(indices),), generator=generator).to(latents.device)
        states = text_states_for(components, encoded, indices, self.config.train_text_encoder)
        return denoising_loss(
            components,
            latents,
            noise=noise,
            text_states=states,
            timesteps=timesteps,
            snr_gamma=self.config.snr_gamma,
        ).mean()

    def step(self) -> float:
        """One optimizer step (`gradient_accumulation_steps` micro-batches); returns its mean loss."""
        accumulation = self.config.gradient_accumulation_steps
        total = 0.0
        for micro in range(accumulation):
            with self.accelerator.accumulate(*self.models):
                loss = self.micro_loss(self.state.step * accumulation + micro)
                self.accelerator.backward(loss)
                if self.accelerator.sync_gradients:
                    self.accelerator.clip_grad_norm_(self.parameters, MAX_GRAD_NORM)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            total += float(loss.detach())
        self.state.step += 1
        mean = total / accumulation
        self.state.losses.append(mean)
        return mean

    def checkpoint(self) -> dict[str, Any]:
        from workers.trainer.models import lora_state

        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.state.step,
            "losses": list(self.state.losses),
            "heldout": list(self.state.heldout),
            "lora": lora_state(self.components),
            "optimizer": self.optimizer.state_dict(),
        }

    def restore(self, checkpoint: dict[str, Any]) -> None:
        from workers.trainer.models import load_lora_state

        if checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise MissingData(f"checkpoint format {checkpoint.get('format')} is not {CHECKPOINT_FORMAT}")
        load_lora_state(self.components, checkpoint["lora"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.state = LoopState(checkpoint["step"], list(checkpoint["losses"]), list(checkpoint["heldout"]))
        logger.info("resumed at step %d", self.state.step)
