"""Database engine and sessions for services (no reflex import).

The engine is cached per URL; `session_scope` commits on success and rolls back on error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache

import sqlalchemy
from sqlmodel import Session

from hydroml.settings import get_settings


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=8)
def engine_for(url: str) -> sqlalchemy.Engine:
    if url.startswith("sqlite"):
        engine = sqlalchemy.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sqlalchemy.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL lets readers work while one writer commits
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sqlalchemy.create_engine(url, pool_pre_ping=True)


def get_engine() -> sqlalchemy.Engine:
    return engine_for(get_settings().db_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
