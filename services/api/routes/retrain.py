"""`POST /admin/retrain`: start a training run now on the unused well-rated images (admin key only)."""

from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import AdminCaller, Context
from services.api.errors import Refusal, field_of, refusals, unprocessable
from services.datasets.importer import NAME_PATTERN
from services.ratings.trigger import NothingToTrain, RetrainTrigger, UnknownDatasets, claim_policy
from services.storage.training_runs import TrainingRunStore

router = APIRouter(tags=["admin"])


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[Annotated[str, Field(pattern=NAME_PATTERN.pattern)]] | None = Field(
        default=None, description="Datasets to add; the configured ones if absent."
    )


class RetrainStarted(BaseModel):
    run_id: str
    image_ids: list[str]
    datasets: list[str]
    reason: str
    status: str


@router.post(
    "/admin/retrain",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RetrainStarted,
    responses=refusals(conflict="Nothing to train on: no unused well-rated image and no dataset named."),
)
async def retrain(context: Context, admin: AdminCaller, body: RetrainRequest | None = None) -> RetrainStarted:
    """Record a run and publish TrainAdapter; 409 when there is nothing to train on, 422 for unknown datasets."""
    settings = context.settings
    trigger = RetrainTrigger(
        TrainingRunStore(context.db), context.gateway.publish, claim_policy(settings), settings.retrain_publish_lease_s
    )
    try:
        run = await trigger.manual(body.datasets if body else None)
    except NothingToTrain as error:
        raise Refusal(status.HTTP_409_CONFLICT, "nothing-to-train", str(error)) from None
    except UnknownDatasets as error:
        raise unprocessable(*field_of(str(error))) from None
    return RetrainStarted(
        run_id=run.run_id,
        image_ids=run.image_ids,
        datasets=run.datasets,
        reason=run.reason,
        status=run.status,
    )
