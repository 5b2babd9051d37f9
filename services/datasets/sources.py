"""Readers for the dataset layouts LogoForge accepts, yielding (file, image bytes, caption) one at a time.

The layouts are the ones Hugging Face logo datasets use: parquet files with an `image` column (the
`datasets` library's image struct `{bytes, path}`, or plain bytes) and a `text` column, and an
imagefolder with a `metadata.jsonl` (`file_name` + `text` per line). A zip holds either layout.
Readers never decode images: the importer does, so that a bad file is reported and skipped.
"""

import json
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from services.datasets.limits import DatasetLimits, DatasetTooLarge

IMAGE_COLUMN = "image"
TEXT_COLUMN = "text"
METADATA_FILE = "metadata.jsonl"
PARQUET_BATCH_ROWS = 64
MAX_METADATA_LINE = 64 * 1024
COPY_CHUNK = 1024**2
DEFAULT_LIMITS = DatasetLimits()


class DatasetLayoutError(ValueError):
    """The source is not a layout we read (or is malformed as a whole): nothing can be imported."""


@dataclass(frozen=True)
class RawItem:
    """One candidate image: where it came from (for reports), its undecoded bytes and its caption."""

    source: str
    data: bytes
    text: str


@dataclass(frozen=True)
class Skipped:
    """A file that cannot be imported, and why."""

    source: str
    reason: str


SourceEntry = RawItem | Skipped


def read_source(path: Path, limits: DatasetLimits = DEFAULT_LIMITS) -> Iterator[SourceEntry]:
    """Read a parquet file, a folder (imagefolder or parquet files) or a zip of either."""
    path = Path(path)
    if not path.exists():
        raise DatasetLayoutError(f"path: {path} does not exist")
    if path.is_dir():
        return read_folder(path, limits)
    if path.suffix == ".parquet":
        return read_parquet(path, limits=limits)
    if path.suffix == ".zip":
        return read_zip(path, limits)
    raise DatasetLayoutError(f"path: expected a folder, a .parquet or a .zip file, got {path.name}")


def read_folder(folder: Path, limits: DatasetLimits = DEFAULT_LIMITS) -> Iterator[SourceEntry]:
    """An imagefolder (one or more metadata.jsonl) or a folder of parquet files (e.g. a hub snapshot)."""
    metadata_files = sorted(folder.rglob(METADATA_FILE))
    parquet_files = sorted(folder.rglob("*.parquet"))
    if metadata_files:
        return _chain(read_imagefolder_metadata(meta, folder, limits) for meta in metadata_files)
    if parquet_files:
        return _chain(read_parquet(file, label=str(file.relative_to(folder)), limits=limits) for file in parquet_files)
    raise DatasetLayoutError(f"path: {folder} has neither a {METADATA_FILE} nor .parquet files")


def _chain(iterators: Iterator[Iterator[SourceEntry]]) -> Iterator[SourceEntry]:
    for iterator in iterators:
        yield from iterator


def _metadata_records(lines: IO[bytes], label: str) -> Iterator[tuple[str, str | None] | Skipped]:
    """(file_name, caption) per metadata.jsonl line, 1-based line numbers in reasons; a line is read bounded."""
    number = 0
    while line := lines.readline(MAX_METADATA_LINE + 1):
        number += 1
        if len(line) > MAX_METADATA_LINE:
            while line and not line.endswith(b"\n"):  # skip the rest of the overlong line
                line = lines.readline(MAX_METADATA_LINE)
            yield Skipped(f"{label}:{number}", f"metadata line over {MAX_METADATA_LINE} bytes")
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            file_name = str(record["file_name"])
            text = record.get(TEXT_COLUMN)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
            yield Skipped(f"{label}:{number}", f"bad metadata line ({type(error).__name__}: {error})")
            continue
        yield file_name, text if isinstance(text, str) else None


def read_imagefolder_metadata(
    metadata: Path, root: Path, limits: DatasetLimits = DEFAULT_LIMITS
) -> Iterator[SourceEntry]:
    """Each metadata.jsonl line names a file relative to the metadata's own folder."""
    base = metadata.parent
    label = str(metadata.relative_to(root))
    with metadata.open("rb") as lines:
        for record in _metadata_records(lines, label):
            if isinstance(record, Skipped):
                yield record
                continue
            file_name, text = record
            source = str((base / file_name).relative_to(root)) if _inside(base / file_name, root) else file_name
            yield _read_file(base / file_name, root, source, text, limits)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _read_file(path: Path, root: Path, source: str, text: str | None, limits: DatasetLimits) -> SourceEntry:
    if not _inside(path, root):
        return Skipped(source, "file_name points outside the dataset folder")
    if not path.is_file():
        return Skipped(source, "file listed in metadata is missing")
    if not text or not text.strip():
        return Skipped(source, f"missing '{TEXT_COLUMN}' caption")
    with path.open("rb") as file:
        return _bounded_item(source, file, text, limits)


