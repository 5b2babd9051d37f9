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
    prefetch: int | None = Field(
        default=None, ge=1, le=64, description="Commands taken from the queue at once; the batch's images if unset."
    )
    batch_max_images: int | None = Field(
        default=None, ge=1, le=64, description="Images drawn in one pipeline call; 8 on CPU and 16 on CUDA if unset."
    )
    batch_wait_s: float = Field(
        default=0.005, ge=0, le=1, description="How long a batch waits for commands that are arriving, at most."
    )
    torch_threads: int | None = Field(default=None, ge=1)

    @property
    def batch_images(self) -> int:
        """The most images one pipeline call draws."""
        if self.batch_max_images is not None:
            return self.batch_max_images
        return 16 if self.device.startswith("cuda") else 8

    @property
    def queue_prefetch(self) -> int:
        """Enough commands in hand to fill a batch (a command has at least one image), and no more, so that
        generators sharing the queue share its work."""
        return self.prefetch if self.prefetch is not None else self.batch_images
