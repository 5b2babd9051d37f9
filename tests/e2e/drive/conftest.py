"""The drive's tests: the real API (with the drive) on the test's broker, database and bucket."""

import io
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image, ImageDraw

from services.settings import DEV_ADMIN_KEY, DEV_API_KEY
from tests.e2e.conftest import api, generator


def logo_png(colour: str = "orange", shape: str = "circle", size: int = 96) -> bytes:
    """A flat-colour logo drawn here: a shape on white."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    box = (size // 6, size // 6, size - size // 6, size - size // 6)
    (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def sign_in(client: httpx.AsyncClient, key: str = DEV_ADMIN_KEY) -> str:
    """Sign the client in; returns the session's CSRF token, read from the page as a browser would."""
    response = await client.post("/drive/sign-in", data={"key": key, "next": "/drive/uploads"})
    assert response.status_code == 303, response.text
    page = await client.get("/drive/uploads", headers={"Accept": "text/html"})
    assert page.status_code == 200
    marker = 'data-csrf="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


@pytest.fixture
async def drive(api) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A signed-in client and its CSRF token."""
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        token = await sign_in(client)
        yield client, token


# A small job for the drive's generated-logo pages: two 64 px images in one step.
HERON = {"prompt": "a logo of a heron", "seed": 11, "num_images": 2, "height": 64, "width": 64, "num_steps": 1}

__all__ = ["DEV_API_KEY", "HERON", "api", "generator", "logo_png", "sign_in"]
