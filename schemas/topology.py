"""The broker topology, declared once: exchanges, durable quorum queues with dead-letter queues, routing keys.

Commands go to the `logoforge.commands` direct exchange under the command's routing key and land in one
quorum queue each (competing consumers). Events go to the `logoforge.events` topic exchange; every
interested process binds its own queue: a durable one when events must wait for it (the bot's), an
exclusive one that lives as long as the process's connection when they need not (each API instance's,
each generator's). A message rejected as invalid, or redelivered more than `DELIVERY_LIMIT` times, is
dead-lettered through `logoforge.dead` to `<queue>.dead`.

Nothing outside this module names a queue: `services.messaging.declare_topology` declares every durable
queue with its dead-letter queue, and subscribers take their queues from here.
"""

from dataclasses import dataclass

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

from schemas.assets import LogoAssetsReady, MakeAssets
from schemas.generation import GenerateLogo, GenerationCancelled, LogoGenerated
from schemas.ratings import RateLogo
from schemas.training import AdapterPromoted, TrainAdapter

DELIVERY_LIMIT = 10

COMMANDS = RabbitExchange("logoforge.commands", type=ExchangeType.DIRECT, durable=True)
EVENTS = RabbitExchange("logoforge.events", type=ExchangeType.TOPIC, durable=True)
DEAD_LETTERS = RabbitExchange("logoforge.dead", type=ExchangeType.DIRECT, durable=True)

EXCHANGES: tuple[RabbitExchange, ...] = (COMMANDS, EVENTS, DEAD_LETTERS)

# Header set on a message that a consumer dead-lettered itself, saying why.
ERROR_HEADER = "x-logoforge-error"

# Every generation event: GenerationStarted, GenerationProgress, LogoGenerated, GenerationFailed.
GENERATION_EVENTS = "generation.*"


@dataclass(frozen=True)
class DurableQueue:
    """A durable quorum queue bound to `exchange` under `routing_key`, with its dead-letter queue.

    `routing_key` is the binding key (a topic pattern on EVENTS) and also the key under which the broker
    dead-letters the queue's messages to `<name>.dead`.
    """

    name: str
    exchange: RabbitExchange
    routing_key: str

    @property
    def queue(self) -> RabbitQueue:
        return RabbitQueue(
            self.name,
            queue_type=QueueType.QUORUM,
            durable=True,
            routing_key=self.routing_key,
            arguments={
                "x-dead-letter-exchange": DEAD_LETTERS.name,
                "x-dead-letter-routing-key": self.routing_key,
                "x-delivery-limit": DELIVERY_LIMIT,
            },
        )

    @property
    def dead_name(self) -> str:
        return f"{self.name}.dead"

    @property
    def dead_queue(self) -> RabbitQueue:
        return RabbitQueue(self.dead_name, queue_type=QueueType.QUORUM, durable=True, routing_key=self.routing_key)


@dataclass(frozen=True)
class InstanceQueue:
    """One process's own queue on `exchange`: exclusive, deleted with its connection, never dead-lettered.

    An empty name lets the broker choose a unique one.
    """

    name: str
    exchange: RabbitExchange
    routing_key: str

    @property
    def queue(self) -> RabbitQueue:
        return RabbitQueue(self.name, exclusive=True, auto_delete=True, routing_key=self.routing_key)


GENERATE = DurableQueue("generate", COMMANDS, GenerateLogo.routing_key)
RATINGS = DurableQueue("ratings", COMMANDS, RateLogo.routing_key)
TRAIN = DurableQueue("train", COMMANDS, TrainAdapter.routing_key)
ASSET_REQUESTS = DurableQueue("assets.requests", COMMANDS, MakeAssets.routing_key)

COMMAND_QUEUES: tuple[DurableQueue, ...] = (GENERATE, RATINGS, TRAIN, ASSET_REQUESTS)

# The bot's generation events, durable so that events published while the bot is down wait for it.
BOT_EVENTS = DurableQueue("bot.events", EVENTS, "generation.#")

# Every logo drawn, for the assets worker: durable, so that logos drawn while it is down get their assets later.
ASSETS = DurableQueue("assets", EVENTS, LogoGenerated.routing_key)

# The assets of logos the bot delivered: their palette goes into the album's caption.
BOT_ASSETS = DurableQueue("bot.assets", EVENTS, LogoAssetsReady.routing_key)

DURABLE_QUEUES: tuple[DurableQueue, ...] = (*COMMAND_QUEUES, BOT_EVENTS, ASSETS, BOT_ASSETS)


def api_generation_events() -> InstanceQueue:
    """An API instance's queue of every generation event, for the requests and streams waiting on it."""
    return InstanceQueue("", EVENTS, GENERATION_EVENTS)


def generator_adapter_events(worker_id: str) -> InstanceQueue:
    """A generator's queue of adapter promotions: every generator hears every one."""
    return InstanceQueue(f"generator.adapters.{worker_id}", EVENTS, AdapterPromoted.routing_key)


def generator_cancel_events(worker_id: str) -> InstanceQueue:
    """A generator's queue of cancellations: the one drawing a cancelled job stops it."""
    return InstanceQueue(f"generator.cancels.{worker_id}", EVENTS, GenerationCancelled.routing_key)


def durable_queue_named(name: str) -> DurableQueue:
    """The durable queue called `name`, or whose dead-letter queue is called `name`."""
    for durable_queue in DURABLE_QUEUES:
        if name in (durable_queue.name, durable_queue.dead_name):
            return durable_queue
    known = ", ".join(q.name for q in DURABLE_QUEUES)
    raise ValueError(f"unknown queue {name!r}; known queues: {known}")


def binding_matches(binding: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` stands for one word, `#` for zero or more (a plain key matches itself)."""

    def match(pattern: list[str], words: list[str]) -> bool:
        if not pattern:
            return not words
        head, rest = pattern[0], pattern[1:]
        if head == "#":
            return any(match(rest, words[skip:]) for skip in range(len(words) + 1))
        return bool(words) and head in ("*", words[0]) and match(rest, words[1:])

    return match(binding.split("."), routing_key.split("."))


def dead_letter_key(exchange: str, routing_key: str) -> str:
    """The key that takes a message, received through `exchange` under `routing_key`, to its dead-letter queue.

    A consumer that dead-letters a message itself must use the durable queue's key (`generation.#` for the
    bot's events), not the message's own: the dead-letter exchange is direct.
    """
    for durable_queue in DURABLE_QUEUES:
        if durable_queue.exchange.name == exchange and binding_matches(durable_queue.routing_key, routing_key):
            return durable_queue.routing_key
    return routing_key
