"""The assets worker's settings."""

from pydantic import Field

from services.settings import LinkSettings


class AssetsSettings(LinkSettings):
    """`public_url` set: LogoAssetsReady carries a signed link for each file made."""

    assets_prefetch: int = Field(default=2, ge=1, le=64, description="Images worked on at once (CPU-bound).")
