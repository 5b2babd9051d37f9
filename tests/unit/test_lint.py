"""The code passes ruff: `ruff check .` with pyproject.toml's [tool.ruff] settings finds nothing, and
`ruff format --check .` would change nothing."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing():
    # From the repository root, so ruff reads [tool.ruff] there and checks what `ruff check .` checks.
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"ruff reported problems:\n{result.stdout}{result.stderr}"


def test_ruff_format_would_change_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"ruff format would reformat:\n{result.stdout}{result.stderr}"
