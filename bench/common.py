"""Shared set-up for benchmarks: real local services on free ports, a RabbitMQ vhost, child processes."""

import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

from logoforge.devstack import SeaweedS3, SecantusMongo
from logoforge.processes import LogoforgeProcess

RABBIT = "amqp://guest:guest@127.0.0.1:5672"
ROOT = Path(__file__).resolve().parent.parent


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def local_services():
    """Yield LOGOFORGE_* settings for a fresh vhost, SecantusDB and SeaweedFS; tear everything down after."""
    vhost = f"logoforge-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="logoforge-bench-") as tmp:
        mongo = SecantusMongo(Path(tmp) / "mongo").start()
        s3 = SeaweedS3(Path(tmp) / "s3", "bench", "bench-secret").start()
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        try:
            yield {
                "LOGOFORGE_RABBIT_URL": f"{RABBIT}/{vhost}",
                "LOGOFORGE_MONGO_URL": mongo.url,
                "LOGOFORGE_MONGO_DB": "bench",
                "LOGOFORGE_S3_ENDPOINT": s3.endpoint,
                "LOGOFORGE_S3_ACCESS_KEY": "bench",
                "LOGOFORGE_S3_SECRET_KEY": "bench-secret",
                "LOGOFORGE_DATA_DIR": str(Path(tmp) / "data"),
            }
        finally:
            _rabbitmqctl("delete_vhost", vhost)
            s3.stop()
            mongo.stop()


def settings_fields(env: dict[str, str]) -> dict[str, str]:
    """The LOGOFORGE_* variables of `local_services` as settings fields, e.g. for `GeneratorSettings(**...)`."""
    return {key.removeprefix("LOGOFORGE_").lower(): value for key, value in env.items()}


@contextmanager
def child(args: list[str], env: dict[str, str], log: Path):
    """Run `python -m logoforge.cli ARGS` as a child process with the given settings."""
    process = LogoforgeProcess(env, *args, log_path=log).start()
    try:
        yield process.process
    finally:
        process.stop()
