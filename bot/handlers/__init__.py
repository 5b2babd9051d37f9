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
        errors.router,
        start.router,
        admin.router,
        settings.router,
        history.router,
        best.router,
        constructor.router,
        results.router,
        rating.router,
        prompt.router,
        fallback.router,
    ]
