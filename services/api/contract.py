"""The broker contract as an AsyncAPI document, built from the message classes and the topology."""

from functools import cache

from faststream.rabbit import RabbitBroker
from faststream.specification import AsyncAPI

import schemas.generation
import schemas.ratings
import schemas.training  # noqa: F401  (imported so that their message classes are registered)
from schemas.base import Command, Event, Message
from schemas.topology import COMMANDS, EVENTS


def _concrete(base: type[Message]) -> list[type[Message]]:
    found: list[type[Message]] = []
    for cls in base.__subclasses__():
        if cls.routing_key:
            found.append(cls)
        found.extend(_concrete(cls))
    return sorted(found, key=lambda cls: cls.routing_key)


@cache
def asyncapi_json() -> str:
    broker = RabbitBroker()
    for base, exchange in ((Command, COMMANDS), (Event, EVENTS)):
        for message in _concrete(base):
            broker.publisher(
                exchange=exchange,
                routing_key=message.routing_key,
                schema=message,
                title=f"{message.__name__} ({exchange.name} / {message.routing_key})",
                description=(message.__doc__ or "").strip(),
            )
    spec = AsyncAPI(broker, title="LogoForge broker contract", version="1", schema_version="2.6.0")
    return spec.to_specification().to_json()
