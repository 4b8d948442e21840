"""/api/health over HTTP (the FastAPI router the app mounts), with the real PostgreSQL and Redis."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hydroml.api import build_api
from tests.integration.test_migrations import _upgrade_to_head

pytestmark = pytest.mark.integration


@pytest.fixture
def client():
    return TestClient(build_api())


def test_health_is_ok_with_postgres_and_redis(client, fresh_pg_url, redis_url, monkeypatch, tmp_path):
    _upgrade_to_head(fresh_pg_url)
    monkeypatch.setenv("REFLEX_DB_URL", fresh_pg_url)
    monkeypatch.setenv("REFLEX_REDIS_URL", redis_url)
    monkeypatch.setenv("HYDROML_DATA_DIR", str(tmp_path))
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["backend"] == "postgresql"
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["disk"]["free_bytes"] > 0


def test_health_is_503_when_redis_is_down(client, app_db, monkeypatch):
    monkeypatch.setenv("REFLEX_REDIS_URL", "redis://127.0.0.1:1/0")
    response = client.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_health_is_503_when_the_database_is_down(client, monkeypatch, tmp_path):
    monkeypatch.setenv("REFLEX_DB_URL", "postgresql://postgres@127.0.0.1:1/missing?connect_timeout=2")
    monkeypatch.setenv("HYDROML_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["ok"] is False
