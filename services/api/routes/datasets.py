"""`/datasets`: upload a logo dataset (several images with captions, or one zip/parquet), list and read them.

Uploads go through the same all-or-nothing importer as `logoforge datasets import`. Admin key only:
a dataset feeds training, and so every image the service draws later. The request body is capped by
`upload_max_bytes` (413); files are read from the spooled upload, bounded by the dataset limits.
"""

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status
from pydantic import BaseModel

from services.api.deps import AdminCaller, Context
from services.api.errors import field_of, refusals, unprocessable
from services.datasets.importer import DatasetCatalog, DatasetError, DatasetExistsError, DatasetImporter
from services.datasets.limits import DatasetLimits, DatasetTooLarge
from services.datasets.sources import DatasetLayoutError, read_source, read_uploaded, spool_upload

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


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetView,
    responses=refusals(conflict="A dataset of that name exists."),
)
async def upload_dataset(
    context: Context,
    caller: AdminCaller,
    name: Annotated[str, Form(description="Dataset name: a-z, 0-9, '.', '_', '-'.")],
    files: Annotated[
        list[UploadFile],
        File(
            min_length=1,
            description="Images with one caption each, an imagefolder (its images and metadata.jsonl), "
            "or one .zip/.parquet.",
        ),
    ],
    captions: Annotated[list[str] | None, Form(description="One per image, or one for all.")] = None,
) -> DatasetView:
    """Import the upload; corrupt or unsupported images are skipped and listed, the rest stored or nothing."""
    limits = context.settings.dataset_limits
    importer = DatasetImporter(context.store, context.db, limits)
    try:
        if len(files) == 1 and (files[0].filename or "").lower().endswith(ARCHIVE_SUFFIXES):
            report, layout = await _import_archive(importer, name, files[0], limits), _layout(files[0])
        else:
            # The uploads are spooled files already: the importer's thread reads each, bounded, in turn.
            uploaded = [(upload.filename or f"file-{n}", upload.file) for n, upload in enumerate(files)]
            entries = read_uploaded(uploaded, captions or [], limits)
            report, layout = await importer.import_entries(name, entries, "upload"), "upload"
    except DatasetExistsError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except DatasetTooLarge as error:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(error)) from error
    except (DatasetError, DatasetLayoutError) as error:
        raise unprocessable(*field_of(str(error))) from error
    skipped = [SkippedFile(file=s.source, reason=s.reason) for s in report.skipped]
    return DatasetView(name=name, count=report.count, layout=layout, skipped_count=len(skipped), skipped=skipped)


def _layout(upload: UploadFile) -> str:
    return "zip" if (upload.filename or "").lower().endswith(".zip") else "parquet"


async def _import_archive(importer: DatasetImporter, name: str, upload: UploadFile, limits: DatasetLimits) -> Any:
    """Readers need a file of their own: copy the archive in chunks to a temporary folder, import, delete it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(upload.filename or "upload.zip").name
        copied = await asyncio.to_thread(spool_upload, upload.file, path, limits.unpacked_bytes)
        if copied > limits.unpacked_bytes:
            raise DatasetTooLarge(f"files: {path.name} is over the {limits.unpacked_bytes}-byte limit")
        return await importer.import_entries(name, read_source(path, limits), _layout(upload))


@router.get("", response_model=list[DatasetView])
async def list_datasets(context: Context, caller: AdminCaller) -> list[DatasetView]:
    manifests = await DatasetCatalog(context.store, context.db).all()
    return [DatasetView(**_view(manifest)) for manifest in manifests]


@router.get("/{name}", response_model=DatasetView, responses=refusals(not_found="No dataset of that name."))
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
