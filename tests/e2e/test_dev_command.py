"""The README's first command: `logoforge dev --generate PROMPT --once` brings the stack up and draws a logo."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from logoforge.devstack import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_dev_starts_its_own_stores_and_generates_one_logo(rabbit_url, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LOGOFORGE_RABBIT_URL": rabbit_url,
        "LOGOFORGE_MONGO_URL": f"mongodb://127.0.0.1:{free_port()}",
        "LOGOFORGE_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "LOGOFORGE_PORT": str(free_port()),
        "LOGOFORGE_DATA_DIR": "data",  # relative, as the default `.logoforge` is
        # The API answers 202 before the logo is drawn, as it does behind a queue of other jobs: dev follows it.
        "LOGOFORGE_GENERATE_TIMEOUT_S": "0.01",
        # Spans printed as they end (exporting is off unless an OTEL_* variable asks), and a port that the
        # in-process workers must leave alone: the API's /metrics shows them all.
        "OTEL_TRACES_EXPORTER": "console",
        "LOGOFORGE_METRICS_PORT": str(free_port()),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "logoforge.cli",
            "dev",
            "--generate",
            "a logo of a fox",
            "--once",
            "--size",
            "64",
            "--steps",
            "2",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "LogoForge is up:" in result.stdout
    assert "still queued or drawing; following it" in result.stdout
    assert "SecantusDB" in result.stdout and "SeaweedFS" in result.stdout
    assert re.search(r"Generated job [0-9a-f]{32} \(seed \d+, model .*random weights", result.stdout)
    assert re.search(r"http://127\.0\.0\.1:\d+/static/images/[0-9a-f]{32}/0\.png\?expires=\d+&sig=", result.stdout)
    assert re.search(r"Metrics    http://127\.0\.0\.1:\d+/metrics", result.stdout)
    # One trace from the HTTP request to the stored PNG, exported, and its id in the generator's log line.
    spans = [json.loads(text) for text in re.findall(r"^\{\n.*?^\}$", result.stdout, re.S | re.M)]
    [stored] = [span for span in spans if span["name"] == "store images"]
    trace_id = stored["context"]["trace_id"].removeprefix("0x")
    request = [span for span in spans if span["name"] == "POST /generate" and span["kind"] == "SpanKind.SERVER"]
    assert request and request[0]["context"]["trace_id"].removeprefix("0x") == trace_id
    assert re.search(rf"workers\.generator\.service \[trace {trace_id}\]: job [0-9a-f]{{32}}: 1 image", result.stderr)
    assert (tmp_path / "data" / "mongo" / "db").is_dir() and (tmp_path / "data" / "s3").is_dir()


def test_dev_says_clearly_when_rabbitmq_is_unreachable(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LOGOFORGE_RABBIT_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}/",
    }
    result = subprocess.run(
        [sys.executable, "-m", "logoforge.cli", "dev", "--once"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "RabbitMQ is not reachable" in result.stderr and "rabbitmq-server -detached" in result.stderr
