"""bench/gpu.py runs on CPU in its small mode and prints (and writes) one measured row per requested variant."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# batch, compile, channels-last, warm-up s, s/batch, images/s, peak share ("n/a" on CPU), elapsed s
ROW = re.compile(r"^\s*(\d+)\s+(on|off)\s+(on|off)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)\s+([\d.]+)\s*$")


def test_small_cpu_run_measures_every_variant(tmp_path: Path):
    report = tmp_path / "gpu.json"
    result = subprocess.run(
        [
            sys.executable,
            "bench/gpu.py",
            "--small",
            "--device",
            "cpu",
            "--batches",
            "1,2",
            "--compile",
            "off",
            "--channels-last",
            "both",
            "--repeats",
            "2",
            "--json",
            str(report),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"bench/gpu.py failed:\n{result.stdout}\n{result.stderr}"
    assert "NOT SD1.5 shapes" in result.stdout  # --small narrows the model, and says so

    rows = {}
    for line in result.stdout.splitlines():
        if match := ROW.match(line):
            batch, compiled, channels_last, _, seconds, images_per_s, share, _ = match.groups()
            rows[(int(batch), compiled, channels_last)] = (float(seconds), float(images_per_s), share)
    expected = {(batch, "off", channels_last) for batch in (1, 2) for channels_last in ("off", "on")}
    assert set(rows) == expected, result.stdout
    for (batch, _, _), (seconds, images_per_s, share) in rows.items():
        assert images_per_s > 0
        assert images_per_s == pytest.approx(batch / seconds, rel=0.02)  # s/batch is printed rounded
        assert share == "n/a"

    written = json.loads(report.read_text())["results"]
    assert {(row["batch"], row["compile"], row["channels_last"]) for row in written} == {
        (batch, False, channels_last) for batch in (1, 2) for channels_last in (False, True)
    }
    assert all(row["images_per_s"] > 0 and not row["skipped"] for row in written)
