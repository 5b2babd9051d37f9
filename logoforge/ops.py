"""`logoforge ops ...`: queue depths, dead letters (show, replay, discard), retraining and the adapter in service.

Every failure an operator can cause or meet (an unknown queue or version, RabbitMQ or MongoDB unreachable,
output piped into `head`) is one line on stderr naming the problem and exit status 2, never a traceback.
"""

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any


def _settings() -> Any:
    from services.settings import CommonSettings

    return CommonSettings()


def _queues(args: argparse.Namespace) -> None:
    from services.ops.queues import depths

    rows = asyncio.run(depths(_settings().rabbit_url))
    print(f"{'queue':<12} {'ready':>8} {'consumers':>10} {'dead':>8}")
    for row in rows:
        print(f"{row.name:<12} {row.messages:>8} {row.consumers:>10} {row.dead_letters:>8}")


def _dead(args: argparse.Namespace) -> None:
    from services.ops.queues import peek_dead_letters

    letters = asyncio.run(peek_dead_letters(_settings().rabbit_url, args.queue, args.limit))
    if not letters:
        print(f"no dead letters in {args.queue}")
    for letter in letters:
        print(f"{letter.message_id}  job {letter.job_id or '-'}  {letter.reason}")


def _which(args: argparse.Namespace) -> Any:
    from services.ops.queues import LetterFilter

    return LetterFilter(reason=args.reason, job=args.job)


def _replay(args: argparse.Namespace) -> None:
    from services.ops.queues import replay

    sweep = asyncio.run(replay(_settings().rabbit_url, args.queue, args.limit, _which(args), args.dry_run))
    verb = "would replay" if args.dry_run else "replayed"
    print(f"{verb} {sweep.taken} of {sweep.looked_at} dead letter(s) from {args.queue}.dead to {args.queue}")


def _discard(args: argparse.Namespace) -> None:
    from services.ops.queues import discard

    sweep = asyncio.run(discard(_settings().rabbit_url, args.queue, _which(args), args.dry_run))
    verb = "would discard" if args.dry_run else "discarded"
    print(f"{verb} {sweep.taken} of {sweep.looked_at} dead letter(s) in {args.queue}.dead")


def _retrain(args: argparse.Namespace) -> None:
    """Print the run started as JSON; exit status 1 when there is nothing to train on (2: an unknown dataset)."""
    from services.ops.retrain import retrain
    from services.ratings.settings import RetrainSettings
    from services.ratings.trigger import NothingToTrain

    try:
        run = asyncio.run(retrain(RetrainSettings(), args.dataset or None))
    except NothingToTrain as error:
        print(error)
        sys.exit(1)
    summary = {"run_id": run.run_id, "images": len(run.image_ids), "datasets": run.datasets, "status": run.status}
    print(json.dumps({**summary, "published": True}))


def _promote(args: argparse.Namespace) -> None:
    from services.ops.adapters import promote

    _adapter_change(lambda settings: promote(settings, args.version))


def _rollback(args: argparse.Namespace) -> None:
    from services.ops.adapters import rollback

    _adapter_change(rollback)


def _adapter_change(change: Callable) -> None:
    event = asyncio.run(change(_settings()))
    print(json.dumps({"in_service": event.version, "previous": event.previous_version}))


def _explained(handler: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], None]:
    """Run an ops command; what went wrong becomes one line and exit status 2."""

    def run(args: argparse.Namespace) -> None:
        from services.errors import FatalError, RetryableError
        from services.storage.adapters import AdapterError

        try:
            handler(args)
            sys.stdout.flush()
        except BrokenPipeError:  # `logoforge ops dead generate | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(2)
        except (ValueError, AdapterError, FatalError, RetryableError) as error:  # ValueError: unknown queue
            _fail(str(error))
        except (OSError, ConnectionError) as error:
            _fail(f"RabbitMQ or a store cannot be reached ({error})")

    return run


def _fail(problem: str) -> None:
    print(f"error: {problem}", file=sys.stderr)
    sys.exit(2)


def add_ops(commands: argparse._SubParsersAction) -> None:
    from schemas.topology import DURABLE_QUEUES

    queue_names = ", ".join(queue.name for queue in DURABLE_QUEUES)
    ops = commands.add_parser("ops", help="operator tools").add_subparsers(dest="ops_command", required=True)
    ops.add_parser("queues", help="depth, consumers and dead letters of every queue").set_defaults(
        handler=_explained(_queues)
    )
    dead = ops.add_parser("dead", help="show dead letters with the job each names and why (they stay in place)")
    dead.add_argument("queue", help=queue_names)
    dead.add_argument("--limit", type=int, default=20)
    dead.set_defaults(handler=_explained(_dead))
    replay = ops.add_parser("replay", help="re-drive the dead letters present now to their queue, each once")
    discard = ops.add_parser("discard", help="delete dead letters (poison you have looked at)")
    for sweep in (replay, discard):
        sweep.add_argument("queue", help=queue_names)
        sweep.add_argument("--reason", help="only letters whose reason contains this text")
        sweep.add_argument("--job", help="only letters that name this job")
        sweep.add_argument("--dry-run", action="store_true", help="count what would be taken; change nothing")
    replay.add_argument("--limit", type=int, default=None, help="at most this many (default: all that match)")
    replay.set_defaults(handler=_explained(_replay))
    discard.set_defaults(handler=_explained(_discard))
    retrain = ops.add_parser("retrain", help="start a training run now on the unused well-rated images (and datasets)")
    retrain.add_argument(
        "--dataset",
        action="append",
        metavar="NAME",
        help="a dataset to train on too (repeatable); the configured ones if absent",
    )
    retrain.set_defaults(handler=_explained(_retrain))
    promote = ops.add_parser("promote", help="put an adapter version in service ('none': the base model)")
    promote.add_argument("version")
    promote.set_defaults(handler=_explained(_promote))
    ops.add_parser("rollback", help="put back the adapter that was in service before").set_defaults(
        handler=_explained(_rollback)
    )
