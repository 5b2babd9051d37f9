"""One aiogram Router per feature; `feature_routers` gives them in the order they must be tried."""

from aiogram import Router


def feature_routers() -> list[Router]:
    """Commands and stateful dialogs first; plain text as a prompt, then the stale-button fallback, last."""
    from bot.handlers import (
        admin,
        best,
        constructor,
        errors,
        fallback,
        history,
        prompt,
        rating,
        results,
        settings,
        start,
    )

    return [
        errors.make_router(),
        start.make_router(),
        admin.make_router(),
        settings.make_router(),
        history.make_router(),
        best.make_router(),
        constructor.make_router(),
        results.make_router(),
        rating.make_router(),
        prompt.make_router(),
        fallback.make_router(),
    ]
