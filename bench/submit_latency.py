"""POST /jobs latency of this checkout against another one (a baseline commit), side by side.

    git worktree add /tmp/baseline <commit>
    .venv/bin/python bench/submit_latency.py --baseline /tmp/baseline [--requests 300]

Both APIs run as `logoforge api` processes on the same RabbitMQ vhost, SecantusDB and SeaweedFS; requests
alternate between them so that machine noise falls on both. No generator runs: this is the time to accept
a job (record it, publish it, wait for RabbitMQ's confirm), not to draw it. Reports medians, p90 and ratios.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, local_services
from logoforge.devstack import LocalServer, free_port, wait_for_port
from services.settings import DEV_API_KEY

REQUEST = {"prompt": "a logo of a fox", "num_images": 1, "height": 64, "width": 64, "num_steps": 4}


def start_api(checkout: Path, env: dict[str, str], port: int, log: Path) -> LocalServer:
    process = subprocess.Popen(
        [sys.executable, "-m", "logoforge.cli", "api", "--port", str(port)],
        cwd=checkout,
        env={**os.environ, **env, "PYTHONPATH": str(checkout)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_for_port("127.0.0.1", port, process, f"the API of {checkout}")
    return LocalServer(str(checkout), process, log)


async def timed(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    response = await client.post("/jobs", json=REQUEST)
    elapsed = time.perf_counter() - started
    assert response.status_code == 202, response.text
    return elapsed * 1000


async def measure(ports: dict[str, int], requests: int) -> dict[str, list[float]]:
    headers = {"X-API-Key": DEV_API_KEY}
    clients = {
        name: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) for name, port in ports.items()
    }
    for client in clients.values():  # warm up: connections, the broker channel, MongoDB's pool
        for _ in range(20):
            await timed(client)
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(requests):
        for name, client in clients.items():
            samples[name].append(await timed(client))
    for client in clients.values():
        await client.aclose()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the commit to compare with")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with local_services() as env, tempfile.TemporaryDirectory() as tmp:
        ports = {"this": free_port(), "baseline": free_port()}
        servers = [
            start_api(ROOT, env, ports["this"], Path(tmp) / "this.log"),
            start_api(args.baseline.resolve(), env, ports["baseline"], Path(tmp) / "baseline.log"),
        ]
        try:
            samples = asyncio.run(measure(ports, args.requests))
        finally:
            for server in servers:
                server.stop()
    print(f"POST /jobs, {args.requests} requests each, alternating")
    for name, values in samples.items():
        p90 = sorted(values)[int(len(values) * 0.9)]
        print(f"  {name:<8} median {statistics.median(values):6.2f} ms   p90 {p90:6.2f} ms")
    ratio = statistics.median(samples["this"]) / statistics.median(samples["baseline"])
    print(f"  ratio this/baseline (median): {ratio:.2f}")


if __name__ == "__main__":
    main()