def _bounded_item(source: str, file: IO[bytes], text: str, limits: DatasetLimits) -> SourceEntry:
    """Read at most one byte past the image limit, so an oversized file never sits in memory whole."""
    data = file.read(limits.image_bytes + 1)
    if len(data) > limits.image_bytes:
        return Skipped(source, _too_large(limits))
    return RawItem(source, data, text.strip())


def _too_large(limits: DatasetLimits) -> str:
    return f"file over the {limits.image_bytes}-byte limit for one image"


def read_parquet(path: Path, label: str | None = None, limits: DatasetLimits = DEFAULT_LIMITS) -> Iterator[SourceEntry]:
    """Rows of a parquet file, read in small batches so a large file never sits in memory whole."""
    import pyarrow.parquet as pq

    label = label or path.name
    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises its own ArrowInvalid/OSError family for bad files
        raise DatasetLayoutError(f"path: {label} is not a readable parquet file ({error})") from error
    _check_columns(parquet, label)
    return _parquet_rows(parquet, label, limits)


def _check_columns(parquet, label: str) -> None:
    columns = parquet.schema_arrow.names
    missing = [name for name in (IMAGE_COLUMN, TEXT_COLUMN) if name not in columns]
    if missing:
        raise DatasetLayoutError(f"{label}: missing column(s) {missing}; columns are {columns}")


def _parquet_rows(parquet, label: str, limits: DatasetLimits) -> Iterator[SourceEntry]:
    """Rows are numbered from 0 in reasons (`file.parquet#0` is the first row), as pyarrow and pandas do."""
    row = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=[IMAGE_COLUMN, TEXT_COLUMN]):
        for image, text in zip(
            batch.column(IMAGE_COLUMN).to_pylist(), batch.column(TEXT_COLUMN).to_pylist(), strict=True
        ):
            yield _parquet_item(f"{label}#{row}", image, text, limits)
            row += 1


def _parquet_item(source: str, image: object, text: object, limits: DatasetLimits) -> SourceEntry:
    data = image.get("bytes") if isinstance(image, dict) else image
    if isinstance(image, dict) and not data and image.get("path"):
        return Skipped(source, f"image stored by path only ({image['path']}), without bytes")
    if not isinstance(data, bytes | bytearray) or not data:
        return Skipped(source, f"'{IMAGE_COLUMN}' holds no image bytes")
    if len(data) > limits.image_bytes:
        return Skipped(source, _too_large(limits))
    if not isinstance(text, str) or not text.strip():
        return Skipped(source, f"missing '{TEXT_COLUMN}' caption")
    return RawItem(source, bytes(data), text.strip())


