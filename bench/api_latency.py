"""End-to-end latency through the API against the same pipeline called in-process, side by side.

    .venv/bin/python bench/api_latency.py [--runs 20] [--size 64] [--steps 4] [--images 2] [--threads N]

Request: the seed's request (its prompt, 2 images, guidance 8.5) at 64x64 and 4 steps on the tiny model, by
default; `--images 1` for a single image. The API and one generator run as separate processes (`logoforge api`,
`logoforge generator`) on real RabbitMQ, SeaweedFS and SecantusDB; the baseline calls the same saved pipeline
in this process for the same request. `--threads N` gives both sides the same number of torch threads
(the generator through LOGOFORGE_TORCH_THREADS); without it both use torch's default. Runs alternate between
the two so that machine noise falls on both. Reports medians and their ratio (target: 1.15 or less).
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import child, local_services
from logoforge.devstack import free_port
from services.settings import DEV_API_KEY

SEED_PROMPT = (
    "Craft a logo for a vegetarian restaurant blending modern cuisine and plant medicine. Use a luxurious color "
    "palette and symmetrical patterns for an aesthetic look. Subtly incorporate a sacred mushroom motif to "
    "underscore the unique dining experience"
)


def load_pipeline(model_dir: Path):
    import torch
    from diffusers import StableDiffusionPipeline

    pipeline = StableDiffusionPipeline.from_pretrained(str(model_dir), dtype=torch.float32).to("cpu")
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def in_process(pipeline, request: dict, threads: int | None = None) -> None:
    import torch

    if threads:  # per calling thread with OpenMP, as the generator sets it on its model thread
        torch.set_num_threads(threads)
    generator = torch.Generator("cpu").manual_seed(request["seed"])
    with torch.inference_mode():
        pipeline(
            prompt=request["prompt"],
            num_images_per_prompt=request["num_images"],
            height=request["height"],
            width=request["width"],
            num_inference_steps=request["num_steps"],
            guidance_scale=request["guidance_scale"],
            generator=generator,
        )


async def wait_ready(client: httpx.AsyncClient, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if (await client.get("/health/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the API did not become ready")


async def measure(
    runs: int, warmup: int, size: int = 64, steps: int = 4, images: int = 2, threads: int | None = None
) -> None:
    import torch

    from workers.tiny_model import build_tiny_pipeline

    with local_services() as env, tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_pipeline(Path(tmp) / "tiny")
        port = free_port()
        env = {**env, "LOGOFORGE_MODEL": str(model_dir), "LOGOFORGE_PORT": str(port)}
        if threads:
            env["LOGOFORGE_TORCH_THREADS"] = str(threads)
        with child(["generator"], env, Path(tmp) / "generator.log"), child(["api"], env, Path(tmp) / "api.log"):
            pipeline = load_pipeline(model_dir)
            headers = {"X-API-Key": DEV_API_KEY}
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
                await wait_ready(client)
                e2e, direct = [], []
                for run in range(warmup + runs):
                    request = {
                        "prompt": SEED_PROMPT,
                        "num_images": images,
                        "height": size,
                        "width": size,
                        "num_steps": steps,
                        "guidance_scale": 8.5,
                        "seed": run,
                    }
                    started = time.perf_counter()
                    response = await client.post("/generate", json=request)
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    if len(response.json()["images"]) != images:
                        raise RuntimeError(f"the API answered {response.text}")
                    started = time.perf_counter()
                    await asyncio.to_thread(in_process, pipeline, request, threads)
                    direct_elapsed = time.perf_counter() - started
                    if run >= warmup:
                        e2e.append(elapsed)
                        direct.append(direct_elapsed)
    e2e_median, direct_median = statistics.median(e2e), statistics.median(direct)
    print(
        f"runs: {runs} each (after {warmup} warm-up), {size}x{size}, {steps} steps, {images} image(s), "
        f"torch threads {threads or f'default ({torch.get_num_threads()})'} on both sides, tiny model, CPU"
    )
    print(
        f"through the API   median {e2e_median * 1000:8.1f} ms  (min {min(e2e) * 1000:.1f}, max {max(e2e) * 1000:.1f})"
    )
    print(
        f"in-process        median {direct_median * 1000:8.1f} ms  "
        f"(min {min(direct) * 1000:.1f}, max {max(direct) * 1000:.1f})"
    )
    print(f"ratio API / in-process: {e2e_median / direct_median:.3f}  (target <= 1.15)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--size", type=int, default=64, help="height and width (the issue's request: 64)")
    parser.add_argument("--steps", type=int, default=4, help="denoising steps (the issue's request: 4)")
    parser.add_argument("--images", type=int, default=2, help="images per request (the seed's request: 2)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads on both sides (default: torch's)")
    args = parser.parse_args()
    asyncio.run(measure(args.runs, args.warmup, args.size, args.steps, args.images, args.threads))


if __name__ == "__main__":
    main()
