"""GPU fast-path benchmark: images/s of a Stable Diffusion 1.5-shaped pipeline, eager or compiled, NCHW or NHWC.

    .venv/bin/python bench/gpu.py                      # CUDA: 512x512, 30 steps, batches 1,4,8, all 4 variants each
    .venv/bin/python bench/gpu.py --small              # CPU: 64x64, 2 steps, batches 1,2, narrowed model
    .venv/bin/python bench/gpu.py [--batches 1,4,8] [--compile off|on|both] [--channels-last off|on|both]
        [--size 512] [--steps 30] [--repeats 3] [--model sd15|narrow] [--sdpa-backend default|flash|efficient|math]
        [--peak-tflops N] [--time-budget 450] [--json PATH]

The pipeline is built here with random weights (nothing is downloaded): SD1.5's UNet (320/640/1280/1280,
2 layers per block, cross-attention 768), ViT-L/14's text tower (768 wide, 12 layers, 12 heads, vocabulary
49408), the 8x VAE (128/256/512/512), PNDM, no safety checker, and the CLIP tokenizer whose vocabulary
workers/tiny_model.py generates. Each request is one prompt drawn `batch` times (num_images_per_prompt, as the
generator does) with guidance 7.5, so the UNet sees 2x batch; images come back as PIL, as in the generator.
bfloat16 on CUDA, float32 on CPU. `compile` wraps only the UNet (torch.compile, default mode, static shapes,
dynamo reset before each compiled variant so each is compiled alone); `channels-last` converts only the UNet.

Each variant: one warm-up request (for compiled ones it includes the compilation; its time is printed), then
`--repeats` timed requests between torch.cuda.synchronize() calls; seconds per batch is their median. The FLOP
share uses ~1.68 TFLOP per guided denoising step and 2.5 TFLOP per VAE decode, per image, at 512x512 with the
full SD1.5 model (n/a otherwise, and on CPU), against a table of dense bf16 peaks by device name.

Bounded time on an H100 (default run, estimated, not yet measured): build ~20 s; 6 eager variants of 1 + 3
requests, at most ~4 s per batch-8 request, under 60 s; 6 compiled variants, each a cold UNet compile of
~30-60 s plus 4 requests, ~200-330 s: 4.5-7 min. A guard makes sure: a variant starts only if the longest variant of its
kind seen so far (90 s assumed before the first compiled one) still fits before --time-budget (450 s after
start); the others print as "skipped (time budget)". Order: eager before compiled, NCHW before NHWC.

--small: on a 2-core CPU the full SD1.5 shapes took 16 s to build and 4-14 s per 64x64, 2-step request, so
the four small variants (1 + 3 requests each) would take 1.5-4 minutes; --small therefore also narrows every
width about tenfold (same blocks, layers, heads and vocabulary) and the output says so: ~8 s in all.
`--small --model sd15` keeps the full widths.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workers.tiny_model import write_tokenizer

PROMPT = "A minimalist logo for a mountain coffee roastery, flat vector, two colours"
GUIDANCE_SCALE = 7.5
TFLOP_PER_STEP, TFLOP_PER_DECODE = 1.68, 2.5  # per image, SD1.5 at 512x512, the step with guidance
FIRST_COMPILE_GUESS_S = 90.0
# Dense bf16 tensor-core peaks (TFLOP/s) by a part of torch.cuda.get_device_name(); the first match wins.
# A10G's peak is not published (it is not the A10's): None, so n/a unless --peak-tflops gives it.
PEAK_BF16_TFLOPS: tuple[tuple[str, float | None], ...] = (
    ("h100 pcie", 756.0),
    ("h100 nvl", 835.0),
    ("h100", 989.0),
    ("h200 nvl", 835.0),
    ("h200", 989.0),
    ("b200", 2250.0),
    ("a100", 312.0),
    ("l40s", 362.0),
    ("l40", 181.0),
    ("l4", 121.0),
    ("a10g", None),
    ("a10", 125.0),
    ("rtx 4090", 165.0),
    ("rtx 6000 ada", 364.0),
    ("a6000", 155.0),
)


@dataclass(frozen=True)
class ModelShape:
    """The widths that differ between the real SD1.5 shapes and the narrowed CPU model."""

    name: str
    unet_channels: tuple[int, ...]
    text_hidden: int
    text_intermediate: int
    vae_channels: tuple[int, ...]


SD15 = ModelShape("SD1.5 shapes", (320, 640, 1280, 1280), 768, 3072, (128, 256, 512, 512))
NARROW = ModelShape(
    "SD1.5 blocks, widths narrowed ~10x (NOT SD1.5 shapes)", (32, 64, 128, 128), 96, 384, (32, 32, 64, 64)
)


@dataclass(frozen=True)
class Variant:
    batch: int
    compile: bool
    channels_last: bool


@dataclass
class Result:
    batch: int
    compile: bool
    channels_last: bool
    skipped: bool = False
    warmup_s: float = 0.0
    seconds_per_batch: float = 0.0
    images_per_s: float = 0.0
    peak_share: float | None = None
    elapsed_s: float = 0.0


def build_pipeline(shape: ModelShape, device: str, dtype, seed: int = 0):
    """A random-weight StableDiffusionPipeline of `shape`, on `device` in `dtype`, built from config only."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as folder:
        vocab = write_tokenizer(Path(folder))
        tokenizer = CLIPTokenizer(f"{folder}/vocab.json", f"{folder}/merges.txt", model_max_length=77)
    unet = UNet2DConditionModel(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        block_out_channels=shape.unet_channels,
        layers_per_block=2,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=shape.text_hidden,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408,
            hidden_size=shape.text_hidden,
            intermediate_size=shape.text_intermediate,
            projection_dim=shape.text_hidden,
            num_hidden_layers=12,
            num_attention_heads=12,
            max_position_embeddings=77,
            hidden_act="quick_gelu",
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"],
        )
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=shape.vae_channels,
        layers_per_block=2,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        norm_num_groups=32,
        sample_size=512,
    )
    scheduler = PNDMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        skip_prk_steps=True,
        steps_offset=1,
        set_alpha_to_one=False,
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
    pipeline.set_progress_bar_config(disable=True)
    return pipeline.to(device, dtype)


