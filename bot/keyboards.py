"""Inline keyboards and the callback data behind their buttons.

Each button's data is an aiogram CallbackData factory with constrained fields: data that does not unpack
(forged, or from an older version of the bot) matches no handler and reaches the stale-button reply in
bot/handlers/fallback.py. Data that unpacks is still checked against what the bot knows (the job exists and
belongs to the user who pressed) before anything is published.
"""

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from bot.i18n import LANGUAGES, Translate
from bot.prompt import Step
from bot.user_settings import UserSettings

JobId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
SettingName = Literal["images", "size", "steps", "guidance", "seed", "scheduler", "language"]


class HintCB(CallbackData, prefix="hint"):
    """A hint button of the constructor's step `step`."""

    step: str = Field(max_length=16)
    index: int = Field(ge=0, le=15)


class ReviewCB(CallbackData, prefix="review"):
    action: Literal["generate", "edit", "restart"]


class ForeignPromptCB(CallbackData, prefix="foreign"):
    """Under the note on a prompt not in English: draw it as it is, or build one with the constructor."""

    action: Literal["draw", "constructor"]


class RateCB(CallbackData, prefix="rate"):
    job: JobId
    index: int = Field(ge=0, le=7)
    score: int = Field(ge=1, le=5)


class JobCB(CallbackData, prefix="job"):
    action: Literal["reroll", "variations", "edit"]
    job: JobId


class AssetsCB(CallbackData, prefix="assets"):
    """An image's assets (SVG, PNG without background, brand kit), or one of them (`kind`)."""

    job: JobId
    index: int = Field(ge=0, le=7)
    kind: Literal["menu", "svg", "transparent_svg", "transparent_png", "kit", "vary", "edit_vary"] = "menu"


class CancelCB(CallbackData, prefix="cancel"):
    job: JobId


class FileCB(CallbackData, prefix="file"):
    job: JobId
    index: int = Field(ge=0, le=7)


class SettingsCB(CallbackData, prefix="set"):
    name: SettingName
    value: str = Field(max_length=16)


class HistoryCB(CallbackData, prefix="hist"):
    page: int = Field(ge=0, le=10_000)


class OpenJobCB(CallbackData, prefix="open"):
    job: JobId


class BestCB(CallbackData, prefix="best"):
    scope: Literal["all", "mine"]


def hint_keyboard(t: Translate, step: Step) -> InlineKeyboardMarkup | None:
    if not step.hints:
        return None
    builder = InlineKeyboardBuilder()
    for index, hint in enumerate(step.hints):
        builder.button(text=t(hint.label), callback_data=HintCB(step=step.name, index=index))
    builder.adjust(3)
    return builder.as_markup()


def review_keyboard(t: Translate) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("button-generate"), callback_data=ReviewCB(action="generate"))
    builder.button(text=t("button-edit-prompt"), callback_data=ReviewCB(action="edit"))
    builder.button(text=t("button-start-over"), callback_data=ReviewCB(action="restart"))
    builder.adjust(1, 2)
    return builder.as_markup()


def foreign_prompt_keyboard(t: Translate) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("button-draw-anyway"), callback_data=ForeignPromptCB(action="draw"))
    builder.button(text=t("button-open-constructor"), callback_data=ForeignPromptCB(action="constructor"))
    return builder.as_markup()


