"""The topology module on its own: names, dead-letter arguments, the bindings each message type relies on."""

import pytest

from schemas.generation import GenerateLogo, GenerationFailed, GenerationProgress, GenerationStarted, LogoGenerated
from schemas.ratings import RateLogo
from schemas.topology import (
    BOT_EVENTS,
    COMMAND_QUEUES,
    COMMANDS,
    DEAD_LETTERS,
    DELIVERY_LIMIT,
    DURABLE_QUEUES,
    EVENTS,
    EXCHANGES,
    api_generation_events,
    binding_matches,
    dead_letter_key,
    durable_queue_named,
    generator_adapter_events,
)
from schemas.training import AdapterPromoted, TrainAdapter


def test_every_queue_and_exchange_name_is_unique():
    queue_names = [name for queue in DURABLE_QUEUES for name in (queue.name, queue.dead_name)]
    queue_names.append(generator_adapter_events("w1").name)
    assert len(queue_names) == len(set(queue_names))
    assert len({exchange.name for exchange in EXCHANGES}) == len(EXCHANGES) == 3


def test_every_durable_queue_dead_letters_to_its_own_dead_queue():
    for durable in DURABLE_QUEUES:
        queue, dead = durable.queue, durable.dead_queue
        assert queue.durable and dead.durable and not queue.exclusive and not queue.auto_delete
        assert queue.arguments["x-queue-type"] == dead.arguments["x-queue-type"] == "quorum"
        assert queue.arguments["x-dead-letter-exchange"] == DEAD_LETTERS.name
        assert queue.arguments["x-delivery-limit"] == DELIVERY_LIMIT
        # The key the broker dead-letters under is the key the dead queue is bound with.
        assert queue.arguments["x-dead-letter-routing-key"] == dead.routing_key == durable.routing_key
        assert dead.name == f"{queue.name}.dead"
    dead_keys = [durable.routing_key for durable in DURABLE_QUEUES]
    assert len(dead_keys) == len(set(dead_keys)), "two queues' dead letters would land in one dead queue"


def test_commands_reach_exactly_their_queue():
    for command in (GenerateLogo, RateLogo, TrainAdapter):
        [queue] = [q for q in COMMAND_QUEUES if q.exchange is COMMANDS and q.routing_key == command.routing_key]
        assert queue.name in ("generate", "ratings", "train")


@pytest.mark.parametrize("event", [GenerationStarted, GenerationProgress, LogoGenerated, GenerationFailed])
def test_the_bot_and_each_api_instance_hear_every_generation_event(event):
    assert BOT_EVENTS in DURABLE_QUEUES and BOT_EVENTS.exchange is EVENTS
    assert binding_matches(BOT_EVENTS.routing_key, event.routing_key)
    api = api_generation_events()
    assert api.exchange is EVENTS and binding_matches(api.routing_key, event.routing_key)


def test_instance_queues_die_with_their_process():
    api, generator = api_generation_events(), generator_adapter_events("w1")
    assert api.name == "" and generator.name == "generator.adapters.w1"
    assert generator.exchange is EVENTS and binding_matches(generator.routing_key, AdapterPromoted.routing_key)
    for instance in (api.queue, generator.queue):
        assert instance.exclusive and instance.auto_delete
    assert not binding_matches(api.routing_key, AdapterPromoted.routing_key)


def test_queues_are_found_by_their_name_or_their_dead_queue_name():
    assert durable_queue_named("bot.events.dead") is BOT_EVENTS
    with pytest.raises(
        ValueError, match="known queues: generate, ratings, train, assets.requests, bot.events, assets, bot.assets"
    ):
        durable_queue_named("render")


@pytest.mark.parametrize(
    ("binding", "key", "matches"),
    [
        ("generation.#", "generation.completed", True),
        ("generation.#", "generation", True),
        ("generation.*", "generation.completed", True),
        ("generation.*", "generation.a.b", False),
        ("generation.*", "rating.recorded", False),
        ("#", "anything.at.all", True),
        ("generate", "generate", True),
        ("generate", "generated", False),
    ],
)
def test_topic_bindings_match_as_rabbitmq_matches_them(binding, key, matches):
    assert binding_matches(binding, key) is matches


def test_a_consumer_dead_letters_under_its_queues_key():
    # The dead-letter exchange is direct: a bot event must go under bot.events' key to reach bot.events.dead.
    assert dead_letter_key(EVENTS.name, LogoGenerated.routing_key) == BOT_EVENTS.routing_key
    assert dead_letter_key(COMMANDS.name, GenerateLogo.routing_key) == GenerateLogo.routing_key
