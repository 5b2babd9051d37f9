"""Settings every process shares; each process's own class lives with it and extends `CommonSettings`."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.datasets.limits import DatasetLimits

if TYPE_CHECKING:
    from services.messaging import Backoff

DEV_S3_SECRET = "logoforge-dev-secret"
DEV_API_KEY = "logoforge-dev-api-key"
DEV_ADMIN_KEY = "logoforge-dev-admin-key"
DEV_URL_SIGNING_KEY = "logoforge-dev-url-signing-key"


def _rabbit_nodes(url: str) -> str:
    from services.cluster import node_urls

    node_urls(url)  # ValueError for a list it cannot read
    return url


class CommonSettings(BaseSettings):
    """Where the broker and the stores are: every process needs these."""

    model_config = SettingsConfigDict(env_prefix="LOGOFORGE_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    # One node, or every node of a cluster: amqp://user:password@rabbit-1:5672,rabbit-2:5672,rabbit-3:5672/
    rabbit_url: Annotated[str, AfterValidator(_rabbit_nodes)] = "amqp://guest:guest@127.0.0.1:5672/"
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_db: str = "logoforge"
    s3_endpoint: str | None = "http://127.0.0.1:8333"
    s3_region: str = "us-east-1"
    s3_bucket: str = "logoforge"
    s3_access_key: str = "logoforge"
    s3_secret_key: SecretStr = SecretStr(DEV_S3_SECRET)
    data_dir: Path = Path(".logoforge")
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(lambda value: str(value).upper())
    ] = "INFO"
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve Prometheus metrics on this port (0: any free one); off if unset.",
    )
    metrics_host: str = "0.0.0.0"
    retry_backoff_s: float = Field(default=0.5, gt=0, description="First back-off before a retryable failure.")
    retry_backoff_max_s: float = Field(default=30.0, gt=0)
    dataset_max_image_bytes: int = Field(default=DatasetLimits.image_bytes, gt=0, description="One image file.")
    dataset_max_image_pixels: int = Field(default=DatasetLimits.image_pixels, gt=0, description="Width × height.")
    dataset_max_unpacked_bytes: int = Field(
        default=DatasetLimits.unpacked_bytes, gt=0, description="What one archive may unpack to."
    )

    @property
    def dataset_limits(self) -> DatasetLimits:
        return DatasetLimits(
            self.dataset_max_image_bytes, self.dataset_max_image_pixels, self.dataset_max_unpacked_bytes
        )

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


class LinkSettings(CommonSettings):
    """Signed `/static` links: the API hands them out, and a generator with `public_url` set puts them in
    LogoGenerated, so that a service listening on the broker fetches its images over HTTP, without S3 keys."""

    public_url: str | None = Field(default=None, description="The API's base URL as clients see it.")
    url_signing_key: SecretStr = SecretStr(DEV_URL_SIGNING_KEY)
    image_url_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)

    def _secrets(self) -> list[tuple[str, str, str]]:
        return [
            *super()._secrets(),
            ("url_signing_key", self.url_signing_key.get_secret_value(), DEV_URL_SIGNING_KEY),
        ]