def read_zip(path: Path, limits: DatasetLimits = DEFAULT_LIMITS) -> Iterator[SourceEntry]:
    """A zip of either layout, read in place: members are read one at a time, bounded, never extracted whole."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise DatasetLayoutError(f"path: {path.name} is not a valid zip file") from error
    total = sum(info.file_size for info in archive.infolist())
    if total > limits.unpacked_bytes:
        raise DatasetTooLarge(
            f"files: {path.name} unpacks to {total} bytes, over the {limits.unpacked_bytes}-byte limit"
        )
    names = [info.filename for info in archive.infolist() if not info.is_dir()]
    metadata = sorted(n for n in names if PurePosixPath(n).name == METADATA_FILE)
    parquets = sorted(n for n in names if n.endswith(".parquet"))
    if metadata:
        return _chain(_zip_imagefolder(archive, meta, set(names), limits) for meta in metadata)
    if parquets:
        return _chain(_zip_parquet(archive, name, limits) for name in parquets)
    raise DatasetLayoutError(f"path: {path.name} holds neither a {METADATA_FILE} nor .parquet files")


def _zip_imagefolder(
    archive: zipfile.ZipFile, metadata: str, names: set[str], limits: DatasetLimits
) -> Iterator[SourceEntry]:
    base = PurePosixPath(metadata).parent
    with archive.open(metadata) as lines:  # zipfile reads several members at once
        for record in _metadata_records(lines, metadata):
            if isinstance(record, Skipped):
                yield record
                continue
            file_name, text = record
            member = str(base / file_name) if str(base) != "." else file_name
            yield _zip_member(archive, member, names, text, limits)


def _zip_member(
    archive: zipfile.ZipFile, member: str, names: set[str], text: str | None, limits: DatasetLimits
) -> SourceEntry:
    if member not in names:
        return Skipped(member, "file listed in metadata is missing")
    if not text or not text.strip():
        return Skipped(member, f"missing '{TEXT_COLUMN}' caption")
    if archive.getinfo(member).file_size > limits.image_bytes:
        return Skipped(member, _too_large(limits))
    with archive.open(member) as file:
        return _bounded_item(member, file, text, limits)


def _zip_parquet(archive: zipfile.ZipFile, name: str, limits: DatasetLimits) -> Iterator[SourceEntry]:
    """pyarrow needs a seekable file: unpack the member to an anonymous temporary file, bounded."""
    import pyarrow.parquet as pq

    with tempfile.TemporaryFile() as spool:
        with archive.open(name) as member:
            copied = _copy_bounded(member, spool, limits.unpacked_bytes)
        if copied > limits.unpacked_bytes:
            raise DatasetTooLarge(f"files: {name} unpacks to over the {limits.unpacked_bytes}-byte limit")
        spool.seek(0)
        try:
            parquet = pq.ParquetFile(spool)
        except Exception as error:  # pyarrow's ArrowInvalid family
            raise DatasetLayoutError(f"{name}: not a readable parquet file ({error})") from error
        _check_columns(parquet, name)
        yield from _parquet_rows(parquet, name, limits)


def _copy_bounded(source: IO[bytes], target: IO[bytes], limit: int) -> int:
    """Copy in chunks; stop one chunk past `limit` and return the bytes copied."""
    copied = 0
    while copied <= limit and (chunk := source.read(COPY_CHUNK)):
        target.write(chunk)
        copied += len(chunk)
    return copied


def spool_upload(source: IO[bytes], target: Path, limit: int) -> int:
    """Copy an uploaded file to `target` in chunks (never whole in memory); the bytes copied, bounded."""
    with target.open("wb") as file:
        return _copy_bounded(source, file, limit)


def read_uploaded(
    files: Sequence[tuple[str, IO[bytes]]], captions: list[str], limits: DatasetLimits = DEFAULT_LIMITS
) -> Iterator[SourceEntry]:
    """Files uploaded together with one caption each (or one caption for all), or an imagefolder uploaded
    as its files: the images and their `metadata.jsonl`. Each file is read bounded."""
    if not files:
        raise DatasetLayoutError("files: no files uploaded")
    metadata = [(name, file) for name, file in files if PurePosixPath(name).name == METADATA_FILE]
    if metadata:
        if captions:
            raise DatasetLayoutError(f"captions: send captions or a {METADATA_FILE}, not both")
        if len(metadata) > 1:
            raise DatasetLayoutError(f"files: one {METADATA_FILE} per upload (send a zip for nested folders)")
        images = [(name, file) for name, file in files if PurePosixPath(name).name != METADATA_FILE]
        return _uploaded_imagefolder(metadata[0], images, limits)
    if len(captions) not in (1, len(files)):
        raise DatasetLayoutError(f"captions: expected 1 or {len(files)} captions (one per file), got {len(captions)}")
    return _uploaded_entries(files, captions, limits)


def _uploaded_imagefolder(
    metadata: tuple[str, IO[bytes]], images: Sequence[tuple[str, IO[bytes]]], limits: DatasetLimits
) -> Iterator[SourceEntry]:
    """The images a metadata.jsonl lists, in its order (file names relative to the metadata's folder, as in a
    folder on disk); a listed file that was not sent, and a sent file that is not listed, are skipped."""
    label, lines = metadata
    base = PurePosixPath(label).parent
    by_name = {_relative_name(name, base): (name, file) for name, file in images}
    listed: set[str] = set()
    for record in _metadata_records(lines, label):
        if isinstance(record, Skipped):
            yield record
            continue
        file_name, text = record
        key = _relative_name(file_name, PurePosixPath("."))
        listed.add(key)
        if key not in by_name:
            yield Skipped(file_name, f"listed in {METADATA_FILE} but not uploaded")
        elif not text or not text.strip():
            yield Skipped(by_name[key][0], f"missing '{TEXT_COLUMN}' caption")
        else:
            name, file = by_name[key]
            yield _bounded_item(name, file, text, limits)
    for key, (name, _) in by_name.items():
        if key not in listed:
            yield Skipped(name, f"not listed in {METADATA_FILE}")


def _relative_name(name: str, base: PurePosixPath) -> str:
    path = PurePosixPath(name.replace("\\", "/"))
    if base != PurePosixPath(".") and path.is_relative_to(base):
        path = path.relative_to(base)
    return path.as_posix().removeprefix("./")


def _uploaded_entries(
    files: Sequence[tuple[str, IO[bytes]]], captions: list[str], limits: DatasetLimits
) -> Iterator[SourceEntry]:
    for index, (name, file) in enumerate(files):
        text = captions[0] if len(captions) == 1 else captions[index]
        if not text.strip():
            yield Skipped(name, f"missing '{TEXT_COLUMN}' caption")
        else:
            yield _bounded_item(name, file, text, limits)
