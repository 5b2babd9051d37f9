"""The API (and every non-GPU process) must start without torch installed: its imports never reach it."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "diffusers", "transformers", "peft", "accelerate")


def test_api_and_cli_import_no_model_library():
    code = (
        "import sys, services.api.app, logoforge.cli, logoforge.dev, services.ops.queues\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_only_the_gpu_extra_depends_on_torch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(dep.startswith(HEAVY) for dep in project["dependencies"])
    for extra, deps in project["optional-dependencies"].items():
        if extra not in ("gpu", "all"):
            assert not any(dep.startswith(HEAVY) for dep in deps), extra
