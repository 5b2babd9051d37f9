"""Zip archives dropped into the drive: logos with their prompts (a `metadata.jsonl` or `metadata.csv` inside),
read bounded, with every entry that could write outside its folder (zip-slip) refused by name."""

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from services.errors import InvalidInput

MAX_ENTRIES = 2000
METADATA_NAMES = ("metadata.jsonl", "metadata.csv")


@dataclass
class Unpacked:
    files: list[tuple[str, bytes, str | None]] = field(default_factory=list)  # (name in the archive, bytes, prompt)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name in the archive, reason)


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name)
    return name.startswith(("/", "\\")) or "\\" in name or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def _prompts(name: str, text: str) -> dict[str, str]:
    """file_name -> text, from a metadata.jsonl or a CSV with those columns (paths relative to its folder)."""
    base = PurePosixPath(name).parent
    found: dict[str, str] = {}
    if name.endswith(".jsonl"):
        for line in text.splitlines():
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("text"), str) and record.get("file_name"):
                    found[str(base / str(record["file_name"]))] = record["text"]
    else:
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("file_name") and row.get("text") is not None:
                found[str(base / row["file_name"])] = row["text"]
    return found


def unpack(data: bytes, archive: str, max_file_bytes: int, max_total_bytes: int) -> Unpacked:
    """The archive's files with their prompts, each read bounded; what cannot be taken is listed with why."""
    try:
        zipped = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInput(f"{archive}: not a zip archive") from None
    entries = [entry for entry in zipped.infolist() if not entry.is_dir()]
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(f"{archive}: {len(entries)} files, more than {MAX_ENTRIES}")
    result, total = Unpacked(), 0
    prompts: dict[str, str] = {}
    for entry in entries:
        if PurePosixPath(entry.filename).name in METADATA_NAMES and not _unsafe(entry.filename):
            with zipped.open(entry) as handle:
                prompts |= _prompts(entry.filename, handle.read(max_file_bytes).decode("utf-8", errors="replace"))
    for entry in entries:
        name = entry.filename
        if PurePosixPath(name).name in METADATA_NAMES and not _unsafe(name):
            continue
        if _unsafe(name):
            result.skipped.append((name, "its path leaves the archive's folder (an absolute path or '..')"))
            continue
        if entry.file_size > max_file_bytes:
            result.skipped.append((name, f"{entry.file_size:,} bytes, more than the limit of {max_file_bytes:,}"))
            continue
        try:
            with zipped.open(entry) as handle:
                body = handle.read(max_file_bytes + 1)  # the header's size may lie: read no more than allowed
        except (zipfile.BadZipFile, OSError, NotImplementedError) as error:
            result.skipped.append((name, f"cannot be read from the archive ({error})"))
            continue
        total += len(body)
        if total > max_total_bytes:
            result.skipped.append((name, f"the archive unpacks to more than {max_total_bytes:,} bytes"))
            break
        result.files.append((name, body, prompts.get(name)))
    return result
