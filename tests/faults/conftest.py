"""Fault tests start what they break: a RabbitMQ node of their own, on free ports, with its own data."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest

from logoforge.devstack import LocalRabbitMQ


@pytest.fixture
def own_rabbit(tmp_path) -> Iterator[LocalRabbitMQ]:
    if not LocalRabbitMQ.available():
        pytest.skip("RabbitMQ's server scripts are not installed (apt-get install rabbitmq-server)")
    node = LocalRabbitMQ(tmp_path / "rabbitmq").start()
    yield node
    node.stop()


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    """Wait until `check()` is true, asking again every 100 ms, for at most `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout_s}s")
        await asyncio.sleep(0.1)
