"""The HTTP API's settings."""

from pydantic import Field, SecretStr, field_validator

from services.api.security import ServiceKey
from services.ratings.settings import RetrainSettings
from services.settings import DEV_ADMIN_KEY, DEV_API_KEY, LinkSettings


class ApiSettings(RetrainSettings, LinkSettings):
    """`public_url` unset: links are built from each request's own base URL."""

    host: str = "127.0.0.1"
    port: int = 8000
    generate_timeout_s: float = Field(default=300.0, gt=0)
    api_keys: list[ServiceKey] = Field(
        default=[ServiceKey(owner="dev", key=SecretStr(DEV_API_KEY), users="")],
        description='Service keys, e.g. [{"owner": "bot", "key": "…", "users": "tg:"}].',
    )
    admin_keys: list[SecretStr] = [SecretStr(DEV_ADMIN_KEY)]
    request_max_bytes: int = Field(default=1024**2, gt=0, description="Body of any request but an upload.")
    upload_max_bytes: int = Field(default=1024**3, gt=0, description="Body of a dataset upload (POST /datasets).")
    accel_redirect_prefix: str | None = Field(
        default=None,
        pattern=r"^/[A-Za-z0-9_-]+$",
        description="Behind nginx: answer image reads with X-Accel-Redirect to this internal location, which "
        "proxies a presigned S3 URL, so no image byte streams through Python (compose: /_s3).",
    )
    drive_session_ttl_s: int = Field(default=8 * 3600, ge=60, description="How long a drive sign-in lasts.")
    drive_upload_max_bytes: int = Field(default=20 * 1024**2, gt=0, description="Largest file the drive accepts.")

    def _secrets(self) -> list[tuple[str, str, str]]:
        return [
            *super()._secrets(),
            *(("api_keys", service.key.get_secret_value(), DEV_API_KEY) for service in self.api_keys),
            *(("admin_keys", key.get_secret_value(), DEV_ADMIN_KEY) for key in self.admin_keys),
        ]

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys_have_owners(cls, value: object) -> object:
        if isinstance(value, list) and any(isinstance(entry, str) for entry in value):
            raise ValueError('each API key names its owner: {"owner": "bot", "key": "…", "users": "tg:"}')
        return value
