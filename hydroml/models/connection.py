"""Database connections of a project (PostgreSQL, MySQL/MariaDB, SQLite); the password is stored encrypted."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from hydroml.models.base import TableBase


class DatabaseConnection(TableBase, table=True):
    __tablename__ = "database_connection"
    __table_args__ = (sa.UniqueConstraint("project_id", "name", name="uq_database_connection_name"),)

    project_id: uuid.UUID = Field(foreign_key="project.id", index=True, nullable=False, ondelete="CASCADE")
    name: str = Field(max_length=120, nullable=False)
    # postgresql | mysql | sqlite
    kind: str = Field(max_length=16, nullable=False)
    host: str = Field(default="", max_length=255, nullable=False)  # empty for SQLite
    port: int | None = Field(default=None)
    # The database name; for SQLite the file path relative to the allowed folder (HYDROML_SQLITE_DIR).
    database: str = Field(default="", max_length=500, nullable=False)
    username: str = Field(default="", max_length=255, nullable=False)
    # The Fernet token of the password ("" when there is none); never leaves the services in clear.
    secret_encrypted: str = Field(default="", sa_type=sa.Text, nullable=False)
    options_json: str = Field(default="{}", sa_type=sa.Text, nullable=False)  # e.g. {"sslmode": "require"}
    created_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    last_tested_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_test_ok: bool | None = Field(default=None)
