"""Small datasets built in code, in the layouts the importer reads (parquet, imagefolder, zip)."""

import io
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from workers.trainer.synthetic import synthetic_logos

NOT_AN_IMAGE = b"this is a text file, not an image"


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _truncated_png() -> bytes:
    """A real PNG cut short: it identifies as PNG and fails only when decoded."""
    noise = Image.effect_noise((64, 64), 64).convert("RGB")
    whole = png_bytes(noise)
    return whole[: len(whole) // 2]


CORRUPT_PNG = _truncated_png()


def logo_rows(count: int, seed: int = 0) -> list[tuple[bytes, str]]:
    return [(png_bytes(logo.image), logo.caption) for logo in synthetic_logos(count, size=64, seed=seed)]


def write_parquet(path: Path, rows: list[tuple[bytes | None, str | None]], struct: bool = True) -> Path:
    """`image` as the `datasets` library writes it ({bytes, path}) or as plain binary."""
    images = [{"bytes": data, "path": None} for data, _ in rows] if struct else [data for data, _ in rows]
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())]) if struct else pa.binary()
    table = pa.table({"image": pa.array(images, type=image_type), "text": [text for _, text in rows]})
    pq.write_table(table, path)
    return path


def write_imagefolder(folder: Path, files: dict[str, bytes], captions: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    lines = [json.dumps({"file_name": name, "text": text}) for name, text in captions.items()]
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def zip_folder(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return path


class CrashAt(Exception):
    """Raised by StoreIO to stand in for a trainer killed right after a step."""


class StoreIO:
    """RunIO on the real S3 store for tests that call `execute` directly; records progress, can crash."""

    def __init__(self, store, crash_at_step: int | None = None) -> None:
        from workers.trainer.service import StoreBridge

        self._bridge = StoreBridge(store, reporter=None)
        self.put = self._bridge.put
        self.get = self._bridge.get
        self.crash_at_step = crash_at_step
        self.steps: list[tuple[int, float, float | None]] = []

    def progress(self, step: int, max_steps: int, loss: float, seconds_left: float | None) -> None:
        self.steps.append((step, loss, seconds_left))
        if step == self.crash_at_step:
            raise CrashAt(f"killed after step {step}")


def write_logos(folder: Path, count: int, seed: int = 0) -> list:
    """`count` synthetic logos written to disk as training Examples (keys as if they came from S3)."""
    from workers.trainer.data import Example

    folder.mkdir(parents=True, exist_ok=True)
    examples = []
    for index, logo in enumerate(synthetic_logos(count, size=64, seed=seed)):
        path = folder / f"{index}.png"
        logo.image.save(path)
        examples.append(Example(path, logo.caption, f"synthetic/{seed}/{index}.png"))
    return examples


async def publish_message(rabbit_url: str, message) -> None:
    """Publish one of our messages as any client would: JSON on the right exchange, persistent, confirmed."""
    import aio_pika

    from schemas.base import Event
    from schemas.topology import COMMANDS, EVENTS

    exchange_name = EVENTS.name if isinstance(message, Event) else COMMANDS.name
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_name)
        await exchange.publish(
            aio_pika.Message(
                message.model_dump_json().encode(),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=message.routing_key,
        )


async def dead_letter(rabbit_url: str, queue: str, timeout_s: float = 30) -> dict:
    """Wait for one message on a dead-letter queue and return its headers and body."""
    import asyncio
    import json

    import aio_pika

    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        dead = await channel.get_queue(queue)
        arrived: asyncio.Future = asyncio.get_running_loop().create_future()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()
            if not arrived.done():
                arrived.set_result({"headers": dict(message.headers or {}), "body": json.loads(message.body)})

        await dead.consume(on_message)
        return await asyncio.wait_for(arrived, timeout_s)
