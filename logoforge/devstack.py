"""The single-machine stores: SeaweedFS (`weed mini`) for S3 and SecantusDB for MongoDB, as child processes.

Used by `logoforge dev` and by the test suite, so both run the same real servers the same way.
"""

import asyncio
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)


class DevStackError(RuntimeError):
    """A local server could not be started or reached."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, process: subprocess.Popen, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevStackError(f"{what} exited with code {process.returncode} before listening on {port}")
        if port_open(host, port):
            return
        time.sleep(0.1)
    raise DevStackError(f"{what} did not listen on {host}:{port} within {timeout_s:.0f}s")


async def wait_until(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    """Wait until `check()` is true, asking again every 100 ms; TimeoutError naming `what` past `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {what} within {timeout_s}s")
        await asyncio.sleep(0.1)


def _executable(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if not found:
        raise DevStackError(f"{name} not found: install the dev extra (pip install 'logoforge[dev]')")
    return found


@dataclass
class LocalServer:
    name: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class SeaweedS3:
    """`weed mini` with one S3 identity (from the access and secret key) and only the S3 gateway exposed.

    Every bucket is a SeaweedFS collection that takes at least one volume of its own. Left to itself, `weed mini`
    allows as many volumes as gigabytes of free disk, so a run that makes a bucket per test failed part-way
    ("no free volumes left") on a machine with a fuller disk. Volumes grow as data is written, so a fixed ceiling
    of `max_volumes` costs no disk, and small volumes keep a bucket's share small.
    """

    data_dir: Path
    access_key: str
    secret_key: str
    port: int = field(default_factory=free_port)
    max_volumes: int = 2000
    volume_size_mb: int = 64
    master_port: int = field(default_factory=free_port)
    server: LocalServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "SeaweedS3":
        self.data_dir = self.data_dir.resolve()  # the server runs in it: a relative path would nest
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ports = {
            "master.port": self.master_port,
            "master.port.grpc": free_port(),
            "volume.port": free_port(),
            "volume.port.grpc": free_port(),
            "filer.port": free_port(),
            "filer.port.grpc": free_port(),
            "s3.port.grpc": free_port(),
            "admin.port": free_port(),
            "admin.port.grpc": free_port(),
        }
        args = [
            _executable("weed"),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={self.port}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-admin.ui=false",
            "-webdav=false",
            f"-volume.max={self.max_volumes}",
            f"-master.volumeSizeLimitMB={self.volume_size_mb}",
            *(f"-{name}={port}" for name, port in ports.items()),
        ]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        log_path = self.data_dir / "weed.log"
        process = subprocess.Popen(
            args, cwd=self.data_dir, env=env, stdout=log_path.open("ab"), stderr=subprocess.STDOUT
        )
        self.server = LocalServer("seaweedfs", process, log_path)
        wait_for_port("127.0.0.1", self.port, process, "SeaweedFS S3")
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()


@dataclass
class SecantusMongo:
    """SecantusDB, a single-node server speaking MongoDB's wire protocol, on WiredTiger in `data_dir`."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    test_commands: bool = False
    server: LocalServer | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self) -> "SecantusMongo":
        self.data_dir = self.data_dir.resolve()  # the server runs in it: a relative path would nest
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            _executable("secantusd-py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.data_dir / "db"),
            "--log-level",
            "WARNING",
        ]
        if self.test_commands:
            args.append("--enable-test-commands")
        log_path = self.data_dir / "secantus.log"
        process = subprocess.Popen(args, cwd=self.data_dir, stdout=log_path.open("ab"), stderr=subprocess.STDOUT)
        self.server = LocalServer("secantusdb", process, log_path)
        wait_for_port("127.0.0.1", self.port, process, "SecantusDB")
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()


RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


@dataclass
class LocalRabbitMQ:
    """A RabbitMQ node of its own (name, ports, data folder), for tests that stop and restart the broker.

    It uses the installed server's scripts directly: the /usr/sbin wrappers switch to the rabbitmq user,
    whose Erlang cookie is not ours. The data folder survives `stop()`, so a restarted node keeps its
    durable queues and persistent messages, as a restarted production broker does.
    """

    data_dir: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    node: str = field(default_factory=lambda: f"logoforge{free_port()}@localhost")
    # rabbitmq_prometheus on this port, when set: RabbitMQ's own metrics, as Prometheus scrapes them in compose.
    prometheus_port: int | None = None
    server: LocalServer | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @staticmethod
    def available() -> bool:
        return (RABBITMQ_BIN / "rabbitmq-server").exists()

    def _env(self) -> dict[str, str]:
        self.data_dir = self.data_dir.resolve()  # the server runs in it: a relative path would nest
        self.data_dir.mkdir(parents=True, exist_ok=True)
        plugins, config = self.data_dir / "enabled_plugins", self.data_dir / "rabbitmq.conf"
        settings = ["loopback_users = none"]
        if self.prometheus_port is not None:
            plugins.write_text("[rabbitmq_prometheus].\n")
            settings.append(f"prometheus.tcp.port = {self.prometheus_port}")
        else:
            plugins.write_text("[].\n")
        config.write_text("\n".join(settings) + "\n")
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.data_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.data_dir / "log"),
            "RABBITMQ_PID_FILE": str(self.data_dir / "node.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_CONFIG_FILE": str(config),
        }

    def start(self, timeout_s: float = 60) -> "LocalRabbitMQ":
        log_path = self.data_dir / "server.out"
        env = self._env()
        process = subprocess.Popen(
            [str(RABBITMQ_BIN / "rabbitmq-server")],
            env=env,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl+C in the terminal goes to the tests, not to the broker
        )
        self.server = LocalServer("rabbitmq", process, log_path)
        wait_for_port("127.0.0.1", self.port, process, "RabbitMQ", timeout_s)
        self.ctl("await_startup")
        return self

    def ctl(self, *args: str, timeout_s: float = 60) -> str:
        result = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, *args],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if result.returncode != 0:
            raise DevStackError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def stop(self) -> None:
        """Stop the node and wait until its port is closed."""
        if self.server is None or self.server.process.poll() is not None:
            return
        try:
            self.ctl("stop")
        except (DevStackError, subprocess.TimeoutExpired):
            logger.warning("rabbitmqctl stop failed; terminating the node", exc_info=True)
        self.server.stop()
        deadline = time.monotonic() + 30
        while port_open("127.0.0.1", self.port) and time.monotonic() < deadline:
            time.sleep(0.1)


@dataclass
class LocalRabbitCluster:
    """Three (or more) LocalRabbitMQ nodes on this machine joined into one cluster, named by one node-list URL."""

    data_dir: Path
    size: int = 3
    nodes: list[LocalRabbitMQ] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The cluster as LogoForge processes are given it (services/cluster.py): every node, in order."""
        return "amqp://guest:guest@" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes) + "/"

    def start(self) -> "LocalRabbitCluster":
        first = LocalRabbitMQ(self.data_dir / "node-1", prometheus_port=free_port()).start()
        self.nodes = [first]
        for number in range(2, self.size + 1):
            node = LocalRabbitMQ(self.data_dir / f"node-{number}", prometheus_port=free_port()).start()
            node.ctl("stop_app")
            node.ctl("join_cluster", first.node)
            node.ctl("start_app")
            node.ctl("await_startup")
            self.nodes.append(node)
        return self

    def running(self) -> list[str]:
        """The nodes the cluster reports running, asked of any node that answers."""
        for node in self.nodes:
            if node.server is not None and node.server.process.poll() is None:
                status = node.ctl("cluster_status", "--formatter", "json")
                return sorted(json.loads(status)["running_nodes"])
        return []

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
