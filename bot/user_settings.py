"""Each user's generation settings and language: validated with GenerationParams' own limits, stored in MongoDB."""

from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from bot.errors import SettingsError
from schemas.generation import SCHEDULERS, GenerationParams
from services.storage.mongo import translated_errors

if TYPE_CHECKING:
    from bot.i18n import Translate

# The names users type (`/set steps 20`) and the GenerationParams fields they stand for.
FIELDS = {
    "images": "num_images",
    "size": "size",
    "steps": "num_steps",
    "guidance": "guidance_scale",
    "seed": "seed",
    "scheduler": "scheduler",
    "language": "language",
}
RANDOM = "random"
Language = Literal["en", "ru"]
CHOICES: dict[str, tuple[str, ...]] = {"scheduler": SCHEDULERS, "language": get_args(Language)}


class UserSettings(BaseModel):
    """How one user's logos are drawn, and the bot's language for them.

    `seed` None means a new random seed for every job; `language` None means the one Telegram reports.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    num_images: int = 2
    size: int = 512
    num_steps: int = 30
    guidance_scale: float = 7.5
    seed: int | None = None
    scheduler: str = "default"
    language: Language | None = None

    def to_params(self, prompt: str, **overrides: Any) -> GenerationParams:
        """The GenerationParams of one job; raises ValidationError where the generator would refuse."""
        values = {
            "prompt": prompt,
            "num_images": self.num_images,
            "height": self.size,
            "width": self.size,
            "num_steps": self.num_steps,
            "guidance_scale": self.guidance_scale,
            "seed": self.seed,
            "scheduler": self.scheduler,
            **overrides,
        }
        return GenerationParams(**values)

    def with_value(self, name: str, raw: str) -> "UserSettings":
        """A copy with one setting changed from what the user typed, checked against GenerationParams."""
        if name not in FIELDS:
            raise SettingsError("error-unknown-setting", name=name, names=", ".join(FIELDS))
        field = FIELDS[name]
        value = _parse(name, raw.strip())
        try:
            changed = self.model_validate(self.model_dump() | {field: value})
            changed.to_params("probe")
        except ValidationError as error:
            raise explain(error, name, raw.strip()) from None
        return changed

    def describe(self, t: "Translate", language: str) -> str:
        """The settings as a message; `language`: the one the bot speaks to this user now."""
        return t(
            "settings-summary",
            images=self.num_images,
            size=str(self.size),
            steps=self.num_steps,
            guidance=self.guidance_scale,
            seed=t("seed-random") if self.seed is None else str(self.seed),
            scheduler=self.scheduler,
            language=language,
        )


def _parse(name: str, raw: str) -> int | float | str | None:
    if name in ("scheduler", "language"):
        return raw.lower()  # validation names the choices when it refuses one
    if name == "seed" and raw.lower() == RANDOM:
        return None
    try:
        return float(raw) if name == "guidance" else int(raw)
    except ValueError:
        key = {"guidance": "error-setting-number", "seed": "error-setting-seed"}.get(name, "error-setting-whole-number")
        raise SettingsError(key, name=name, value=raw) from None


def explain(error: ValidationError, name: str | None = None, raw: str | None = None) -> SettingsError:
    """Pydantic's refusal told in the user's words and language: `size`, not `height`; the limit it broke."""
    item = error.errors()[0]
    field = str(item["loc"][0]) if item["loc"] else (name or "")
    shown = name or next((typed for typed, known in FIELDS.items() if known == field), field)
    if field in ("height", "width"):
        shown = "size"
    value = raw if raw is not None else item.get("input")
    context = item.get("ctx", {})
    kind = item["type"]
    if kind in ("greater_than_equal", "greater_than"):
        return SettingsError(
            "error-setting-too-small", name=shown, limit=context.get("ge", context.get("gt")), value=value
        )
    if kind in ("less_than_equal", "less_than"):
        return SettingsError(
            "error-setting-too-large", name=shown, limit=context.get("le", context.get("lt")), value=value
        )
    if kind == "literal_error":
        return SettingsError("error-setting-choice", name=shown, choices=", ".join(CHOICES.get(field, ())), value=value)
    if kind == "value_error" and field in ("height", "width"):
        return SettingsError("error-setting-multiple-of-8", name=shown, value=value)
    return SettingsError("error-setting-invalid", name=shown, detail=item["msg"].removeprefix("Value error, "))


class UserSettingsRepository:
    """One document per Telegram user in `bot_users`."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._users = db.bot_users

    async def get(self, user_id: int) -> UserSettings:
        async with translated_errors("bot settings read"):
            document = await self._users.find_one({"_id": user_id})
        return UserSettings(**(document or {}).get("settings", {}))

    async def save(self, user_id: int, settings: UserSettings) -> None:
        async with translated_errors("bot settings write"):
            await self._users.update_one({"_id": user_id}, {"$set": {"settings": settings.model_dump()}}, upsert=True)
