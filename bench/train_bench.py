"""Training benchmark: our trainer vs diffusers' documented LoRA recipe, and adapter hot-swap latency.

    python bench/train_bench.py [--model DIR] [--steps 50] [--batch 4] [--rank 8] [--resolution 64]
                                [--device cpu] [--swap-rounds 3] [--skip-swap]

Part 1 runs each loop in its own fresh process (so peak memory is its own) on the same model, data, rank,
batch size and number of steps, and prints steps/s and peak memory side by side with the ratios
(targets: speed >= 1.0, memory <= 1.0). The reference follows the diffusers LoRA recipe: unet.add_adapter
(LoraConfig on to_q/to_k/to_v/to_out.0), AdamW, every step VAE-encode the batch, encode the captions, add
noise, MSE on the noise. Ours is workers.trainer's LoraLoop (latents and text states encoded once,
accelerate, seeded per step); its one-time encoding is counted in its time. Memory is peak RSS growth
over the loop on CPU (VmHWM after minus RSS before), or peak CUDA memory allocated on a GPU.

Part 2 measures the time from publishing AdapterPromoted to the first image made with that adapter,
through RabbitMQ (127.0.0.1:5672), SeaweedFS, SecantusDB and a generator process-in-process.
"""

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _data(count: int, resolution: int):
    from workers.trainer.data import pixels_from_image
    from workers.trainer.synthetic import synthetic_logos

    logos = synthetic_logos(count, size=resolution, seed=1)
    return [pixels_from_image(logo.image, resolution) for logo in logos], [logo.caption for logo in logos]


def reference_loop(model: str, steps: int, batch: int, rank: int, resolution: int, device: str) -> dict:
    """diffusers' documented text-to-image LoRA recipe, trimmed to the loop."""
    import torch
    from diffusers import DDPMScheduler, StableDiffusionPipeline
    from peft import LoraConfig

    torch.manual_seed(0)
    pipe = StableDiffusionPipeline.from_pretrained(model, safety_checker=None)
    unet, vae, text_encoder, tokenizer = pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer
    noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    for module in (unet, vae, text_encoder):
        module.requires_grad_(False)
        module.to(device)
    unet.add_adapter(
        LoraConfig(
            r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=["to_k", "to_q", "to_v", "to_out.0"]
        )
    )
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    pixels, captions = _data(max(batch * 4, 16), resolution)
    ids = tokenizer(
        captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids
    return _measure(
        device,
        steps,
        lambda step: _reference_step(
            step, batch, pixels, ids, vae, text_encoder, unet, noise_scheduler, optimizer, params, device
        ),
    )


def _reference_step(step, batch, pixels, ids, vae, text_encoder, unet, scheduler, optimizer, params, device):
    import torch
    import torch.nn.functional as F

    index = [(step * batch + i) % len(pixels) for i in range(batch)]
    latents = vae.encode(torch.stack([pixels[i] for i in index]).to(device)).latent_dist.sample()
    latents = latents * vae.config.scaling_factor
    noise = torch.randn_like(latents)
    timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (batch,), device=device)
    noisy = scheduler.add_noise(latents, noise, timesteps)
    states = text_encoder(ids[index].to(device), return_dict=False)[0]
    prediction = unet(noisy, timesteps, states, return_dict=False)[0]
    loss = F.mse_loss(prediction.float(), noise.float(), reduction="mean")
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    optimizer.zero_grad()


def our_loop(model: str, steps: int, batch: int, rank: int, resolution: int, device: str) -> dict:
    import accelerate  # noqa: F401  (imported before measuring: module code is not training memory)

    from schemas.training import TrainingConfig
    from workers.trainer.data import encode_pixels
    from workers.trainer.loop import LoraLoop
    from workers.trainer.models import add_lora, load_components

    config = TrainingConfig(
        rank=rank, alpha=rank, batch_size=batch, resolution=resolution, max_steps=steps, learning_rate=1e-4
    )
    components = load_components(model, config, device)
    pixels, captions = _data(max(batch * 4, 16), resolution)
    state = {}

    def setup() -> None:  # timed: the one-time encoding is part of our cost
        encoded = encode_pixels(components, pixels, captions, cache_text=True)
        state["loop"] = LoraLoop(components, add_lora(components, config), config, encoded)

    return _measure(device, steps, lambda step: state["loop"].step(), setup)


def _measure(device: str, steps: int, step_fn, setup=None) -> dict:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    rss_before = _rss_kb("VmRSS:")
    started = time.perf_counter()
    if setup is not None:
        setup()
    for step in range(steps):
        step_fn(step)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    if device.startswith("cuda"):
        peak_mb = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak_mb = (_rss_kb("VmHWM:") - rss_before) / 1024
    return {
        "steps_per_s": steps / seconds,
        "seconds": seconds,
        "peak_mb": peak_mb,
        "process_peak_rss_mb": _rss_kb("VmHWM:") / 1024,
    }


def _child(name: str, args: dict, queue) -> None:
    import torch

    if args.pop("threads"):
        torch.set_num_threads(args["threads_n"])
    args.pop("threads_n")
    queue.put((reference_loop if name == "reference" else our_loop)(**args))


def compare(args: argparse.Namespace, model: str) -> dict:
    context = multiprocessing.get_context("spawn")
    results = {}
    for name in ("reference", "ours"):
        queue = context.Queue()
        kwargs = {
            "model": model,
            "steps": args.steps,
            "batch": args.batch,
            "rank": args.rank,
            "resolution": args.resolution,
            "device": args.device,
            "threads": args.threads is not None,
            "threads_n": args.threads or 0,
        }
        process = context.Process(target=_child, args=(name, kwargs, queue))
        process.start()
        results[name] = queue.get()
        process.join()
    ref, ours = results["reference"], results["ours"]
    print(f"{'':<10} {'steps/s':>9} {'peak MB':>9} {'process peak RSS MB':>20}")
    for name, row in results.items():
        print(f"{name:<10} {row['steps_per_s']:>9.2f} {row['peak_mb']:>9.1f} {row['process_peak_rss_mb']:>20.1f}")
    speed, memory = ours["steps_per_s"] / ref["steps_per_s"], ours["peak_mb"] / max(ref["peak_mb"], 1e-9)
    print(f"ratios: speed {speed:.2f} (target >= 1.0), memory {memory:.2f} (target <= 1.0)")
    return {"reference": ref, "ours": ours, "speed_ratio": speed, "memory_ratio": memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="diffusers folder; default: the tiny random model")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads in each loop process")
    parser.add_argument("--swap-rounds", type=int, default=3)
    parser.add_argument("--skip-swap", action="store_true")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = args.model
        if not model:
            from workers.tiny_model import build_tiny_pipeline

            model = str(build_tiny_pipeline(Path(folder) / "tiny"))
        figures = {"training": compare(args, model)}
        if not args.skip_swap:
            from bench.swap_latency import measure_swap

            figures["swap"] = asyncio.run(measure_swap(model, args.swap_rounds))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
