"""The HTTP API's settings."""

from pydantic import Field, SecretStr

from services.ratings.settings import RetrainSettings
from services.settings import DEV_ADMIN_KEY, DEV_API_KEY, DEV_URL_SIGNING_KEY


class ApiSettings(RetrainSettings):
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(default=None, description="Base URL clients see; the request's when unset.")
    generate_timeout_s: float = Field(default=300.0, gt=0)
    api_keys: list[SecretStr] = [SecretStr(DEV_API_KEY)]
    admin_keys: list[SecretStr] = [SecretStr(DEV_ADMIN_KEY)]
    url_signing_key: SecretStr = SecretStr(DEV_URL_SIGNING_KEY)
    image_url_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    request_max_bytes: int = Field(default=1024**2, gt=0, description="Body of any request but an upload.")
    upload_max_bytes: int = Field(default=1024**3, gt=0, description="Body of a dataset upload (POST /datasets).")

    def _secrets(self) -> list[tuple[str, str, str]]:
        return [
            *super()._secrets(),
            *(("api_keys", key.get_secret_value(), DEV_API_KEY) for key in self.api_keys),
            *(("admin_keys", key.get_secret_value(), DEV_ADMIN_KEY) for key in self.admin_keys),
            ("url_signing_key", self.url_signing_key.get_secret_value(), DEV_URL_SIGNING_KEY),
        ]
