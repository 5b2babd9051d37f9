"""`/datasets`: upload a logo dataset (several images with captions, or one zip/parquet), list and read them.

Uploads go through the same all-or-nothing importer as `logoforge datasets import`. Admin key only:
a dataset feeds training, and so every image the service draws later.
"""

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status
from pydantic import BaseModel

from services.api.deps import AdminCaller, Context
from services.datasets.importer import DatasetCatalog, DatasetError, DatasetExistsError, DatasetImporter
from services.datasets.sources import DatasetLayoutError, read_source, read_uploaded

router = APIRouter(prefix="/datasets", tags=["datasets"])

ARCHIVE_SUFFIXES = (".zip", ".parquet")


class SkippedFile(BaseModel):
    file: str
    reason: str


class DatasetView(BaseModel):
    name: str
    count: int
    layout: str | None = None
    skipped_count: int = 0
    skipped: list[SkippedFile] = []


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DatasetView)
async def upload_dataset(
    context: Context,
    caller: AdminCaller,
    name: Annotated[str, Form(description="Dataset name: a-z, 0-9, '.', '_', '-'.")],
    files: Annotated[list[UploadFile], File(description="Images with one caption each, or one .zip/.parquet.")],
    captions: Annotated[list[str] | None, Form(description="One per image, or one for all.")] = None,
) -> DatasetView:
    """Import the upload; corrupt or unsupported images are skipped and listed, the rest stored or nothing."""
    importer = DatasetImporter(context.store, context.db)
    try:
        if len(files) == 1 and (files[0].filename or "").lower().endswith(ARCHIVE_SUFFIXES):
            report, layout = await _import_archive(importer, name, files[0]), _layout(files[0])
        else:
            uploaded = [(upload.filename or f"file-{n}", await upload.read()) for n, upload in enumerate(files)]
            entries = read_uploaded(uploaded, captions or [])
            report, layout = await importer.import_entries(name, entries, "upload"), "upload"
    except DatasetExistsError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except (DatasetError, DatasetLayoutError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    skipped = [SkippedFile(file=s.source, reason=s.reason) for s in report.skipped]
    return DatasetView(name=name, count=report.count, layout=layout, skipped_count=len(skipped), skipped=skipped)


def _layout(upload: UploadFile) -> str:
    return "zip" if (upload.filename or "").lower().endswith(".zip") else "parquet"


async def _import_archive(importer: DatasetImporter, name: str, upload: UploadFile) -> Any:
    """Readers need a seekable file: spool the archive to a temporary file, import, delete it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(upload.filename or "upload.zip").name
        await asyncio.to_thread(path.write_bytes, await upload.read())
        return await importer.import_entries(name, read_source(path), _layout(upload))


@router.get("", response_model=list[DatasetView])
async def list_datasets(context: Context, caller: AdminCaller) -> list[DatasetView]:
    manifests = await DatasetCatalog(context.store, context.db).all()
    return [DatasetView(**_view(manifest)) for manifest in manifests]


@router.get("/{name}", response_model=DatasetView)
async def read_dataset(name: str, context: Context, caller: AdminCaller) -> DatasetView:
    manifest = await DatasetCatalog(context.store, context.db).get(name)
    if manifest is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dataset {name}")
    return DatasetView(**_view(manifest))


def _view(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": manifest["name"],
        "count": manifest["count"],
        "layout": manifest.get("layout"),
        "skipped_count": manifest.get("skipped_count", 0),
        "skipped": manifest.get("skipped", []),
    }
