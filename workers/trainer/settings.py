"""The trainer worker's settings."""

from pydantic import Field

from services.settings import CommonSettings


class TrainerSettings(CommonSettings):
    model: str = Field(
        default="",
        description="A local diffusers folder or a hub id; empty for the tiny random-weight pipeline (noise).",
    )
    device: str = "cpu"
    torch_threads: int | None = Field(default=None, ge=1)
    progress_interval_s: float = Field(default=2.0, ge=0, description="At most one progress event this often.")
    auto_promote: bool = Field(default=True, description="Promote a new adapter when its held-out loss wins.")
    min_improvement: float = Field(
        default=0.0, ge=0, lt=1, description="Relative held-out loss gain needed for automatic promotion."
    )
