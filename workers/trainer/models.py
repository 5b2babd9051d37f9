"""Model preparation: load the frozen Stable Diffusion parts and put LoRA layers on them with peft."""

import logging
from dataclasses import dataclass
from typing import Any

from schemas.training import TrainingConfig
from services.errors import InvalidInput

logger = logging.getLogger(__name__)

# The attention projections of the UNet and of CLIP's text encoder, as diffusers' LoRA recipes target.
UNET_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
TEXT_ENCODER_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]
ADAPTER_NAME = "default"


@dataclass
class Components:
    """The pipeline's parts as training uses them; `noise_scheduler` is the base model's DDPM schedule."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    noise_scheduler: Any
    inference_scheduler: Any
    device: Any
    weight_dtype: Any

    def pipeline(self):
        """A StableDiffusionPipeline over these same modules (no copy), for validation and class images."""
        from diffusers import StableDiffusionPipeline

        pipeline = StableDiffusionPipeline(
            unet=self.unet,
            vae=self.vae,
            text_encoder=self.text_encoder,
            tokenizer=self.tokenizer,
            scheduler=self.inference_scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
        # mypy reads `diffusers.StableDiffusionPipeline` as the placeholder diffusers defines for missing torch.
        pipeline.set_progress_bar_config(disable=True)  # type: ignore[attr-defined]
        return pipeline


def weight_dtype_for(mixed_precision: str):
    """Frozen weights are stored in the mixed-precision type to save memory; LoRA weights stay float32."""
    import torch

    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mixed_precision, torch.float32)


def check_device(config: TrainingConfig, device: str) -> None:
    if config.mixed_precision == "fp16" and not device.startswith("cuda"):
        raise InvalidInput(f"config.mixed_precision: 'fp16' needs a CUDA device, the trainer runs on {device!r}")


def load_components(source: str, config: TrainingConfig, device: str) -> Components:
    """Load every part frozen, in the weight dtype, on `device`."""
    import torch
    from diffusers import DDPMScheduler, StableDiffusionPipeline

    check_device(config, device)
    dtype = weight_dtype_for(config.mixed_precision)
    pipeline = StableDiffusionPipeline.from_pretrained(source, dtype=dtype, safety_checker=None)
    for module in (pipeline.unet, pipeline.vae, pipeline.text_encoder):
        module.requires_grad_(False)
        module.to(device)
    return Components(
        unet=pipeline.unet,
        vae=pipeline.vae,
        text_encoder=pipeline.text_encoder,
        tokenizer=pipeline.tokenizer,
        noise_scheduler=DDPMScheduler.from_config(pipeline.scheduler.config),
        inference_scheduler=pipeline.scheduler,
        device=torch.device(device),
        weight_dtype=dtype,
    )


def lora_config(config: TrainingConfig, targets: list[str]):
    """peft's LoraConfig for `targets` with the run's rank and alpha."""
    from peft import LoraConfig

    # peft annotates lora_alpha as int but only divides by it (scaling = alpha / r), and diffusers passes it
    # float alphas when loading adapters: TrainingConfig's fractional alphas work as they are, not rounded.
    return LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,  # type: ignore[arg-type]
        init_lora_weights="gaussian",
        target_modules=targets,
    )


def add_lora(components: Components, config: TrainingConfig) -> list:
    """Add the trainable LoRA layers (UNet, text encoder if asked); return the trainable parameters."""
    import torch
    from diffusers.training_utils import cast_training_params

    # peft draws the LoRA "A" matrices from torch's global generator: seed it, so a run is reproducible.
    torch.manual_seed(config.seed)
    components.unet.add_adapter(lora_config(config, UNET_TARGETS), adapter_name=ADAPTER_NAME)
    modules = [components.unet]
    if config.train_text_encoder:
        text_config = lora_config(config, TEXT_ENCODER_TARGETS)
        try:
            components.text_encoder.add_adapter(text_config, adapter_name=ADAPTER_NAME)
        except ValueError as error:
            # transformers 5 wants a newer peft for text-encoder adapters; diffusers loads them the same way,
            # so a generator could not serve such an adapter either: refuse the setting, by name.
            raise InvalidInput(
                f"config.train_text_encoder: not available with the installed libraries ({error})"
            ) from error
        modules.append(components.text_encoder)
    if config.gradient_checkpointing:
        components.unet.enable_gradient_checkpointing()
        if config.train_text_encoder:
            components.text_encoder.gradient_checkpointing_enable()
    # The optimizer keeps float32 LoRA weights even when the frozen base is in half precision.
    cast_training_params(modules, dtype=torch.float32)
    parameters = [p for module in modules for p in module.parameters() if p.requires_grad]
    logger.info(
        "LoRA rank %d on %d modules: %d trainable parameters",
        config.rank,
        len(modules),
        sum(p.numel() for p in parameters),
    )
    return parameters


def lora_state(components: Components) -> dict[str, Any]:
    """The LoRA weights in peft's naming, for checkpoints (UNet keys, then text encoder keys prefixed)."""
    from peft.utils import get_peft_model_state_dict

    state = {f"unet.{k}": v.detach().cpu() for k, v in get_peft_model_state_dict(components.unet).items()}
    if getattr(components.text_encoder, "peft_config", None):
        text = get_peft_model_state_dict(components.text_encoder)
        state.update({f"text_encoder.{k}": v.detach().cpu() for k, v in text.items()})
    return state


def load_lora_state(components: Components, state: dict[str, Any]) -> None:
    from peft.utils import set_peft_model_state_dict

    for prefix, module in (("unet.", components.unet), ("text_encoder.", components.text_encoder)):
        part = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if part:
            set_peft_model_state_dict(module, part, adapter_name=ADAPTER_NAME)
