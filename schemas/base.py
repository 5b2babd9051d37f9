"""Fields every message carries: its own id, the job it belongs to, when it was made, and the contract version."""

from datetime import UTC, datetime
from typing import ClassVar
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


def new_id() -> str:
    return uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """Base of every command and event on the broker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The routing key a message of this type is published under; set by each concrete class.
    routing_key: ClassVar[str] = ""

    message_id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    correlation_id: str = Field(min_length=1, max_length=64, description="The job (or run) this message belongs to.")
    occurred_at: datetime = Field(default_factory=utcnow)
    schema_version: int = SCHEMA_VERSION


class Command(Message):
    """An instruction to one consumer: imperative name, handled exactly once in effect."""


class Event(Message):
    """Something that happened: past-tense name, fanned out to whoever listens."""
