"""Closed-loop throughput: LogoForge against the seed's design, with 1 and 8 concurrent clients, side by side.

    .venv/bin/python bench/throughput.py [--clients 1,8] [--seconds 20] [--size 64] [--steps 4] [--threads N]

Each client sends a seed-style request (one image, 64x64, 4 steps, guidance 8.5, the tiny model) and the next one
as soon as the last was answered. The seed's design is a FastAPI app calling the same saved pipeline under a
lock, one request at a time, saving the PNG to disk and answering its path (`--serve-seed`, a process of its
own). LogoForge is the API and one generator (processes of their own) on real RabbitMQ, SeaweedFS and
SecantusDB: `POST /generate`, answered with signed URLs once the images are stored. Both sides get the same
number of torch threads (`--threads`, default torch's). Per client count, the two are measured one after the
other, each for `--seconds` after a warm-up; reported: images/s, median and p95 latency, and the ratios
(targets at 8 clients: images/s at least 3x the seed's, p95 no worse; at 1 client: images/s at least 0.9x).

Per row it also reports where the machine's CPU went, in CPU milliseconds per image served, by process (read from
/proc before and after the row): on a small machine the model shares its cores with the API, the stores and the
broker, and this is the budget that bounds images/s.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import child, local_services
from logoforge.devstack import free_port
from services.settings import DEV_API_KEY

PROMPTS = ["a logo of a fox", "a logo of an owl with a key", "a minimal heron logo", "a coffee shop logo, flat"]


def seed_app(model_dir: str, threads: int | None, out_dir: str):
    """The seed's server: one pipeline, one lock, the request drawn in a worker thread, PNGs written to disk."""
    import torch
    from diffusers import StableDiffusionPipeline
    from fastapi import FastAPI
    from pydantic import BaseModel

    pipeline = StableDiffusionPipeline.from_pretrained(model_dir, dtype=torch.float32).to("cpu")
    pipeline.set_progress_bar_config(disable=True)
    lock = asyncio.Lock()
    app = FastAPI()

    class Request(BaseModel):
        prompt: str
        seed: int = 0
        num_images: int = 1
        height: int = 64
        width: int = 64
        num_steps: int = 4
        guidance_scale: float = 8.5

    def draw(request: Request) -> list[str]:
        if threads:
            torch.set_num_threads(threads)
        generator = torch.Generator("cpu").manual_seed(request.seed)
        with torch.inference_mode():
            images = pipeline(
                prompt=request.prompt,
                num_images_per_prompt=request.num_images,
                height=request.height,
                width=request.width,
                num_inference_steps=request.num_steps,
                guidance_scale=request.guidance_scale,
                generator=generator,
            ).images
        paths = []
        for index, image in enumerate(images):
            path = Path(out_dir) / f"{request.seed}-{index}.png"
            image.save(path, format="PNG")
            paths.append(str(path))
        return paths

    @app.post("/generate")
    async def generate(request: Request) -> dict:
        async with lock:
            paths = await asyncio.to_thread(draw, request)
        return {"images": [{"url": path} for path in paths]}

    @app.get("/health/ready")
    async def ready() -> dict:
        return {"status": "ready"}

    return app


# What each process is, by a word of its command line (the first that matches names it).
PROCESS_NAMES = [
    ("--serve-seed", "seed's server"),
    ("generator", "LogoForge generator"),
    (" api", "LogoForge API"),
    ("secantusd", "SecantusDB (MongoDB)"),
    ("weed", "SeaweedFS (S3)"),
    ("beam.smp", "RabbitMQ"),
    ("throughput.py", "benchmark clients"),
]


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) every process has used so far, summed by what the process is."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                command = file.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        name = next((label for word, label in PROCESS_NAMES if word in command), "other")
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return used


