"""Readers for the dataset layouts LogoForge accepts, yielding (file, image bytes, caption) one at a time.

The layouts are the ones Hugging Face logo datasets use: parquet files with an `image` column (the
`datasets` library's image struct `{bytes, path}`, or plain bytes) and a `text` column, and an
imagefolder with a `metadata.jsonl` (`file_name` + `text` per line). A zip holds either layout.
Readers never decode images: the importer does, so that a bad file is reported and skipped.
"""

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

IMAGE_COLUMN = "image"
TEXT_COLUMN = "text"
METADATA_FILE = "metadata.jsonl"
PARQUET_BATCH_ROWS = 64
MAX_ZIP_BYTES = 8 * 1024**3


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


def read_source(path: Path) -> Iterator[SourceEntry]:
    """Read a parquet file, a folder (imagefolder or parquet files) or a zip of either."""
    path = Path(path)
    if not path.exists():
        raise DatasetLayoutError(f"path: {path} does not exist")
    if path.is_dir():
        return read_folder(path)
    if path.suffix == ".parquet":
        return read_parquet(path)
    if path.suffix == ".zip":
        return read_zip(path)
    raise DatasetLayoutError(f"path: expected a folder, a .parquet or a .zip file, got {path.name}")


def read_folder(folder: Path) -> Iterator[SourceEntry]:
    """An imagefolder (one or more metadata.jsonl) or a folder of parquet files (e.g. a hub snapshot)."""
    metadata_files = sorted(folder.rglob(METADATA_FILE))
    parquet_files = sorted(folder.rglob("*.parquet"))
    if metadata_files:
        return _chain(read_imagefolder_metadata(meta, folder) for meta in metadata_files)
    if parquet_files:
        return _chain(read_parquet(file, label=str(file.relative_to(folder))) for file in parquet_files)
    raise DatasetLayoutError(f"path: {folder} has neither a {METADATA_FILE} nor .parquet files")


def _chain(iterators: Iterator[Iterator[SourceEntry]]) -> Iterator[SourceEntry]:
    for iterator in iterators:
        yield from iterator


def read_imagefolder_metadata(metadata: Path, root: Path) -> Iterator[SourceEntry]:
    """Each metadata.jsonl line names a file relative to the metadata's own folder."""
    base = metadata.parent
    label = str(metadata.relative_to(root))
    with metadata.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                file_name = str(record["file_name"])
                text = record.get(TEXT_COLUMN)
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                yield Skipped(f"{label}:{number}", f"bad metadata line ({type(error).__name__}: {error})")
                continue
            source = (
                str((base / file_name).relative_to(root)) if _inside(base / file_name, root) else file_name
            )
            yield _read_file(base / file_name, root, source, text)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _read_file(path: Path, root: Path, source: str, text: object) -> SourceEntry:
    if not _inside(path, root):
        return Skipped(source, "file_name points outside the dataset folder")
    if not path.is_file():
        return Skipped(source, "file listed in metadata is missing")
    if not isinstance(text, str) or not text.strip():
        return Skipped(source, f"missing '{TEXT_COLUMN}' caption")
    return RawItem(source, path.read_bytes(), text.strip())


def read_parquet(path: Path, label: str | None = None) -> Iterator[SourceEntry]:
    """Rows of a parquet file, read in small batches so a large file never sits in memory whole."""
    import pyarrow.parquet as pq

    label = label or path.name
    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises its own ArrowInvalid/OSError family for bad files
        raise DatasetLayoutError(f"path: {label} is not a readable parquet file ({error})") from error
    columns = parquet.schema_arrow.names
    missing = [name for name in (IMAGE_COLUMN, TEXT_COLUMN) if name not in columns]
    if missing:
        raise DatasetLayoutError(f"{label}: missing column(s) {missing}; columns are {columns}")
    return _parquet_rows(parquet, label)