def results_keyboard(t: Translate, job_id: str, indices: list[int]) -> InlineKeyboardMarkup:
    """Per image: the file, rate 1-5, its assets; per job: reroll, variations, edit the prompt."""
    rows: list[list[InlineKeyboardButton]] = []
    for index in indices:
        rows.append(
            [InlineKeyboardButton(text=f"#{index + 1}", callback_data=FileCB(job=job_id, index=index).pack())]
            + [
                InlineKeyboardButton(
                    text=f"{score}★", callback_data=RateCB(job=job_id, index=index, score=score).pack()
                )
                for score in range(1, 6)
            ]
            + [
                InlineKeyboardButton(
                    text=t("button-assets", number=index + 1), callback_data=AssetsCB(job=job_id, index=index).pack()
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(text=t("button-reroll"), callback_data=JobCB(action="reroll", job=job_id).pack()),
            InlineKeyboardButton(
                text=t("button-variations"), callback_data=JobCB(action="variations", job=job_id).pack()
            ),
            InlineKeyboardButton(text=t("button-edit-prompt"), callback_data=JobCB(action="edit", job=job_id).pack()),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


AssetKind = Literal["svg", "transparent_svg", "transparent_png", "kit"]
ASSET_KINDS: tuple[AssetKind, ...] = ("svg", "transparent_svg", "transparent_png", "kit")


def assets_keyboard(t: Translate, job_id: str, index: int, made: list[str]) -> InlineKeyboardMarkup:
    """One button per asset that was made, and variations of this logo."""
    buttons = [
        InlineKeyboardButton(
            text=t(f"button-{kind}"), callback_data=AssetsCB(job=job_id, index=index, kind=kind).pack()
        )
        for kind in ASSET_KINDS
        if kind in made
    ]
    vary = InlineKeyboardButton(
        text=t("button-variations"), callback_data=AssetsCB(job=job_id, index=index, kind="vary").pack()
    )
    edit = InlineKeyboardButton(
        text=t("button-edit-and-vary"), callback_data=AssetsCB(job=job_id, index=index, kind="edit_vary").pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[buttons, [vary, edit]])


def cancel_keyboard(t: Translate, job_id: str) -> InlineKeyboardMarkup:
    """Under a job's status message while it is queued or drawing."""
    button = InlineKeyboardButton(text=t("button-cancel"), callback_data=CancelCB(job=job_id).pack())
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


SETTINGS_CHOICES: dict[SettingName, tuple[str, ...]] = {
    "images": ("1", "2", "4"),
    "size": ("256", "512", "768"),
    "steps": ("20", "30", "50"),
    "guidance": ("5", "7.5", "10"),
    "seed": ("random", "42"),
    "scheduler": ("default", "dpm++_2m_karras", "euler_a"),
    "language": LANGUAGES,
}


def settings_keyboard(t: Translate, current: UserSettings, language: str) -> InlineKeyboardMarkup:
    """A row of choices per setting, the current ones ticked; `language`: the one the bot speaks now."""
    builder = InlineKeyboardBuilder()
    shown = {
        "images": str(current.num_images),
        "size": str(current.size),
        "steps": str(current.num_steps),
        "guidance": f"{current.guidance_scale:g}",
        "seed": "random" if current.seed is None else str(current.seed),
        "scheduler": current.scheduler,
        "language": language,
    }
    for name, values in SETTINGS_CHOICES.items():
        for value in values:
            mark = "✅ " if shown[name] == value else ""
            if name == "language":
                label = t("language-name", language=value)
            else:
                shown_value: str | float = float(value) if name == "guidance" else value
                if value == "random":
                    shown_value = t("seed-random")
                label = t("setting-choice", name=t(f"setting-{name}"), value=shown_value)
            builder.button(text=f"{mark}{label}", callback_data=SettingsCB(name=name, value=value))
    builder.adjust(*(len(values) for values in SETTINGS_CHOICES.values()))
    return builder.as_markup()


def history_keyboard(
    t: Translate, page: int, job_ids: list[str], has_next: bool, first_number: int
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for offset, job_id in enumerate(job_ids):
        builder.button(text=f"✏️ {first_number + offset}", callback_data=OpenJobCB(job=job_id))
    navigation = []
    if page > 0:
        builder.button(text=t("button-newer"), callback_data=HistoryCB(page=page - 1))
        navigation.append(1)
    if has_next:
        builder.button(text=t("button-older"), callback_data=HistoryCB(page=page + 1))
        navigation.append(1)
    builder.adjust(*([len(job_ids)] if job_ids else []), len(navigation) or 1)
    return builder.as_markup()


def best_keyboard(t: Translate) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("button-best-all"), callback_data=BestCB(scope="all"))
    builder.button(text=t("button-best-mine"), callback_data=BestCB(scope="mine"))
    return builder.as_markup()
