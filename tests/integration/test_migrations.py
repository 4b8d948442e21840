"""Every migration applies to an empty database, and the models and the migrations describe the same schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import hydroml.models  # noqa: F401
from alembic import command

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _upgrade_to_head(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")


def _drift(url: str) -> list:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sqlalchemy.create_engine(url)
    try:
        return set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_build_the_models_schema_on_empty_postgresql(fresh_pg_url):
    _upgrade_to_head(fresh_pg_url)
    assert set(SQLModel.metadata.tables) <= _tables(fresh_pg_url)
    assert _drift(fresh_pg_url) == []


def test_migrations_build_the_models_schema_on_empty_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    _upgrade_to_head(url)
    assert set(SQLModel.metadata.tables) <= _tables(url)
    assert _drift(url) == []


def test_drift_check_notices_a_column_missing_from_migrations(tmp_path):
    """The drift check itself must be able to fail: drop a column after migrating and it is reported."""
    url = f"sqlite:///{tmp_path / 'drifted.db'}"
    _upgrade_to_head(url)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("ALTER TABLE user_account DROP COLUMN theme"))
    engine.dispose()
    assert any("theme" in str(change) for change in _drift(url))
