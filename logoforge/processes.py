"""A `logoforge` subcommand as a child process (settings passed as env): what fault tests kill and benches run."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from logoforge.devstack import LocalServer

ROOT = Path(__file__).resolve().parents[1]


def settings_env(settings: BaseSettings) -> dict[str, str]:
    """The `LOGOFORGE_*` variables that make a process read exactly these settings."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = json.dumps([v.get_secret_value() if isinstance(v, SecretStr) else v for v in value])
        env[f"LOGOFORGE_{name.upper()}"] = str(value)
    return env


class LogoforgeProcess:
    """`python -m logoforge.cli ARGS` with the given settings (or LOGOFORGE_* variables); output to `log_path`."""

    def __init__(self, settings: BaseSettings | dict[str, str], *args: str, log_path: Path) -> None:
        env = settings if isinstance(settings, dict) else settings_env(settings)
        self._args = args
        self._env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self._log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> "LogoforgeProcess":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "logoforge.cli", *self._args],
            cwd=ROOT,
            env=self._env,
            stdout=self._log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        """kill -9: no shutdown hook runs, nothing is acknowledged on the way out."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Terminate (the process's shutdown hooks run), killing it if it is not gone within 10 s."""
        if self.process is not None:
            LocalServer(" ".join(self._args), self.process, self._log_path).stop()

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")