def force_sdpa_backend(pipeline, backend: str):
    """The context that forces the UNet's attention onto `backend` (None for torch's own choice).

    The text encoder's masked attention and the VAE's one 512-wide head fit no flash kernel, so when a backend
    is forced they use plain attention (diffusers' AttnProcessor, transformers' eager): under 0.1% of the FLOPs.
    """
    if backend == "default":
        return None
    from diffusers.models.attention_processor import AttnProcessor
    from torch.nn.attention import SDPBackend, sdpa_kernel

    pipeline.vae.set_attn_processor(AttnProcessor())
    pipeline.text_encoder.set_attn_implementation("eager")
    chosen = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}
    return sdpa_kernel(chosen[backend])


def variants(batches: list[int], compile_choice: str, channels_last_choice: str) -> list[Variant]:
    """Every requested combination: eager before compiled, NCHW before NHWC, small batches first."""
    choices = {"off": (False,), "on": (True,), "both": (False, True)}
    return [
        Variant(batch, compiled, channels_last)
        for compiled in choices[compile_choice]
        for channels_last in choices[channels_last_choice]
        for batch in batches
    ]


def peak_tflops(device_name: str) -> float | None:
    lowered = device_name.lower()
    return next((peak for part, peak in PEAK_BF16_TFLOPS if part in lowered), None)


def draw(pipeline, batch: int, size: int, steps: int, device: str) -> float:
    """Seconds for one request of `batch` images, the device synchronized on both sides."""
    import torch

    synchronize = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    generator = torch.Generator(device).manual_seed(0)
    synchronize()
    started = time.perf_counter()
    pipeline(
        prompt=PROMPT,
        num_images_per_prompt=batch,
        height=size,
        width=size,
        num_inference_steps=steps,
        guidance_scale=GUIDANCE_SCALE,
        generator=generator,
    )
    synchronize()
    return time.perf_counter() - started


def run_variant(pipeline, eager_unet, variant: Variant, args, tflop_per_image: float | None) -> Result:
    import torch

    started = time.perf_counter()
    memory_format = torch.channels_last if variant.channels_last else torch.contiguous_format
    eager_unet.to(memory_format=memory_format)
    pipeline.unet = eager_unet
    if variant.compile:
        torch._dynamo.reset()
        pipeline.unet = torch.compile(eager_unet, dynamic=False)
    warmup_s = sum(draw(pipeline, variant.batch, args.size, args.steps, args.device) for _ in range(args.warmup))
    seconds = statistics.median(
        draw(pipeline, variant.batch, args.size, args.steps, args.device) for _ in range(args.repeats)
    )
    images_per_s = variant.batch / seconds
    share = images_per_s * tflop_per_image / args.peak_tflops if tflop_per_image and args.peak_tflops else None
    pipeline.unet = eager_unet
    return Result(
        **asdict(variant),
        warmup_s=warmup_s,
        seconds_per_batch=seconds,
        images_per_s=images_per_s,
        peak_share=share,
        elapsed_s=time.perf_counter() - started,
    )


def run_all(pipeline, planned: list[Variant], args, tflop_per_image: float | None, started: float) -> list[Result]:
    """Run the variants in order, skipping those the longest of their kind so far says would overrun the budget."""
    eager_unet = pipeline.unet
    longest: dict[bool, float] = {}  # by `compile`: the longest variant so far, which predicts the next
    results = []
    print(
        f"{'batch':>5} {'compile':>7} {'ch_last':>7} {'warm-up s':>9} {'s/batch':>8} {'images/s':>9} "
        f"{'peak bf16':>9} {'elapsed s':>9}",
        flush=True,
    )
    for variant in planned:
        expected_s = longest.get(variant.compile, FIRST_COMPILE_GUESS_S if variant.compile else 0.0)
        if time.perf_counter() - started + expected_s > args.time_budget:
            result = Result(**asdict(variant), skipped=True)
        else:
            result = run_variant(pipeline, eager_unet, variant, args, tflop_per_image)
            longest[variant.compile] = max(longest.get(variant.compile, 0.0), result.elapsed_s)
        results.append(result)
        print(format_row(result), flush=True)
    return results


