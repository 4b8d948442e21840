"""Health report: database, disk and (when configured) Redis, against real services."""

from __future__ import annotations

import pytest

from hydroml.services.health import health_report
from hydroml.settings import get_settings

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:1/x?connect_timeout=2"


def test_health_is_ok_with_database_and_disk_checks_and_no_redis(app_db):
    report = health_report()

    assert report["status"] == "ok"
    assert set(report["checks"]) == {"database", "disk"}
    assert report["checks"]["database"]["ok"] is True
    assert report["checks"]["disk"]["ok"] is True


def test_health_uses_the_settings_it_is_given(app_db, monkeypatch):
    settings = get_settings()
    monkeypatch.setenv("REFLEX_REDIS_URL", UNREACHABLE_REDIS)

    assert health_report(settings)["status"] == "ok"


def test_configured_redis_is_checked(app_db, redis_url, monkeypatch):
    monkeypatch.setenv("REFLEX_REDIS_URL", redis_url)

    report = health_report()

    assert report["status"] == "ok"
    assert report["checks"]["redis"]["ok"] is True


@pytest.mark.timeout(20)
def test_unreachable_redis_degrades_health_with_an_error(app_db, monkeypatch):
    monkeypatch.setenv("REFLEX_REDIS_URL", UNREACHABLE_REDIS)

    report = health_report()

    assert report["status"] == "degraded"
    assert report["checks"]["redis"]["ok"] is False
    assert report["checks"]["redis"]["error"]
    assert report["checks"]["database"]["ok"] is True


@pytest.mark.timeout(20)
def test_unreachable_postgresql_degrades_health_with_a_connection_error(app_db, monkeypatch):
    monkeypatch.setenv("REFLEX_DB_URL", UNREACHABLE_POSTGRES)

    report = health_report()

    assert report["status"] == "degraded"
    assert report["checks"]["database"]["ok"] is False
    assert report["checks"]["database"]["error"].startswith("OperationalError")


def test_reachable_postgresql_is_reported_ok(app_db, pg_admin_url, monkeypatch):
    monkeypatch.setenv("REFLEX_DB_URL", pg_admin_url)

    report = health_report()

    assert report["status"] == "ok"
    assert report["checks"]["database"]["backend"] == "postgresql"
