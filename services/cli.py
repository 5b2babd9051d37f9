"""`logoforge`: one command whose subcommands start each process, the local stack, and ops tools."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable


def _run_api(args: argparse.Namespace) -> None:
    import uvicorn

    from services.api.app import create_app
    from services.settings import ApiSettings

    settings = ApiSettings()
    uvicorn.run(create_app(settings), host=args.host or settings.host, port=args.port or settings.port,
                log_level=settings.log_level.lower())


def _run_generator(args: argparse.Namespace) -> None:
    from services.settings import GeneratorSettings
    from workers.generator.app import build_generator

    settings = GeneratorSettings()
    asyncio.run(build_generator(settings).run())


def _run_ratings(args: argparse.Namespace) -> None:
    from services.ratings.app import build_ratings
    from services.settings import RatingsSettings

    settings = RatingsSettings()
    asyncio.run(build_ratings(settings).run())


def _ops_retrain(args: argparse.Namespace) -> None:
    from services.ops.retrain import retrain
    from services.settings import RetrainSettings

    sys.exit(asyncio.run(retrain(RetrainSettings(), args.dataset or None)))


def _run_dev(args: argparse.Namespace) -> None:
    from services.dev import run_dev

    sys.exit(asyncio.run(run_dev(prompt=args.generate, keep_running=not args.once)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logoforge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    api = commands.add_parser("api", help="run the HTTP API")
    api.add_argument("--host", default=None)
    api.add_argument("--port", type=int, default=None)
    api.set_defaults(handler=_run_api)

    generator = commands.add_parser("generator", help="run a generator worker (GPU)")
    generator.set_defaults(handler=_run_generator)

    ratings = commands.add_parser("ratings", help="run the ratings service (ratings, aggregates, retraining trigger)")
    ratings.set_defaults(handler=_run_ratings)

    ops = commands.add_parser("ops", help="operator tools")
    ops_commands = ops.add_subparsers(dest="ops_command", required=True)
    retrain = ops_commands.add_parser(
        "retrain", help="start a training run now on the unused well-rated images (and datasets)"
    )
    retrain.add_argument("--dataset", action="append", metavar="NAME",
                         help="a dataset to train on too (repeatable); the configured ones if absent")
    retrain.set_defaults(handler=_ops_retrain)

    dev = commands.add_parser("dev", help="run the whole stack on this machine")
    dev.add_argument("--generate", metavar="PROMPT", default=None, help="generate one logo once it is up")
    dev.add_argument("--once", action="store_true", help="stop after --generate instead of serving on")
    dev.set_defaults(handler=_run_dev)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler: Callable[[argparse.Namespace], None] = args.handler
    handler(args)


if __name__ == "__main__":
    main()