def _parquet_rows(parquet, label: str) -> Iterator[SourceEntry]:
    row = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=[IMAGE_COLUMN, TEXT_COLUMN]):
        for image, text in zip(
            batch.column(IMAGE_COLUMN).to_pylist(), batch.column(TEXT_COLUMN).to_pylist(), strict=True
        ):
            yield _parquet_item(f"{label}#{row}", image, text)
            row += 1


def _parquet_item(source: str, image: object, text: object) -> SourceEntry:
    data = image.get("bytes") if isinstance(image, dict) else image
    if isinstance(image, dict) and not data and image.get("path"):
        return Skipped(source, f"image stored by path only ({image['path']}), without bytes")
    if not isinstance(data, bytes | bytearray) or not data:
        return Skipped(source, f"'{IMAGE_COLUMN}' holds no image bytes")
    if not isinstance(text, str) or not text.strip():
        return Skipped(source, f"missing '{TEXT_COLUMN}' caption")
    return RawItem(source, bytes(data), text.strip())


def read_zip(path: Path) -> Iterator[SourceEntry]:
    """A zip of either layout, read in place: members are looked up by name, never extracted to disk."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise DatasetLayoutError(f"path: {path.name} is not a valid zip file") from error
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_ZIP_BYTES:
        raise DatasetLayoutError(
            f"path: {path.name} unpacks to {total} bytes, over the {MAX_ZIP_BYTES} limit"
        )
    names = [info.filename for info in archive.infolist() if not info.is_dir()]
    metadata = sorted(n for n in names if PurePosixPath(n).name == METADATA_FILE)
    parquets = sorted(n for n in names if n.endswith(".parquet"))
    if metadata:
        return _chain(_zip_imagefolder(archive, meta, set(names)) for meta in metadata)
    if parquets:
        return _chain(_zip_parquet(archive, name) for name in parquets)
    raise DatasetLayoutError(f"path: {path.name} holds neither a {METADATA_FILE} nor .parquet files")


def _zip_imagefolder(archive: zipfile.ZipFile, metadata: str, names: set[str]) -> Iterator[SourceEntry]:
    base = PurePosixPath(metadata).parent
    for number, line in enumerate(archive.read(metadata).decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            member = str(base / str(record["file_name"])) if str(base) != "." else str(record["file_name"])
            text = record.get(TEXT_COLUMN)
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            yield Skipped(f"{metadata}:{number}", f"bad metadata line ({type(error).__name__}: {error})")
            continue
        if member not in names:
            yield Skipped(member, "file listed in metadata is missing")
        elif not isinstance(text, str) or not text.strip():
            yield Skipped(member, f"missing '{TEXT_COLUMN}' caption")
        else:
            yield RawItem(member, archive.read(member), text.strip())


def _zip_parquet(archive: zipfile.ZipFile, name: str) -> Iterator[SourceEntry]:
    import io

    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(archive.read(name)))
    except Exception as error:  # pyarrow's ArrowInvalid family
        raise DatasetLayoutError(f"{name}: not a readable parquet file ({error})") from error
    columns = parquet.schema_arrow.names
    missing = [column for column in (IMAGE_COLUMN, TEXT_COLUMN) if column not in columns]
    if missing:
        raise DatasetLayoutError(f"{name}: missing column(s) {missing}; columns are {columns}")
    yield from _parquet_rows(parquet, name)


def read_uploaded(files: list[tuple[str, bytes]], captions: list[str]) -> Iterator[SourceEntry]:
    """Files uploaded together with one caption each (or one caption for all)."""
    if not files:
        raise DatasetLayoutError("files: no files uploaded")
    if len(captions) not in (1, len(files)):
        raise DatasetLayoutError(
            f"captions: expected 1 or {len(files)} captions (one per file), got {len(captions)}"
        )
    for index, (name, data) in enumerate(files):
        text = captions[0] if len(captions) == 1 else captions[index]
        if not text.strip():
            yield Skipped(name, f"missing '{TEXT_COLUMN}' caption")
        else:
            yield RawItem(name, data, text.strip())
