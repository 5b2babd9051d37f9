"""The broker contract as an AsyncAPI document, built from the message classes and the topology."""

import json
from functools import cache

from faststream.rabbit import RabbitBroker
from faststream.specification import AsyncAPI

import schemas.assets
import schemas.generation
import schemas.ratings
import schemas.training  # noqa: F401  (imported so that their message classes are registered)
from schemas.base import Command, Event, Message
from schemas.topology import COMMANDS, EVENTS

DESCRIPTION = """\
Commands go to the direct exchange `logoforge.commands`, events come from the topic exchange `logoforge.events`;
every message is JSON, published persistent (delivery mode 2) with publisher confirms.

**The job a message belongs to** is its body's `correlation_id`. A `GenerateLogo` whose body has no
`correlation_id` takes the AMQP `correlation_id` property instead; when both are set, the body's wins.
Every event of a job (`generation.started`, `generation.progress`, `generation.completed`,
`generation.failed`, `generation.cancelled`) carries the same `correlation_id`, so a service binds a queue
to `generation.#` and keeps the events of its own jobs. A command that cannot be read still announces
`generation.failed` for the job it names by either field.

**Images** travel as S3 keys, never as bytes. Where the generator knows the API's public URL
(`LOGOFORGE_PUBLIC_URL`), each image in `LogoGenerated` also has `url`: a signed HTTP link to the PNG that
works without any key until it expires, so a service on the broker needs no S3 credentials. Over HTTP,
`GET /jobs/{id}` gives fresh signed links; it needs the service key that acts for the job's user, or an
admin key (see the HTTP API's documentation at /docs).

**Assets.** After every `generation.completed` the assets worker makes, per image, an SVG (checked by rendering it
back), a PNG with a transparent background, the palette and a brand kit, stored beside the PNG, and announces
`assets.ready` (`LogoAssetsReady`, correlation_id: the job) with their keys (and signed links), the palette and,
for each asset it could not make, why. `MakeAssets` asks for an older image's assets.
"""


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
                persist=True,  # as services.messaging.publish sends every message
                title=f"{message.__name__} ({exchange.name} / {message.routing_key})",
                description=(message.__doc__ or "").strip(),
            )
    spec = AsyncAPI(
        broker, title="LogoForge broker contract", version="1", schema_version="2.6.0", description=DESCRIPTION
    )
    document = json.loads(spec.to_specification().to_json())
    for message in document["components"]["messages"].values():
        message["correlationId"] = {
            "description": "The job (or training run) the message belongs to.",
            "location": "$message.payload#/correlation_id",
        }
    return json.dumps(document)
