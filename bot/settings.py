"""The bot's settings: read once from `LOGOFORGE_*` variables (the token also from `BOT_TOKEN`)."""

from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator

from services.settings import DEV_ADMIN_KEY, DEV_API_KEY, CommonSettings

DEV_WEBHOOK_SECRET = "logoforge-dev-webhook-secret"


class BotSettings(CommonSettings):
    """Where Telegram, the API and the broker are, who is an admin, and how hard a user may push."""

    bot_token: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("bot_token", "LOGOFORGE_BOT_TOKEN", "BOT_TOKEN"),
        description="The token from @BotFather.",
    )
    telegram_api_url: str | None = Field(
        default=None, description="A local Bot API server (or the tests' fake); Telegram's own when unset."
    )
    bot_mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = Field(default=None, description="Public HTTPS URL Telegram posts updates to.")
    webhook_secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8081, ge=0, le=65535)
    webhook_path: str = "/telegram/webhook"
    admin_ids: list[int] = Field(default_factory=list, description="Telegram user ids allowed /stats, /retrain.")
    api_url: str = Field(default="http://127.0.0.1:8000", description="The HTTP API, used as an internal service.")
    api_key: SecretStr = SecretStr(DEV_API_KEY)
    api_admin_key: SecretStr = SecretStr(DEV_ADMIN_KEY)
    api_timeout_s: float = Field(default=10.0, gt=0)
    rate_limit_jobs: int = Field(default=5, ge=1, description="Generations one user may start per window.")
    rate_limit_window_s: float = Field(default=60.0, gt=0)
    progress_edit_interval_s: float = Field(
        default=1.0, ge=0, description="At most one edit of a chat's progress message this often."
    )
    history_page_size: int = Field(default=5, ge=1, le=10)
    polling_timeout_s: int = Field(default=10, ge=1, le=50)
    shutdown_grace_s: float = Field(default=10.0, ge=0, description="How long a stopping bot lets updates finish.")

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> Self:
        if self.bot_mode == "webhook" and not self.webhook_url:
            raise ValueError("webhook_url must be set when bot_mode is webhook")
        if not self.webhook_path.startswith("/"):
            raise ValueError(f"webhook_path must start with '/', got {self.webhook_path!r}")
        return self

    def require_token(self) -> str:
        token = self.bot_token.get_secret_value()
        if not token:
            raise ValueError("bot_token must be set (LOGOFORGE_BOT_TOKEN or BOT_TOKEN)")
        return token

    def _secrets(self) -> list[tuple[str, str, str]]:
        return [
            *super()._secrets(),
            ("api_key", self.api_key.get_secret_value(), DEV_API_KEY),
            ("api_admin_key", self.api_admin_key.get_secret_value(), DEV_ADMIN_KEY),
            # The secret only guards the webhook; a polling bot has nothing to guard.
            *(
                [("webhook_secret", self.webhook_secret.get_secret_value(), DEV_WEBHOOK_SECRET)]
                if self.bot_mode == "webhook"
                else []
            ),
        ]
