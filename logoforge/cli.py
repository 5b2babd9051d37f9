"""`logoforge`: one command whose subcommands start each process, the local stack, and ops tools."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from logoforge.ops import add_ops


def _serve(main: Coroutine[Any, Any, Any]) -> Any:
    """Run a long-lived process on uvloop where it is installed (as uvicorn does for the API)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _log_at(level: str) -> None:
    """The process's own LOGOFORGE_LOG_LEVEL for every logger (main() starts them at INFO before settings load)."""
    logging.getLogger().setLevel(level.upper())


def _traced(process: str) -> None:
    """Spans for this process, exported where the OTEL_* variables ask (services/observability.py)."""
    from services.observability import configure_tracing

    configure_tracing(f"logoforge-{process}")


def _run_api(args: argparse.Namespace) -> None:
    import uvicorn

    from services.api.app import create_app
    from services.api.settings import ApiSettings

    settings = ApiSettings()
    _log_at(settings.log_level)
    _traced("api")
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
    )


def _run_generator(args: argparse.Namespace) -> None:
    from workers.generator.app import build_generator
    from workers.generator.settings import GeneratorSettings

    settings = GeneratorSettings()
    _log_at(settings.log_level)
    _traced("generator")
    _serve(build_generator(settings).run())


def _run_bot(args: argparse.Namespace) -> None:
    from bot.app import build_bot
    from bot.settings import BotSettings

    try:
        settings = BotSettings(**({"bot_mode": args.mode} if args.mode else {}))
        _log_at(settings.log_level)
        _traced("bot")
        process = build_bot(settings)
    except ValueError as error:  # a missing token or webhook URL: say which, without a traceback
        sys.exit(f"logoforge bot: {error}")
    _serve(process.app.run())


def _run_assets(args: argparse.Namespace) -> None:
    from workers.assets.app import build_assets
    from workers.assets.settings import AssetsSettings

    settings = AssetsSettings()
    _log_at(settings.log_level)
    _traced("assets")
    _serve(build_assets(settings).run())


def _run_ratings(args: argparse.Namespace) -> None:
    from services.ratings.app import build_ratings
    from services.ratings.settings import RatingsSettings

    settings = RatingsSettings()
    _log_at(settings.log_level)
    _traced("ratings")
    _serve(build_ratings(settings).run())


def _run_dev(args: argparse.Namespace) -> None:
    from logoforge.dev import run_dev

    _traced("dev")
    sys.exit(_serve(run_dev(args.generate, not args.once, args.size, args.steps)))


def _run_datasets_import(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from services.datasets.commands import import_from_path
    from services.datasets.importer import DatasetError
    from services.datasets.sources import DatasetLayoutError
    from services.settings import CommonSettings

    try:
        report = asyncio.run(import_from_path(CommonSettings(), Path(args.path), args.name))
    except (DatasetError, DatasetLayoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    for skipped in report.skipped:
        print(f"skipped {skipped.source}: {skipped.reason}", file=sys.stderr)
    print(json.dumps({"name": report.name, "count": report.count, "skipped": len(report.skipped)}))


def _run_datasets_list(args: argparse.Namespace) -> None:
    from services.datasets.commands import manifests
    from services.settings import CommonSettings

    print(f"{'name':<24} {'images':>8} {'skipped':>8}  layout")
    for manifest in asyncio.run(manifests(CommonSettings())):
        print(
            f"{manifest['name']:<24} {manifest['count']:>8} {manifest.get('skipped_count', 0):>8}  "
            f"{manifest.get('layout') or '-'}"
        )


def _run_datasets_show(args: argparse.Namespace) -> None:
    import json

    from services.datasets.commands import manifests
    from services.datasets.importer import DatasetError
    from services.settings import CommonSettings

    try:
        [manifest] = asyncio.run(manifests(CommonSettings(), args.name))
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    fields = ("name", "count", "layout", "skipped_count", "skipped", "created_at")
    print(json.dumps({field: manifest.get(field) for field in fields}, default=str, indent=2))


def _run_trainer(args: argparse.Namespace) -> None:
    from workers.trainer.app import build_trainer
    from workers.trainer.settings import TrainerSettings

    settings = TrainerSettings()
    _log_at(settings.log_level)
    _traced("trainer")
    _serve(build_trainer(settings).run())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logoforge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    api = commands.add_parser("api", help="run the HTTP API")
    api.add_argument("--host", default=None)
    api.add_argument("--port", type=int, default=None)
    api.set_defaults(handler=_run_api)

    generator = commands.add_parser("generator", help="run a generator worker (GPU)")
    generator.set_defaults(handler=_run_generator)

    telegram = commands.add_parser("bot", help="run the Telegram bot (long polling, or a webhook server)")
    telegram.add_argument(
        "--mode",
        choices=["polling", "webhook"],
        default=None,
        help="override LOGOFORGE_BOT_MODE (webhook needs LOGOFORGE_WEBHOOK_URL)",
    )
    telegram.set_defaults(handler=_run_bot)

    datasets = commands.add_parser("datasets", help="logo datasets for training")
    datasets_commands = datasets.add_subparsers(dest="datasets_command", required=True)
    datasets_import = datasets_commands.add_parser(
        "import", help="import a parquet file/folder, an imagefolder with metadata.jsonl, or a zip of either"
    )
    datasets_import.add_argument("path")
    datasets_import.add_argument("--name", required=True, help="dataset name: a-z, 0-9, '.', '_', '-'")
    datasets_import.set_defaults(handler=_run_datasets_import)
    datasets_commands.add_parser("list", help="imported datasets: name, images, skipped, layout").set_defaults(
        handler=_run_datasets_list
    )
    show = datasets_commands.add_parser("show", help="one dataset, with the files its import skipped and why")
    show.add_argument("name")
    show.set_defaults(handler=_run_datasets_show)

    trainer = commands.add_parser("trainer", help="run the LoRA training worker (GPU)")
    trainer.set_defaults(handler=_run_trainer)

    assets = commands.add_parser("assets", help="run the assets worker (SVG, transparent PNG, palette, brand kit; CPU)")
    assets.set_defaults(handler=_run_assets)

    ratings = commands.add_parser("ratings", help="run the ratings service (ratings, aggregates, retraining trigger)")
    ratings.set_defaults(handler=_run_ratings)

    dev = commands.add_parser("dev", help="run the whole stack on this machine")
    dev.add_argument("--generate", metavar="PROMPT", default=None, help="generate one logo once it is up")
    dev.add_argument("--once", action="store_true", help="stop after --generate instead of serving on")
    dev.add_argument("--size", type=int, default=512, help="height and width of the --generate logo")
    dev.add_argument("--steps", type=int, default=20, help="denoising steps of the --generate logo")
    dev.set_defaults(handler=_run_dev)

    add_ops(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from services.observability import configure_logging

    configure_logging(logging.INFO)
    handler: Callable[[argparse.Namespace], None] = args.handler
    handler(args)


if __name__ == "__main__":
    main()
