"""Shared fixtures for every test layer.

- `app_db`: a fresh SQLite database per test (tables from the models) with the environment pointing at it.
- `pg_admin_url` / `fresh_pg_url`: the real PostgreSQL on 127.0.0.1; a new empty database per request.
- `redis_url`: the real Redis on 127.0.0.1.
With CI=true a missing PostgreSQL or Redis fails the test; elsewhere it skips with the reason.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("HYDROML_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HYDROML_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require_service(name: str, host: str, port: int) -> None:
    """Skip (locally) or fail (in CI) when a service the test needs is not listening."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        message = f"{name} is not reachable on {host}:{port} ({exc})"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(message)


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the app at a fresh SQLite database with every table created; returns its URL."""
    from sqlmodel import SQLModel

    import hydroml.models  # noqa: F401
    from hydroml.db import engine_for

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("HYDROML_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REFLEX_DB_URL", url)
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    SQLModel.metadata.create_all(engine_for(url))
    yield url
    engine_for(url).dispose()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return PG_ADMIN_URL


def create_pg_database(admin_url: str) -> str:
    import sqlalchemy

    name = f"hydroml_test_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(admin_url: str, url: str) -> None:
    import sqlalchemy

    from hydroml.db import engine_for

    engine_for(url).dispose()
    name = url.rsplit("/", 1)[1]
    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def fresh_pg_url(pg_admin_url: str):
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    url = create_pg_database(pg_admin_url)
    yield url
    drop_pg_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, at the lowest cost, for tests about something other than hashing (the production cost,
    ~0.2 s a hash, would make those layers slow). tests/unit/test_auth_service.py keeps the real cost."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from hydroml.services import auth

    monkeypatch.setattr(
        auth, "_hasher", PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    )


@pytest.fixture
def default_account_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded account defaults, whatever the developer's shell exports."""
    for name in (
        "HYDROML_SESSION_HOURS",
        "HYDROML_LOGIN_MAX_FAILURES",
        "HYDROML_LOGIN_WINDOW_MINUTES",
        "HYDROML_DEMO_USER",
        "HYDROML_DEMO_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
