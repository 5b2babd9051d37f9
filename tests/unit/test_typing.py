"""The code type-checks: mypy, with pyproject.toml's [tool.mypy] settings, finds nothing in the packages."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["schemas", "services", "workers", "bot", "logoforge"]


def test_mypy_finds_no_errors():
    # A subprocess of this interpreter, from the repository root: mypy reads [tool.mypy] from the
    # pyproject.toml there and keeps its cache in .mypy_cache/ (ignored by git), so a rerun takes seconds.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"mypy reported errors:\n{result.stdout}{result.stderr}"
