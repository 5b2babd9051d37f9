"""What `logoforge datasets ...` does, apart from argument parsing: connect the stores and import."""

from pathlib import Path

from services.datasets.importer import DatasetCatalog, DatasetError, DatasetImporter, ImportReport
from services.datasets.sources import read_source
from services.settings import CommonSettings
from services.storage import mongo
from services.storage.s3 import ObjectStore


def layout_of(path: Path) -> str:
    if path.suffix == ".zip":
        return "zip"
    if path.suffix == ".parquet" or (path.is_dir() and not any(path.rglob("metadata.jsonl"))):
        return "parquet"
    return "imagefolder"


async def import_from_path(settings: CommonSettings, path: Path, name: str) -> ImportReport:
    """Import the dataset at `path` (parquet file or folder, imagefolder, or zip) as `name`."""
    entries = read_source(path, settings.dataset_limits)
    client = mongo.connect(settings)
    try:
        store = ObjectStore.from_settings(settings)
        await store.ensure_bucket()
        importer = DatasetImporter(store, client[settings.mongo_db], settings.dataset_limits)
        return await importer.import_entries(name, entries, layout_of(path))
    finally:
        await client.close()


async def manifests(settings: CommonSettings, name: str | None = None) -> list[dict]:
    """Every imported dataset's manifest (without its skip list), or the one called `name` (with it)."""
    client = mongo.connect(settings)
    try:
        catalog = DatasetCatalog(ObjectStore.from_settings(settings), client[settings.mongo_db])
        if name is None:
            return await catalog.all()
        manifest = await catalog.get(name)
        if manifest is None:
            raise DatasetError(f"name: no dataset called {name!r}")
        return [manifest]
    finally:
        await client.close()
