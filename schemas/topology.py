"""The broker topology, declared once: exchanges, durable quorum queues with dead-letter queues, routing keys.

Commands go to the `logoforge.commands` direct exchange under the command's routing key and land in one
quorum queue each (competing consumers). Events go to the `logoforge.events` topic exchange; every
interested process binds its own queue. A message rejected as invalid, or redelivered more than
`DELIVERY_LIMIT` times, is dead-lettered through `logoforge.dead` to `<queue>.dead`.
"""

from dataclasses import dataclass

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

DELIVERY_LIMIT = 10

COMMANDS = RabbitExchange("logoforge.commands", type=ExchangeType.DIRECT, durable=True)
EVENTS = RabbitExchange("logoforge.events", type=ExchangeType.TOPIC, durable=True)
DEAD_LETTERS = RabbitExchange("logoforge.dead", type=ExchangeType.DIRECT, durable=True)

# Header set on a message that a consumer dead-lettered itself, saying why.
ERROR_HEADER = "x-logoforge-error"


@dataclass(frozen=True)
class CommandQueue:
    """A work queue for one command type, with its dead-letter queue."""

    name: str
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
    def dead_queue(self) -> RabbitQueue:
        return RabbitQueue(
            f"{self.name}.dead", queue_type=QueueType.QUORUM, durable=True, routing_key=self.routing_key
        )


GENERATE = CommandQueue("generate", "generate")
RATINGS = CommandQueue("ratings", "rate")
TRAIN = CommandQueue("train", "train")

COMMAND_QUEUES: tuple[CommandQueue, ...] = (GENERATE, RATINGS, TRAIN)


def command_queue_for(routing_key: str) -> CommandQueue:
    for command_queue in COMMAND_QUEUES:
        if command_queue.routing_key == routing_key:
            return command_queue
    raise KeyError(f"no command queue for routing key {routing_key!r}")

# The bot's own event queue: every generation event (topic binding on EVENTS), dead-lettered like the
# command queues. Durable, so events published while the bot is down wait for it.
BOT_EVENTS = CommandQueue("bot.events", "generation.#")
