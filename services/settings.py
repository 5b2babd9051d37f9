"""Settings: one pydantic-settings class per process, read once from `LOGOFORGE_*` variables and `.env`."""

from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.training import TrainingConfig

if TYPE_CHECKING:
    from services.messaging import Backoff

DEV_S3_SECRET = "logoforge-dev-secret"
DEV_API_KEY = "logoforge-dev-api-key"
DEV_ADMIN_KEY = "logoforge-dev-admin-key"
DEV_URL_SIGNING_KEY = "logoforge-dev-url-signing-key"


class CommonSettings(BaseSettings):
    """Where the broker and the stores are: every process needs these."""

    model_config = SettingsConfigDict(env_prefix="LOGOFORGE_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    rabbit_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_db: str = "logoforge"
    s3_endpoint: str | None = "http://127.0.0.1:8333"
    s3_region: str = "us-east-1"
    s3_bucket: str = "logoforge"
    s3_access_key: str = "logoforge"
    s3_secret_key: SecretStr = SecretStr(DEV_S3_SECRET)
    data_dir: Path = Path(".logoforge")
    log_level: str = "INFO"
    retry_backoff_s: float = Field(default=0.5, gt=0, description="First back-off before a retryable failure.")
    retry_backoff_max_s: float = Field(default=30.0, gt=0)

    @property
    def backoff(self) -> "Backoff":
        from services.messaging import Backoff

        return Backoff(self.retry_backoff_s, self.retry_backoff_max_s)

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Self:
        if self.environment == "production":
            for name, value, dev_value in self._secrets():
                if value == dev_value:
                    raise ValueError(f"{name} must be set to a real secret when environment is production")
        return self

    def _secrets(self) -> list[tuple[str, str, str]]:
        return [("s3_secret_key", self.s3_secret_key.get_secret_value(), DEV_S3_SECRET)]


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
    ratings_batch_size: int = Field(
        default=500, ge=1, le=5000, description="Most ratings written in one transaction."
    )


class ApiSettings(RetrainSettings):
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(default=None, description="Base URL clients see; the request's when unset.")
    generate_timeout_s: float = Field(default=300.0, gt=0)
    api_keys: list[SecretStr] = [SecretStr(DEV_API_KEY)]
    admin_keys: list[SecretStr] = [SecretStr(DEV_ADMIN_KEY)]
    url_signing_key: SecretStr = SecretStr(DEV_URL_SIGNING_KEY)
    image_url_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)

    def _secrets(self) -> list[tuple[str, str, str]]:
        return [
            *super()._secrets(),
            *(("api_keys", key.get_secret_value(), DEV_API_KEY) for key in self.api_keys),
            *(("admin_keys", key.get_secret_value(), DEV_ADMIN_KEY) for key in self.admin_keys),
            ("url_signing_key", self.url_signing_key.get_secret_value(), DEV_URL_SIGNING_KEY),
        ]


class GeneratorSettings(CommonSettings):
    model: str = Field(
        default="",
        description="A local diffusers folder or a hub id; empty for the tiny random-weight pipeline (noise).",
    )
    device: str = "cpu"
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    progress_interval_s: float = Field(default=0.5, ge=0, description="At most one progress event this often.")
    prefetch: int = Field(default=1, ge=1, le=16)
    torch_threads: int | None = Field(default=None, ge=1)


class TrainerSettings(CommonSettings):
    model: str = Field(
        default="",
        description="A local diffusers folder or a hub id; empty for the tiny random-weight pipeline (noise).",
    )
    device: str = "cpu"
    torch_threads: int | None = Field(default=None, ge=1)
    progress_interval_s: float = Field(default=2.0, ge=0, description="At most one progress event this often.")
    auto_promote: bool = Field(default=True, description="Promote a new adapter when its held-out loss wins.")
    min_improvement: float = Field(
        default=0.0, ge=0, lt=1, description="Relative held-out loss gain needed for automatic promotion."
    )
