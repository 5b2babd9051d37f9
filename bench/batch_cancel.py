"""A job cancelled inside a batch: the batch's time with that job leaving at an early step, against the same batch
with nobody leaving, side by side in one run on the tiny model.

    .venv/bin/python bench/batch_cancel.py [--size 128] [--steps 20] [--stop-at 2] [--repeat 4]

The batch holds three jobs (3, 2 and 1 images: 6 in all); in the "stopped" rounds the 3-image job is stopped at
step `--stop-at`, and its rows leave the batch there, so the other jobs finish with half the work per step.
Reported: the median time from the batch's start to its last job's end, each way, and their ratio.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.generation import GenerationParams
from workers.generator.pipeline import DiffusionModel
from workers.generator.settings import GeneratorSettings
from workers.tiny_model import build_tiny_pipeline


async def main(size: int, steps: int, stop_at: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = DiffusionModel(
            GeneratorSettings(model=str(build_tiny_pipeline(Path(tmp) / "tiny")), batch_max_images=8)
        )
        await model.load()
        try:

            def job(prompt: str, images: int, job_steps: int = steps) -> GenerationParams:
                return GenerationParams(prompt=prompt, num_images=images, height=size, width=size, num_steps=job_steps)

            seconds: dict[str, list[float]] = {"nobody leaves": [], f"3 of 6 images leave at step {stop_at}": []}
            for _ in range(repeat):
                for label in seconds:
                    stop = threading.Event()
                    leaves = label != "nobody leaves"

                    def on_step(step: int, total: int, stop: threading.Event = stop, leaves: bool = leaves) -> None:
                        if leaves and step >= stop_at:
                            stop.set()

                    # A short drawing holds the model thread while the three jobs queue up behind it as one batch.
                    busy = model.submit(job("a logo that holds the thread", 1, job_steps=2), 1)
                    jobs = [
                        model.submit(job("a logo of a heron", 3), 1, on_step=on_step, stop=stop),
                        model.submit(job("a logo of a fox", 2), 2),
                        model.submit(job("a logo of an owl", 1), 3),
                    ]
                    await busy
                    started = time.perf_counter()
                    await asyncio.gather(*jobs, return_exceptions=True)
                    seconds[label].append(time.perf_counter() - started)
        finally:
            await model.close()
    (full, full_s), (stopped, stopped_s) = seconds.items()
    print(f"A batch of 6 images, {size}x{size}, {steps} steps, median of {repeat}:")
    print(f"  {full:34s} {statistics.median(full_s) * 1e3:7.0f} ms")
    print(f"  {stopped:34s} {statistics.median(stopped_s) * 1e3:7.0f} ms")
    print(f"  ratio {statistics.median(stopped_s) / statistics.median(full_s):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--stop-at", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.size, args.steps, args.stop_at, args.repeat))
