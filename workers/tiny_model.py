"""A tiny random-weight Stable Diffusion pipeline built from config, so nothing is ever downloaded.

It has the real architecture's shape where it matters for speed and code paths: a VAE with four blocks
(downsampling by 8, like Stable Diffusion's), a cross-attention UNet, a CLIP text encoder and a CLIP
byte-level BPE tokenizer whose vocabulary is generated here. It is saved with `save_pretrained` and
loaded through the same `from_pretrained` path as real weights. Its images are noise.
"""

import json
from pathlib import Path

TINY_MODEL_NAME = "logoforge/tiny-random-sd (random weights: images are noise)"
_MARKER = "logoforge_tiny.json"


def _byte_alphabet() -> list[str]:
    """The 256 printable stand-ins CLIP's byte-level BPE uses for raw bytes."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in printable]
    codepoints = printable + [256 + n for n in range(len(extra))]
    return [chr(c) for c in codepoints]


def write_tokenizer(folder: Path) -> dict[str, int]:
    """A CLIP tokenizer vocabulary: every byte symbol alone and word-final, plus start/end tokens, no merges."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = _byte_alphabet()
    tokens = symbols + [f"{s}</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: index for index, token in enumerate(tokens)}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return vocab


def build_tiny_pipeline(folder: Path, seed: int = 0) -> Path:
    """Build the tiny pipeline and save it to `folder` (idempotent: an existing build is kept)."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    if (folder / _MARKER).exists():
        return folder
    vocab = write_tokenizer(folder / "tokenizer")
    tokenizer = CLIPTokenizer(
        str(folder / "tokenizer" / "vocab.json"), str(folder / "tokenizer" / "merges.txt"), model_max_length=77
    )
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=64,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=[32, 32, 32, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=4,
        norm_num_groups=32,
        layers_per_block=1,
        sample_size=512,
    )
    end_token = vocab["<|endoftext|>"]
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=end_token,
            pad_token_id=end_token,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=5,
            vocab_size=len(vocab),
            max_position_embeddings=77,
            layer_norm_eps=1e-5,
        )
    )
    scheduler = PNDMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True, steps_offset=1
    )
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    # mypy reads `diffusers.StableDiffusionPipeline` as the placeholder diffusers defines for missing torch.
    pipeline.save_pretrained(folder)  # type: ignore[attr-defined]
    (folder / _MARKER).write_text(json.dumps({"name": TINY_MODEL_NAME, "seed": seed}))
    return folder


def resolve_model_source(model: str, data_dir: Path) -> tuple[str, str]:
    """(what `from_pretrained` loads, the display name): `model`, or the tiny pipeline built under `data_dir`."""
    if model:
        return model, model
    folder = build_tiny_pipeline(data_dir / "models" / "tiny-random-sd")
    return str(folder), TINY_MODEL_NAME
