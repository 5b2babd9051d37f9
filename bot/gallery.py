"""Pictures the API links to (/history, /best): fetched through the API, shrunk, sent as one album with captions."""

import asyncio
import io
import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import BufferedInputFile, InputMediaPhoto, MediaUnion
from PIL import Image

from bot.api_client import ApiClient
from bot.errors import UserError

logger = logging.getLogger(__name__)

THUMBNAIL_PX = 256
ALBUM_LIMIT = 10  # Telegram's most photos in one media group
CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class Picture:
    """One image to show: its signed link from the API and the caption under it."""

    url: str
    caption: str


def shrink(png: bytes, size_px: int = THUMBNAIL_PX) -> bytes:
    """A PNG no larger than `size_px` on its longer side (smaller images are kept as they are)."""
    with Image.open(io.BytesIO(png)) as image:
        if max(image.size) <= size_px:
            return png
        image.thumbnail((size_px, size_px))
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()


async def _thumbnail(api: ApiClient, picture: Picture, number: int) -> InputMediaPhoto | None:
    try:
        png = await api.image(picture.url)
    except UserError as error:  # one missing picture should not cost the user the whole list
        logger.warning("thumbnail %s not shown: %s", picture.url.split("?")[0], error)
        return None
    small = await asyncio.to_thread(shrink, png)
    return InputMediaPhoto(
        media=BufferedInputFile(small, filename=f"{number}.png"), caption=picture.caption[:CAPTION_LIMIT]
    )


async def send_pictures(bot: Bot, chat_id: int, api: ApiClient, pictures: list[Picture]) -> int:
    """Send up to ALBUM_LIMIT pictures as one album (a single one as a photo); returns how many were sent."""
    fetched = await asyncio.gather(
        *(_thumbnail(api, picture, number) for number, picture in enumerate(pictures[:ALBUM_LIMIT], start=1))
    )
    photos = [photo for photo in fetched if photo is not None]
    if len(photos) == 1:
        await bot.send_photo(chat_id, photos[0].media, caption=photos[0].caption)
    elif photos:
        album: list[MediaUnion] = list(photos)  # aiogram's parameter is a list of any media kind
        await bot.send_media_group(chat_id, album)
    return len(photos)
