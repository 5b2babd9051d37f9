"""What a run leaves behind, as bytes: the adapter (diffusers LoRA safetensors), checkpoints, the loss curve.

S3 layout: `adapters/{version}/pytorch_lora_weights.safetensors` (+ `adapter.json`), and under
`training/{run}/`: `checkpoints/step-NNNNNN.pt` with `checkpoints/latest.json`, `validation/step-NNNNNN.png`,
`loss.json` and `loss.png`.
"""

import io
import json
import tempfile
from pathlib import Path
from typing import Any

from workers.trainer.models import ADAPTER_NAME, Components

ADAPTER_WEIGHTS = "pytorch_lora_weights.safetensors"


def adapter_key(version: str) -> str:
    return f"adapters/{version}/{ADAPTER_WEIGHTS}"


def run_prefix(run_id: str) -> str:
    return f"training/{run_id}/"


def checkpoint_key(run_id: str, step: int) -> str:
    return f"{run_prefix(run_id)}checkpoints/step-{step:06d}.pt"


def latest_checkpoint_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}checkpoints/latest.json"


def validation_key(run_id: str, step: int) -> str:
    return f"{run_prefix(run_id)}validation/step-{step:06d}.png"


def adapter_bytes(components: Components) -> bytes:
    """The LoRA weights as diffusers' `save_lora_weights` writes them, with the LoRA config as metadata
    (so `load_lora_weights` restores alpha as trained)."""
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    unet_layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(components.unet))
    text_layers, text_metadata = None, None
    if getattr(components.text_encoder, "peft_config", None):
        text_layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(components.text_encoder))
        text_metadata = components.text_encoder.peft_config[ADAPTER_NAME].to_dict()
    with tempfile.TemporaryDirectory() as folder:
        StableDiffusionPipeline.save_lora_weights(
            folder,
            unet_lora_layers=unet_layers,
            text_encoder_lora_layers=text_layers,
            unet_lora_adapter_metadata=components.unet.peft_config[ADAPTER_NAME].to_dict(),
            text_encoder_lora_adapter_metadata=text_metadata,
            safe_serialization=True,
        )
        return (Path(folder) / ADAPTER_WEIGHTS).read_bytes()


def checkpoint_bytes(checkpoint: dict[str, Any]) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


def checkpoint_from_bytes(body: bytes) -> dict[str, Any]:
    import torch

    # weights_only: a checkpoint is tensors, numbers and lists; never unpickle arbitrary objects from S3.
    return torch.load(io.BytesIO(body), map_location="cpu", weights_only=True)


def loss_curve_json(losses: list[float], heldout: list[dict[str, float]]) -> bytes:
    return json.dumps({"steps": list(range(1, len(losses) + 1)), "loss": losses, "heldout": heldout}, indent=1).encode()


def loss_curve_png(losses: list[float], heldout: list[dict[str, float]], title: str) -> bytes:
    """Training loss per step (and its moving average) with held-out evaluations, drawn with matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7, 4), dpi=100)
    axes = figure.subplots()
    steps = list(range(1, len(losses) + 1))
    axes.plot(steps, losses, color="#9bb7d4", linewidth=0.8, label="train loss")
    window = max(1, len(losses) // 20)
    if window > 1:
        smooth = [
            sum(losses[max(0, i - window + 1) : i + 1]) / len(losses[max(0, i - window + 1) : i + 1])
            for i in range(len(losses))
        ]
        axes.plot(steps, smooth, color="#1f4e79", linewidth=1.5, label=f"train loss ({window}-step mean)")
    if heldout:
        axes.plot(
            [h["step"] for h in heldout],
            [h["loss"] for h in heldout],
            "o-",
            color="#c0392b",
            label="held-out loss",
        )
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole: no tick at 2.5
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
