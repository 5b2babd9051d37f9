"""The drive's training pages: datasets (made from a folder of uploads), training runs with their loss curve and
validation grids, and adapters to promote or roll back. The same rules as the API's admin endpoints apply: the
dataset importer's checks, the retrain trigger's run record, the adapter registry's compare-and-set."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from services.api.deps import Context
from services.datasets.importer import DatasetCatalog, DatasetError, DatasetImporter
from services.datasets.sources import RawItem, Skipped
from services.drive.items import DriveItems
from services.drive.views import Checked, SignedIn, render
from services.errors import BrokerUnavailable
from services.ops.adapters import promote_adapter, rollback_adapter
from services.ratings.trigger import NothingToTrain, RetrainTrigger, UnknownDatasets, claim_policy
from services.storage.adapters import AdapterError, AdapterRegistry
from services.storage.errors import InvalidObjectKey, ObjectNotFound
from services.storage.training_runs import TrainingRunStore

router = APIRouter(prefix="/drive", include_in_schema=False)

# S3 prefixes the training pages show (loss curves, validation grids, dataset images).
SHOWN_PREFIXES = ("training/", "datasets/")


@router.get("/datasets")
async def datasets_page(request: Request, context: Context, session: SignedIn) -> HTMLResponse:
    datasets = await DatasetCatalog(context.store, context.db).all()
    return render("datasets.html", request, datasets=datasets, crumbs=[{"name": "Datasets", "url": "/drive/datasets"}])


@router.post("/uploads/{folder_id}/dataset")
async def dataset_from_folder(
    request: Request,
    context: Context,
    session: Checked,
    folder_id: str,
    name: Annotated[str, Form(max_length=100)],
) -> HTMLResponse:
    """Import the folder's logos with their prompts as a training dataset; the report names every skipped file."""
    items = DriveItems(context.db)
    if await items.folder(folder_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no folder {folder_id}")
    files = await items.files_in(folder_id)
    entries: list[RawItem | Skipped] = []
    for file in files:
        if not file.get("prompt"):
            entries.append(Skipped(file["name"], "no prompt: a training image needs its caption"))
            continue
        try:
            stored = await context.store.get(file["key"])
        except ObjectNotFound:
            entries.append(Skipped(file["name"], "its bytes are missing from storage"))
            continue
        entries.append(RawItem(file["name"], stored.body, file["prompt"]))
    importer = DatasetImporter(context.store, context.db, context.settings.dataset_limits)
    try:
        report = await importer.import_entries(name.strip(), entries, "drive")
    except DatasetError as error:
        skipped = [entry for entry in entries if isinstance(entry, Skipped)]
        return render(
            "_dataset_report.html",
            request,
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            error=str(error),
            skipped=skipped,
            report=None,
        )
    return render("_dataset_report.html", request, report=report, skipped=report.skipped, error=None)


@router.get("/runs")
async def runs_page(request: Request, context: Context, session: SignedIn) -> HTMLResponse:
    runs = await context.db.training_runs.find({}).sort("created_at", -1).limit(100).to_list(100)
    datasets = await DatasetCatalog(context.store, context.db).all()
    return render(
        "runs.html", request, runs=runs, datasets=datasets, crumbs=[{"name": "Training runs", "url": "/drive/runs"}]
    )


@router.post("/runs")
async def start_run(request: Request, context: Context, session: Checked) -> dict[str, Any]:
    """A run now, on the unused well-rated images and the datasets ticked on the form."""
    form = await request.form()
    datasets = [str(value) for value in form.getlist("datasets")]
    settings = context.settings
    trigger = RetrainTrigger(
        TrainingRunStore(context.db), context.gateway.publish, claim_policy(settings), settings.retrain_publish_lease_s
    )
    try:
        run = await trigger.manual(datasets or None)
    except (NothingToTrain, UnknownDatasets) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    return {"run_id": run.run_id, "status": run.status}


@router.get("/runs/{run_id}")
async def run_page(request: Request, context: Context, session: SignedIn, run_id: str) -> HTMLResponse:
    run = await context.db.training_runs.find_one({"_id": run_id})
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no training run {run_id}")
    loss_curve = f"training/{run_id}/loss.png"
    has_curve = await context.store.exists(loss_curve)
    crumbs = [{"name": "Training runs", "url": "/drive/runs"}, {"name": run_id, "url": request.url.path}]
    return render("run.html", request, run=run, loss_curve=loss_curve if has_curve else None, crumbs=crumbs)


@router.get("/adapters")
async def adapters_page(request: Request, context: Context, session: SignedIn) -> HTMLResponse:
    registry = AdapterRegistry(context.db)
    in_service = await registry.in_service()
    adapters = await registry.all()
    return render(
        "adapters.html",
        request,
        adapters=adapters,
        in_service=in_service,
        crumbs=[{"name": "Adapters", "url": "/drive/adapters"}],
    )


@router.post("/adapters/promote")
async def promote(context: Context, session: Checked, version: Annotated[str, Form(max_length=64)]) -> dict[str, Any]:
    return await _change(context, lambda registry: promote_adapter(registry, context.gateway.publish, version))


@router.post("/adapters/rollback")
async def rollback(context: Context, session: Checked) -> dict[str, Any]:
    return await _change(context, lambda registry: rollback_adapter(registry, context.gateway.publish))


async def _change(context, change) -> dict[str, Any]:
    try:
        event = await change(AdapterRegistry(context.db))
    except AdapterError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    except BrokerUnavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "RabbitMQ did not take the announcement: press again to announce it"
        ) from None
    return {"in_service": event.version, "previous": event.previous_version}


@router.get("/object/{key:path}")
async def stored_object(context: Context, session: SignedIn, key: str) -> Response:
    """A training artefact or dataset image (loss curves, validation grids), for the signed-in operator."""
    if not key.startswith(SHOWN_PREFIXES) or ".." in key.split("/"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no object {key}")
    try:
        stored = await context.store.get(key)
    except (ObjectNotFound, InvalidObjectKey):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no object {key}") from None
    return Response(stored.body, media_type=stored.content_type, headers={"Cache-Control": "private, max-age=60"})
