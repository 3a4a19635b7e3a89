"""The one place that reads configuration: `PDCA_` environment variables."""

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "change-me"
HTMX_VERSION = "2.0.11"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


class SettingsError(ValueError):
    """Configuration that must not run; the message says how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PDCA_", extra="ignore")

    data_dir: Path = Field(default=REPO_ROOT / "data")
    database_url: str = ""
    secret_key: str = DEFAULT_SECRET
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    workflows_dir: Path = Field(default=REPO_ROOT / "workflows")
    templates_dir: Path = Field(default=REPO_ROOT / "templates")
    # htmx, pinned: the version and its Subresource Integrity hash travel together
    # (recompute with `openssl dgst -sha384 -binary dist/htmx.min.js | base64`).
    htmx_version: str = HTMX_VERSION
    htmx_sri: str = HTMX_SRI
    # Where browsers fetch it; tests and air-gapped sites point this at the vendored
    # copy of the same file under /static (the SRI hash still applies).
    htmx_url: str = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
    # Seconds between automatic refreshes of a board (meeting-room screens).
    board_refresh_seconds: int = 60
    # A card that stays this many days in one column turns amber, then red.
    card_age_amber_days: int = 5
    card_age_red_days: int = 10
    # Minutes between scheduled KPI checks (missing data) inside `pdca serve`; 0 turns them off.
    monitor_every_minutes: int = 15
    # Send cookies only over HTTPS (set in production behind TLS).
    secure_cookies: bool = False
    # The largest evidence file accepted (bytes); a larger upload is refused with 413.
    evidence_max_bytes: int = 10 * 1024 * 1024
    # Seconds a SQLite writer waits for a lock before the request fails with 503.
    sqlite_busy_timeout: float = 5.0

    @model_validator(mode="after")
    def _default_database(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'pdca.sqlite3'}"
        return self

    def check_secret(self) -> None:
        """Refuse a missing or default secret outside debug mode."""
        if self.debug:
            return
        if not self.secret_key or self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 16:
            raise SettingsError(
                "PDCA_SECRET_KEY is not set (or is the default or shorter than 16 characters). "
                "Set one, e.g. export PDCA_SECRET_KEY=$(python -c "
                "'import secrets; print(secrets.token_urlsafe(32))'), or run with PDCA_DEBUG=1 "
                "for local development."
            )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def get_settings() -> Settings:
    """Build settings from the environment now (not at import time)."""
    return Settings()
