"""Dataset import against real SeaweedFS and SecantusDB: layouts, per-file skips, all-or-nothing."""

import io
import json
import zipfile

import pytest
from PIL import Image

from logoforge.cli import main
from services.datasets.importer import (
    DatasetCatalog,
    DatasetError,
    DatasetExistsError,
    DatasetImporter,
    EmptyDatasetError,
)
from services.datasets.sources import DatasetLayoutError, read_source
from tests.integration.training.builders import (
    CORRUPT_PNG,
    NOT_AN_IMAGE,
    logo_rows,
    png_bytes,
    write_imagefolder,
    write_parquet,
    zip_folder,
)


@pytest.fixture
def importer(store, db) -> DatasetImporter:
    return DatasetImporter(store, db)


async def test_parquet_with_hf_image_struct_is_imported_and_bad_rows_are_reported(importer, store, db, tmp_path):
    rows = logo_rows(3)
    rows.insert(1, (CORRUPT_PNG, "a broken logo"))
    rows.append((png_bytes(Image.new("RGB", (40, 30), "red")), "   "))
    path = write_parquet(tmp_path / "train-00000-of-00001.parquet", rows)

    report = await importer.import_entries("logos-v1", read_source(path), "parquet")

    assert report.count == 3
    assert [(s.source, s.reason.split(" (")[0]) for s in report.skipped] == [
        ("train-00000-of-00001.parquet#1", "corrupt image"),
        ("train-00000-of-00001.parquet#4", "missing 'text' caption"),
    ]
    manifest = await db.datasets.find_one({"_id": "logos-v1"})
    assert manifest["count"] == 3 and manifest["skipped_count"] == 2
    items = await DatasetCatalog(store, db).items(manifest)
    assert [item["text"] for item in items] == [text for _, text in rows if text.strip() and _ != CORRUPT_PNG]
    stored = await store.get(items[2]["key"])
    assert items[2]["key"].startswith(f"datasets/logos-v1/{report.import_id}/")
    assert Image.open(io.BytesIO(stored.body)).size == (64, 64)


async def test_parquet_with_plain_binary_images(importer, tmp_path):
    path = write_parquet(tmp_path / "plain.parquet", logo_rows(2), struct=False)
    report = await importer.import_entries("plain", read_source(path), "parquet")
    assert report.count == 2 and report.skipped == []


async def test_imagefolder_skips_missing_unsupported_and_flattens_transparency(importer, store, db, tmp_path):
    transparent = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    files = {
        "a.png": logo_rows(1)[0][0],
        "b.png": png_bytes(transparent),
        "c.png": NOT_AN_IMAGE,
        "d.jpg": png_bytes(Image.new("RGB", (16, 16), "blue"), "JPEG"),
    }
    captions = {
        "a.png": "a logo of a red circle",
        "b.png": "an empty logo",
        "c.png": "text",
        "d.jpg": "a blue square",
        "gone.png": "missing",
    }
    folder = write_imagefolder(tmp_path / "folder", files, captions)

    report = await importer.import_entries("folder-set", read_source(folder), "imagefolder")

    assert report.count == 3
    assert {s.source: s.reason for s in report.skipped} == {
        "c.png": "not an image in a supported format",
        "gone.png": "file listed in metadata is missing",
    }
    items = await DatasetCatalog(store, db).items(await db.datasets.find_one({"_id": "folder-set"}))
    flattened = Image.open(io.BytesIO((await store.get(items[1]["key"])).body))
    assert flattened.mode == "RGB" and flattened.getpixel((5, 5)) == (255, 255, 255)


async def test_zip_of_imagefolder_in_a_subfolder(importer, tmp_path):
    rows = logo_rows(2)
    files = {f"{n}.png": data for n, (data, _) in enumerate(rows)}
    captions = {f"{n}.png": text for n, (_, text) in enumerate(rows)}
    write_imagefolder(tmp_path / "z" / "train", files, captions)
    archive = zip_folder(tmp_path / "z", tmp_path / "set.zip")
    report = await importer.import_entries("zipped", read_source(archive), "zip")
    assert report.count == 2 and report.skipped == []


async def test_failure_half_way_leaves_nothing_behind(importer, store, db, tmp_path):
    """The second parquet file lacks `text`: the first file's images were stored and must be removed."""
    folder = tmp_path / "two"
    folder.mkdir()
    write_parquet(folder / "a.parquet", logo_rows(3))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"image": [b"x"], "caption": ["no text column"]}), folder / "b.parquet")

    with pytest.raises(DatasetLayoutError, match=r"b.parquet: missing column\(s\) \['text'\]"):
        await importer.import_entries("half", read_source(folder), "parquet")

    assert await db.datasets.find_one({"_id": "half"}) is None
    assert await store.list_keys("datasets/half/") == []


async def test_empty_dataset_is_refused_by_field(importer, store, db, tmp_path):
    path = write_parquet(tmp_path / "bad.parquet", [(CORRUPT_PNG, "x"), (NOT_AN_IMAGE, "y")])
    with pytest.raises(EmptyDatasetError, match=r"^images: dataset 'empty' has no usable image \(2 file"):
        await importer.import_entries("empty", read_source(path), "parquet")
    assert await db.datasets.count_documents({}) == 0
    assert await store.list_keys("datasets/") == []


async def test_names_are_validated_and_unique(importer, tmp_path):
    path = write_parquet(tmp_path / "ok.parquet", logo_rows(1))
    with pytest.raises(DatasetError, match=r"^name: must be"):
        await importer.import_entries("Bad Name!", read_source(path), "parquet")
    await importer.import_entries("once", read_source(path), "parquet")
    with pytest.raises(DatasetExistsError, match="name: a dataset called 'once' exists already"):
        await importer.import_entries("once", read_source(path), "parquet")


def test_cli_imports_and_reports(store_env, tmp_path, monkeypatch, capsys):
    for key, value in store_env.items():
        monkeypatch.setenv(f"LOGOFORGE_{key.upper()}", str(value))
    rows = logo_rows(2) + [(CORRUPT_PNG, "broken")]
    path = write_parquet(tmp_path / "cli.parquet", rows)

    main(["datasets", "import", str(path), "--name", "from-cli"])
    out, err = capsys.readouterr()
    assert json.loads(out) == {"name": "from-cli", "count": 2, "skipped": 1}
    assert "skipped cli.parquet#2: corrupt image" in err

    with pytest.raises(SystemExit) as exit_info:
        main(["datasets", "import", str(tmp_path / "nope.parquet"), "--name", "x"])
    assert exit_info.value.code == 2
    assert "error: path:" in capsys.readouterr().err

    main(["datasets", "list"])
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["name", "images", "skipped", "layout"]
    assert row.split() == ["from-cli", "2", "1", "parquet"]
    main(["datasets", "show", "from-cli"])
    shown = json.loads(capsys.readouterr().out)
    assert shown["count"] == 2 and shown["skipped"][0]["file"] == "cli.parquet#2"
    with pytest.raises(SystemExit) as exit_info:
        main(["datasets", "show", "nothing-here"])
    assert exit_info.value.code == 2 and "no dataset called 'nothing-here'" in capsys.readouterr().err


def test_zip_reader_rejects_non_zip(tmp_path):
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(DatasetLayoutError, match="path: bogus.zip is not a valid zip file"):
        read_source(bogus)
    assert zipfile.is_zipfile(bogus) is False
