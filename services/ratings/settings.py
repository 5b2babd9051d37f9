"""The ratings service's settings, and the retraining settings it shares with the API and ops."""

from pydantic import Field

from schemas.training import TrainingConfig
from services.settings import CommonSettings


class RetrainSettings(CommonSettings):
    """When enough well-rated images no run has used exist, train on them (ratings service, API, ops)."""

    retrain_quality_bar: float = Field(
        default=3.5, ge=1, le=5, description="An image qualifies when its confidence-aware score reaches this."
    )
    retrain_min_images: int = Field(default=50, ge=1, description="Qualifying unused images that start a run.")
    retrain_max_images: int = Field(default=1000, ge=1, description="At most this many images in one run.")
    retrain_datasets: list[str] = Field(default_factory=list, description="Uploaded datasets every run adds.")
    retrain_config: TrainingConfig = Field(default_factory=TrainingConfig)
    retrain_publish_lease_s: float = Field(
        default=30.0, gt=0, description="A recorded run still unpublished after this long is published again."
    )


class RatingsSettings(RetrainSettings):
    # Prefixed: compose gives every process the same environment, and the generator has its own `prefetch`.
    ratings_prefetch: int = Field(default=1000, ge=1, le=5000, description="Unacknowledged ratings in flight.")
    ratings_batch_size: int = Field(default=500, ge=1, le=5000, description="Most ratings written in one transaction.")
