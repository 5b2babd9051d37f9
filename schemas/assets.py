"""The assets contract: MakeAssets in (or LogoGenerated), LogoAssetsReady out."""

from typing import Literal

from pydantic import BaseModel, Field

from schemas.base import Command, Event

AssetName = Literal["svg", "transparent_png", "palette", "kit"]


class MakeAssets(Command):
    """Make the assets of one stored image now (an image drawn before the assets worker ran). correlation_id: the
    image's job."""

    routing_key = "assets.make"

    image_id: str = Field(min_length=1, max_length=128)


class PaletteColour(BaseModel):
    hex: str = Field(pattern=r"^#[0-9a-f]{6}$")
    share: float = Field(ge=0, le=1, description="Share of the image's pixels.")
    name: str = Field(description="The nearest CSS colour name.")


class AssetFile(BaseModel):
    key: str = Field(description="S3 key, beside the image's PNG.")
    url: str | None = Field(default=None, description="Signed HTTP link, when the worker knows the API's address.")


class LogoAssetsReady(Event):
    """The assets of one image: the files made, the palette, and why any asset could not be made. correlation_id:
    the image's job."""

    routing_key = "assets.ready"

    image_id: str
    files: dict[str, AssetFile] = Field(
        description="svg, transparent_svg (the SVG without its background), transparent_png, kit: those that were made."
    )
    palette: list[PaletteColour] | None = None
    failures: dict[str, str] = Field(default_factory=dict, description="Asset name: why it was not made.")
    svg_mismatch: float | None = Field(
        default=None, description="Share of pixels where the SVG, rendered back, differs from the PNG."
    )
