"""Fault tests start what they break: a RabbitMQ node of their own, on free ports, with its own data."""

from collections.abc import Iterator

import pytest

from logoforge.devstack import LocalRabbitMQ


@pytest.fixture
def own_rabbit(tmp_path) -> Iterator[LocalRabbitMQ]:
    if not LocalRabbitMQ.available():
        pytest.skip("RabbitMQ's server scripts are not installed (apt-get install rabbitmq-server)")
    node = LocalRabbitMQ(tmp_path / "rabbitmq").start()
    yield node
    node.stop()
