"""Dependency checks for /api/health: database, Redis (when configured) and free disk in the data dir."""

from __future__ import annotations

import shutil
import time
from typing import Any

import sqlalchemy

from hydroml.db import engine_for
from hydroml.settings import Settings, get_settings

MIN_FREE_DISK_BYTES = 512 * 1024 * 1024


def _timed(check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check() or {}
        result = {"ok": True, **detail}
    except Exception as exc:  # a health probe reports every failure instead of raising
        first_line = (str(exc).splitlines() or [""])[0][:200]
        result = {"ok": False, "error": f"{type(exc).__name__}: {first_line}"}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _check_database(settings: Settings) -> dict[str, Any]:
    with engine_for(settings.db_url).connect() as conn:
        conn.execute(sqlalchemy.text("SELECT 1"))
    return {"backend": settings.db_url.split(":", 1)[0].split("+", 1)[0]}


def _check_redis(settings: Settings) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _check_disk(settings: Settings) -> dict[str, Any]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(settings.data_dir).free
    if free < MIN_FREE_DISK_BYTES:
        raise OSError(f"only {free // (1024 * 1024)} MB free in the data folder")
    return {"free_bytes": free, "free_gb": round(free / 1024**3, 1)}


def health_report(settings: Settings | None = None) -> dict[str, Any]:
    """{"status": "ok" | "degraded", "checks": {...}}; degraded when any dependency is down."""
    settings = settings or get_settings()
    checks = {
        "database": _timed(lambda: _check_database(settings)),
        "disk": _timed(lambda: _check_disk(settings)),
    }
    if settings.uses_redis:
        checks["redis"] = _timed(lambda: _check_redis(settings))
    status = "ok" if all(check["ok"] for check in checks.values()) else "degraded"
    return {"status": status, "checks": checks}
