"""Each user's generation settings: validated with GenerationParams' own limits, stored in MongoDB."""

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from bot.errors import SettingsError
from schemas.generation import GenerationParams
from services.storage.mongo import translated_errors

# The names users type (`/set steps 20`) and the GenerationParams fields they stand for.
FIELDS = {
    "images": "num_images",
    "size": "size",
    "steps": "num_steps",
    "guidance": "guidance_scale",
    "seed": "seed",
    "scheduler": "scheduler",
}
RANDOM = "random"


class UserSettings(BaseModel):
    """How one user's logos are drawn; `seed` None means a new random seed for every job."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    num_images: int = 2
    size: int = 512
    num_steps: int = 30
    guidance_scale: float = 7.5
    seed: int | None = None
    scheduler: str = "default"

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
            raise SettingsError(f"unknown setting {name!r}: choose one of {', '.join(FIELDS)}")
        field = FIELDS[name]
        value = _parse(name, raw.strip())
        changed = self.model_copy(update={field: value})
        try:
            changed.to_params("probe")
        except ValidationError as error:
            raise SettingsError(_explain(name, error, raw.strip())) from None
        return changed

    def describe(self) -> str:
        seed = "random" if self.seed is None else str(self.seed)
        return (
            f"images: {self.num_images}\nsize: {self.size}×{self.size}\nsteps: {self.num_steps}\n"
            f"guidance: {self.guidance_scale:g}\nseed: {seed}\nscheduler: {self.scheduler}"
        )


def _parse(name: str, raw: str) -> int | float | str | None:
    if name == "scheduler":
        return raw.lower()  # GenerationParams names the choices when it refuses one
    if name == "seed" and raw.lower() == RANDOM:
        return None
    try:
        return float(raw) if name == "guidance" else int(raw)
    except ValueError:
        kind = "a number" if name == "guidance" else "a whole number"
        extra = " or 'random'" if name == "seed" else ""
        raise SettingsError(f"{name} must be {kind}{extra}, got {raw!r}") from None


def _explain(name: str, error: ValidationError, raw: str) -> str:
    """Pydantic's message, told in the user's words: `size`, not `height`; the value once."""
    item = error.errors()[0]
    field = str(item["loc"][0]) if item["loc"] else name
    message = item["msg"].removeprefix("Value error, ")
    if message.startswith(field):
        return name + message.removeprefix(field)
    return f"{name}: {message[:1].lower()}{message[1:]}, got {raw}"


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
