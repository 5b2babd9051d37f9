"""The generator worker's settings."""

from typing import Literal

from pydantic import Field

from services.settings import LinkSettings


class GeneratorSettings(LinkSettings):
    """`public_url` set: LogoGenerated carries a signed link for each image."""

    model: str = Field(
        default="",
        description="A local diffusers folder or a hub id; empty for the tiny random-weight pipeline (noise).",
    )
    device: str = "cpu"
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    progress_interval_s: float = Field(default=0.5, ge=0, description="At most one progress event this often.")
    prefetch: int = Field(default=1, ge=1, le=16)
    torch_threads: int | None = Field(default=None, ge=1)