def format_row(result: Result) -> str:
    flags = f"{result.batch:>5} {'on' if result.compile else 'off':>7} {'on' if result.channels_last else 'off':>7}"
    if result.skipped:
        return f"{flags} skipped (time budget)"
    share = f"{result.peak_share:.1%}" if result.peak_share is not None else "n/a"
    return (
        f"{flags} {result.warmup_s:9.2f} {result.seconds_per_batch:8.3f} {result.images_per_s:9.3f} "
        f"{share:>9} {result.elapsed_s:9.1f}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="CPU-sized: 64x64, 2 steps, batches 1,2, narrow model")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", type=lambda text: [int(part) for part in text.split(",")])
    parser.add_argument("--compile", choices=("off", "on", "both"))
    parser.add_argument("--channels-last", choices=("off", "on", "both"), default="both")
    parser.add_argument("--size", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--model", choices=("sd15", "narrow"))
    parser.add_argument("--warmup", type=int, default=1, help="untimed requests before timing (compiles, if on)")
    parser.add_argument("--repeats", type=int, default=3, help="timed requests per variant; the median is shown")
    parser.add_argument("--sdpa-backend", choices=("default", "flash", "efficient", "math"), default="default")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, instead of the table's")
    parser.add_argument("--time-budget", type=float, default=450.0, help="seconds; later variants are skipped")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    on_cuda = args.device.startswith("cuda")
    args.size = args.size or (64 if args.small else 512)
    args.steps = args.steps or (2 if args.small else 30)
    args.batches = args.batches or ([1, 2] if args.small else [1, 4, 8])
    args.compile = args.compile or ("both" if on_cuda else "off")
    args.model = args.model or ("narrow" if args.small else "sd15")
    if args.size % 8:
        parser.error(f"--size must be divisible by 8, got {args.size}")
    if min(args.batches) < 1 or args.repeats < 1 or args.warmup < 0:
        parser.error(f"--batches and --repeats must be positive, got {args.batches} and {args.repeats}")
    if on_cuda and args.peak_tflops is None:
        args.peak_tflops = peak_tflops(torch.cuda.get_device_name(args.device))
    if not on_cuda:
        args.peak_tflops = None  # the FLOP share is a GPU figure; CPU has no bf16 tensor-core peak to compare to
    return args


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    args = parse_args(argv)
    import torch

    dtype = torch.bfloat16 if args.device.startswith("cuda") else torch.float32
    shape = SD15 if args.model == "sd15" else NARROW
    pipeline = build_pipeline(shape, args.device, dtype)
    device_name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU"
    full_size = shape is SD15 and args.size == 512
    tflop_per_image = args.steps * TFLOP_PER_STEP + TFLOP_PER_DECODE if full_size else None
    print(
        f"device: {device_name} ({args.device}), {str(dtype).removeprefix('torch.')}, "
        f"peak bf16: {f'{args.peak_tflops:.0f} TFLOP/s' if args.peak_tflops else 'n/a'}; torch {torch.__version__}"
    )
    print(
        f"model: {shape.name}, random weights; {args.size}x{args.size}, {args.steps} steps, "
        f"guidance {GUIDANCE_SCALE}, sdpa {args.sdpa_backend}; {args.warmup} warm-up + {args.repeats} timed "
        f"per variant; FLOPs/image: {f'{tflop_per_image:.1f} TFLOP' if tflop_per_image else 'n/a'}"
    )
    print(f"built in {time.perf_counter() - started:.1f} s", flush=True)
    planned = variants(args.batches, args.compile, args.channels_last)
    backend = force_sdpa_backend(pipeline, args.sdpa_backend)
    with torch.inference_mode():
        if backend is None:
            results = run_all(pipeline, planned, args, tflop_per_image, started)
        else:
            with backend:
                results = run_all(pipeline, planned, args, tflop_per_image, started)
    total_s = time.perf_counter() - started
    print(f"total {total_s:.1f} s")
    if args.json:
        report = {
            "device": device_name,
            "dtype": str(dtype),
            "torch": torch.__version__,
            "model": shape.name,
            "size": args.size,
            "steps": args.steps,
            "guidance_scale": GUIDANCE_SCALE,
            "repeats": args.repeats,
            "sdpa_backend": args.sdpa_backend,
            "peak_tflops": args.peak_tflops,
            "tflop_per_image": tflop_per_image,
            "total_s": total_s,
            "results": [asdict(result) for result in results],
        }
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
