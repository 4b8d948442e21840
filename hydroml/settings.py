"""Application settings, read from environment variables with embedded defaults.

Reflex reads its own `REFLEX_*` variables; HydroML reads `HYDROML_*` ones. Nothing here imports reflex so
services, migrations and scripts share one source of truth.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_url: str
    redis_url: str | None
    session_hours: int
    max_upload_mb: int
    login_max_failures: int
    login_window_minutes: int
    mlflow_tracking_uri: str
    demo_username: str
    demo_password: str
    studio_cache_mb: int
    training_slots: int
    # Database connectors: Fernet keys for stored credentials (comma-separated, the first encrypts; empty:
    # a key generated into `<data_dir>/fernet.key`), the folder SQLite connections may open, host lists.
    fernet_keys: str = field(repr=False)
    sqlite_dir: Path
    connector_allow: tuple[str, ...]
    connector_deny: tuple[str, ...]

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)


def normalize_db_url(url: str) -> str:
    """`postgresql://` means psycopg2 (our driver); SQLAlchemy 2.1 would otherwise pick psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def _list(name: str) -> tuple[str, ...]:
    """A comma-separated variable as its non-empty, stripped items."""
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def get_settings() -> Settings:
    """Read the environment now (not at import), so tests can change it."""
    data_dir = Path(os.environ.get("HYDROML_DATA_DIR") or PROJECT_ROOT / "data").resolve()
    db_url = normalize_db_url(os.environ.get("REFLEX_DB_URL") or f"sqlite:///{data_dir / 'hydroml.db'}")
    return Settings(
        data_dir=data_dir,
        db_url=db_url,
        redis_url=os.environ.get("REFLEX_REDIS_URL") or None,
        session_hours=_int("HYDROML_SESSION_HOURS", 24 * 14),
        max_upload_mb=_int("HYDROML_MAX_UPLOAD_MB", 2048),
        login_max_failures=_int("HYDROML_LOGIN_MAX_FAILURES", 5),
        login_window_minutes=_int("HYDROML_LOGIN_WINDOW_MINUTES", 15),
        mlflow_tracking_uri=os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{data_dir / 'mlflow.db'}",
        demo_username=os.environ.get("HYDROML_DEMO_USER") or "demo",
        demo_password=os.environ.get("HYDROML_DEMO_PASSWORD") or "",
        studio_cache_mb=_int("HYDROML_STUDIO_CACHE_MB", 2048),
        training_slots=max(1, _int("HYDROML_TRAINING_SLOTS", 1)),
        fernet_keys=os.environ.get("HYDROML_FERNET_KEY", "").strip(),
        sqlite_dir=Path(os.environ.get("HYDROML_SQLITE_DIR") or data_dir / "sqlite").resolve(),
        connector_allow=_list("HYDROML_CONNECTOR_ALLOW"),
        connector_deny=_list("HYDROML_CONNECTOR_DENY"),
    )


# Every environment variable the app reads; the docker-compose test checks each is wired for `web`.
APP_ENV_VARS = (
    "REFLEX_DB_URL",
    "REFLEX_REDIS_URL",
    "REFLEX_API_URL",
    "REFLEX_CORS_ALLOWED_ORIGINS",
    "HYDROML_DATA_DIR",
    "HYDROML_SESSION_HOURS",
    "HYDROML_MAX_UPLOAD_MB",
    "HYDROML_LOGIN_MAX_FAILURES",
    "HYDROML_LOGIN_WINDOW_MINUTES",
    "HYDROML_STUDIO_CACHE_MB",
    "HYDROML_TRAINING_SLOTS",
    "HYDROML_DEMO_USER",
    "HYDROML_DEMO_PASSWORD",
    "MLFLOW_TRACKING_URI",
    "HYDROML_FERNET_KEY",
    "HYDROML_SQLITE_DIR",
    "HYDROML_CONNECTOR_ALLOW",
    "HYDROML_CONNECTOR_DENY",
)