def cpu_per_image(load: "Load") -> str:
    """Where the CPU went while the row was counted, per image counted (busy and idle cores: 2 s per s here)."""
    spent = {name: load.cpu_after.get(name, 0.0) - load.cpu_before.get(name, 0.0) for name in load.cpu_after}
    shown = sorted(
        ((ms, name) for name, seconds in spent.items() if (ms := seconds * 1e3 / load.images) >= 0.5), reverse=True
    )
    total = sum(spent.values()) * 1e3 / load.images
    return f"  CPU ms per image: {total:.1f} in all: " + ", ".join(f"{name} {ms:.1f}" for ms, name in shown)


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    images: int = 0
    elapsed_s: float = 0.0
    cpu_before: dict[str, float] = field(default_factory=dict)  # CPU seconds by process when counting began
    cpu_after: dict[str, float] = field(default_factory=dict)  # and when it ended

    @property
    def images_per_s(self) -> float:
        return self.images / self.elapsed_s

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def closed_loop(url: str, clients: int, seconds: float, warmup_s: float, size: int, steps: int) -> Load:
    """`clients` loops, each sending its next request when the last was answered; counted after `warmup_s`."""
    load = Load()
    started = time.perf_counter()
    counting_from = started + warmup_s
    ends_at = counting_from + seconds

    async def client(number: int, http: httpx.AsyncClient) -> None:
        sent = 0
        while time.perf_counter() < ends_at:
            request = {
                # Every prompt is new (as from many people): no side gains from having seen it before.
                "prompt": f"{PROMPTS[(number + sent) % len(PROMPTS)]}, no. {number}-{sent}",
                "seed": number * 100_000 + sent,
                "num_images": 1,
                "height": size,
                "width": size,
                "num_steps": steps,
                "guidance_scale": 8.5,
            }
            began = time.perf_counter()
            response = await http.post("/generate", json=request)
            answered = time.perf_counter()
            if response.status_code != 200 or len(response.json()["images"]) != 1:
                raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
            sent += 1
            if began >= counting_from and answered <= ends_at:
                load.latencies.append(answered - began)
                load.images += 1

    async def sample_cpu() -> None:
        await asyncio.sleep(warmup_s)
        load.cpu_before = cpu_seconds()
        await asyncio.sleep(seconds)
        load.cpu_after = cpu_seconds()

    headers = {"X-API-Key": DEV_API_KEY, "X-User-Id": "bench"}
    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300, limits=limits) as http:
        await asyncio.gather(sample_cpu(), *(client(number, http) for number in range(clients)))
    load.elapsed_s = seconds
    return load


async def wait_ready(url: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get("/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


def row(name: str, load: Load) -> str:
    return (
        f"  {name:<10} {load.images_per_s:8.2f} images/s   median {statistics.median(load.latencies) * 1e3:8.1f} ms"
        f"   p95 {load.percentile(0.95) * 1e3:8.1f} ms   ({load.images} images)"
    )


async def measure(
    clients: list[int], seconds: float, warmup_s: float, size: int, steps: int, threads: int | None
) -> None:
    import torch

    from workers.tiny_model import build_tiny_pipeline

    with local_services() as env, tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_pipeline(Path(tmp) / "tiny")
        api_port, seed_port = free_port(), free_port()
        env = {
            **env,
            "LOGOFORGE_MODEL": str(model_dir),
            "LOGOFORGE_PORT": str(api_port),
            "LOGOFORGE_LOG_LEVEL": "WARNING",
        }
        if threads:
            env["LOGOFORGE_TORCH_THREADS"] = str(threads)
        seed_command = [
            sys.executable,
            __file__,
            "--serve-seed",
            str(seed_port),
            str(model_dir),
            str(threads or 0),
            str(Path(tmp) / "seed-images"),
        ]
        (Path(tmp) / "seed-images").mkdir()
        seed_log = (Path(tmp) / "seed.log").open("wb")
        seed = await asyncio.create_subprocess_exec(*seed_command, stdout=seed_log, stderr=seed_log)
        try:
            with child(["generator"], env, Path(tmp) / "generator.log"), child(["api"], env, Path(tmp) / "api.log"):
                logoforge_url, seed_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{seed_port}"
                await wait_ready(logoforge_url)
                await wait_ready(seed_url)
                print(
                    f"{size}x{size}, {steps} steps, 1 image per request, tiny model, CPU, torch threads "
                    f"{threads or f'default ({torch.get_num_threads()})'} on both sides; {seconds:.0f} s measured "
                    f"after {warmup_s:.0f} s warm-up per row"
                )
                for count in clients:
                    seed_load = await closed_loop(seed_url, count, seconds, warmup_s, size, steps)
                    ours = await closed_loop(logoforge_url, count, seconds, warmup_s, size, steps)
                    print(f"{count} client(s):")
                    print(row("seed", seed_load))
                    print(cpu_per_image(seed_load))
                    print(row("LogoForge", ours))
                    print(cpu_per_image(ours))
                    print(
                        f"  ratio: images/s {ours.images_per_s / seed_load.images_per_s:.2f}x, "
                        f"p95 latency {ours.percentile(0.95) / seed_load.percentile(0.95):.2f}x"
                    )
        finally:
            seed.terminate()
            await seed.wait()


def serve_seed(port: int, model_dir: str, threads: int, out_dir: str) -> None:
    import uvicorn

    uvicorn.run(seed_app(model_dir, threads or None, out_dir), host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-seed":
        port, model_dir, threads, out_dir = sys.argv[2:6]
        serve_seed(int(port), model_dir, int(threads), out_dir)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,8", help="client counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per row")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before counting, per row")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None, help="torch threads on both sides (default: torch's)")
    args = parser.parse_args()
    clients = [int(count) for count in args.clients.split(",")]
    asyncio.run(measure(clients, args.seconds, args.warmup, args.size, args.steps, args.threads))


if __name__ == "__main__":
    main()
