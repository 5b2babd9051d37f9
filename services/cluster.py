"""A RabbitMQ cluster named as a list of nodes, and connections that move to a surviving node by themselves.

`LOGOFORGE_RABBIT_URL` may name several nodes of one cluster, as MongoDB URLs do:
`amqp://user:password@rabbit-1:5672,rabbit-2:5672,rabbit-3:5672/vhost`. A process connects to the first node
that answers. When its connection is lost, aio-pika's robust connection reconnects (every `reconnect_interval`)
and restores its channels, queues and consumers; `ClusterBroker` moves it along the list between attempts, so it
lands on a node that is up. Quorum queues (schemas/topology.py) keep every accepted message while a majority of
the nodes runs. Behind a load balancer or a Kubernetes Service, one address is enough and the list is not needed.
"""

import asyncio
import logging
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection
from aiormq.exceptions import AMQPConnectionError
from faststream.rabbit import RabbitBroker
from yarl import URL

logger = logging.getLogger(__name__)

# What a node that is down (or going down) answers with.
UNREACHABLE = (ConnectionError, OSError, TimeoutError, AMQPConnectionError)


def node_urls(url: str) -> list[str]:
    """One URL per node of `scheme://user:password@host1:port1,host2:port2/vhost?query`; one node: the URL itself."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError(f"rabbit_url: not a URL: {url!r}")
    authority, slash, path = rest.partition("/")
    credentials, at, hosts = authority.rpartition("@")
    nodes = [host.strip() for host in hosts.split(",")]
    if not all(nodes):
        raise ValueError(f"rabbit_url: an empty node in {hosts!r}")
    return [f"{scheme}://{credentials}{at}{node}{slash}{path}" for node in nodes]


def redact(url: str) -> str:
    """A node URL without its password, for logs."""
    return str(URL(url).with_password(None) if URL(url).password else URL(url))


class ClusterBroker(RabbitBroker):
    """A RabbitBroker on whichever node of a list answers; see the module docstring."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.nodes = node_urls(url)
        self._current = 0
        self._failing_over: asyncio.Task | None = None
        self._back = asyncio.Event()  # set when the robust connection reconnected after a loss
        super().__init__(self.nodes[0], **kwargs)

    @property
    def node(self) -> str:
        """The node this broker is on, or tries next."""
        return self.nodes[self._current]

    async def _connect(self) -> Any:
        last_error: BaseException | None = None
        for _ in self.nodes:
            self._connection_kwargs["url"] = self.node
            try:
                connection = await super()._connect()
            except UNREACHABLE as error:
                last_error = error
                logger.warning("RabbitMQ node %s: %s", redact(self.node), error or type(error).__name__)
                self._current = (self._current + 1) % len(self.nodes)
                continue
            if len(self.nodes) > 1:
                connection.close_callbacks.add(self._lost)
                connection.reconnect_callbacks.add(self._reconnected)
            return connection
        raise ConnectionError(f"no RabbitMQ node answered ({', '.join(map(redact, self.nodes))})") from last_error

    def _lost(self, connection: AbstractConnection | None, /, error: BaseException | None = None) -> None:
        """The connection to the current node closed: point its next attempts at the other nodes, in turn."""
        if connection is None or connection.is_closed:  # closed on purpose: nothing to fail over
            return
        self._back.clear()
        if self._failing_over is None or self._failing_over.done():
            self._failing_over = asyncio.ensure_future(self._fail_over(connection))

    def _reconnected(self, connection: AbstractConnection | None, /) -> None:
        self._back.set()

    async def _fail_over(self, connection: AbstractConnection) -> None:
        # The robust connection tries again every reconnect_interval, reading its url at each attempt (as it does
        # after update_secret): give each node about one attempt, and the restore of channels time to finish.
        interval = float(self._connection_kwargs.get("reconnect_interval") or 5.0)
        while not connection.is_closed:
            self._current = (self._current + 1) % len(self.nodes)
            connection.url = URL(self.node)  # type: ignore[attr-defined]
            logger.warning("RabbitMQ connection lost; reconnecting through %s", redact(self.node))
            try:
                await asyncio.wait_for(self._back.wait(), timeout=interval + 5)
            except TimeoutError:
                continue
            logger.info("RabbitMQ connection back, on %s", redact(self.node))
            return


async def connect_any(url: str) -> AbstractConnection:
    """A plain aio-pika connection (for one-off tools) to the first node of the list that answers."""
    last_error: BaseException | None = None
    for node in node_urls(url):
        try:
            return await aio_pika.connect(node)
        except UNREACHABLE as error:
            last_error = error
    raise ConnectionError(f"no RabbitMQ node answered ({', '.join(map(redact, node_urls(url)))})") from last_error
