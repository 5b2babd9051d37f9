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
    for command in _concrete(Command):
        broker.publisher(
            exchange=COMMANDS,
            routing_key=command.routing_key,
            schema=command,
            title=f"{command.__name__} ({COMMANDS.name} / {command.routing_key})",
            description=(command.__doc__ or "").strip(),
        )
    for event in _concrete(Event):
        broker.publisher(
            exchange=EVENTS,
            routing_key=event.routing_key,
            schema=event,
            title=f"{event.__name__} ({EVENTS.name} / {event.routing_key})",
            description=(event.__doc__ or "").strip(),
        )
    spec = AsyncAPI(broker, title="LogoForge broker contract", version="1", schema_version="2.6.0")
    return spec.to_specification().to_json()
