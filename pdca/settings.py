"""The one place that reads configuration: `PDCA_` environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pdca import resources

DEFAULT_SECRET = "change-me"
HTMX_VERSION = "2.0.11"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


class SettingsError(ValueError):
    """Configuration that must not run; the message says how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PDCA_", extra="ignore")

    # Where the default SQLite file lives: ./data under the directory pdca is started
    # from, never beside the code (which may be a read-only site-packages).
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "data")
    database_url: str = ""
    secret_key: str = DEFAULT_SECRET
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    # Processes `pdca serve` starts (uvicorn workers); more than one wants PostgreSQL.
    workers: int = Field(default=1, ge=1)
    # A directory of more workflow definitions, loaded beside the built-in ones (the
    # package's own); a name defined twice stops start-up with both files named.
    workflows_dir: Path | None = None
    templates_dir: Path = Field(default_factory=resources.templates_dir)
    # htmx, pinned: the version and its Subresource Integrity hash travel together
    # (recompute with `openssl dgst -sha384 -binary dist/htmx.min.js | base64`).
    htmx_version: str = HTMX_VERSION
    htmx_sri: str = HTMX_SRI
    # Where browsers fetch it; tests and air-gapped sites point this at the vendored
    # copy of the same file under /static (the SRI hash still applies).
    htmx_url: str = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
    # Seconds between automatic refreshes of a board (meeting-room screens).
    board_refresh_seconds: int = 60
    # Cards a board cell shows before "n more" (loaded on demand); counts are always whole.
    board_cell_cards: int = Field(default=50, ge=1, le=500)
    # A card that stays this many days in one column turns amber, then red.
    card_age_amber_days: int = 5
    card_age_red_days: int = 10
    # Minutes between scheduled KPI checks (missing data) inside `pdca serve`; 0 turns them off.
    monitor_every_minutes: int = 15
    # Seconds between runs of the notification jobs (inbox from the trail, reminders,
    # escalation, digests, mail and webhook delivery) inside `pdca serve`; 0 turns them off
    # (then run `pdca jobs run` from cron).
    jobs_every_seconds: int = Field(default=60, ge=0)
    # Mail. No host: nothing is mailed, notifications stay in the inbox.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "pdca@localhost"
    # The address people open pdca at, for the links in mails (e.g. https://pdca.example.org).
    public_url: str = ""
    # Send cookies only over HTTPS, and HSTS. Unset: on unless PDCA_DEBUG=1, so a
    # production server never sends its session cookie in clear by omission.
    secure_cookies: bool | None = None
    # The largest evidence file accepted (bytes); a larger upload is refused with 413.
    evidence_max_bytes: int = 10 * 1024 * 1024
    # The largest request body (bytes) anywhere else: 413 before it is read.
    max_body_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # Seconds a SQLite writer waits for a lock before the request fails with 503.
    sqlite_busy_timeout: float = 5.0
    # Database connections per process. Requests that touch the database run in a
    # thread pool of the same size, so a thread never waits for a connection that
    # another thread holds; more requests queue for a thread, not for the pool.
    db_pool_size: int = Field(default=20, ge=1, le=500)
    # Seconds a request may wait for a connection (only other users of the pool, such
    # as the scheduler, can make it wait) before it is answered 503 with Retry-After.
    db_pool_timeout: float = Field(default=10.0, gt=0)
    # Requests in progress per process beyond which new ones get 503 with Retry-After
    # at once instead of queueing without bound.
    max_requests_in_flight: int = Field(default=256, ge=1)

    # The font PDF minutes embed (a .ttf, .otf or .ttc with Chinese characters; `path#N`
    # picks a collection's N-th font). Unset: the usual system places (fonts-noto-cjk…).
    pdf_font: str | None = None

    @model_validator(mode="after")
    def _default_database(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'pdca.sqlite3'}"
        if self.secure_cookies is None:
            self.secure_cookies = not self.debug
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

    def workflow_dirs(self) -> list[Path]:
        """Where workflows are loaded from: the built-in ones, then PDCA_WORKFLOWS_DIR."""
        builtin = resources.workflows_dir()
        if self.workflows_dir is None or self.workflows_dir.resolve() == builtin.resolve():
            return [builtin]
        return [builtin, self.workflows_dir]

    @property
    def site_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def get_settings() -> Settings:
    """Build settings from the environment now (not at import time)."""
    return Settings()
