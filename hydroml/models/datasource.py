"""Data sources: named datasets with immutable versions (Parquet + the kept original), linked to projects."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Field

from hydroml.models.base import TableBase


class DataSource(TableBase, table=True):
    __tablename__ = "data_source"

    name: str = Field(max_length=200, nullable=False)
    description: str = Field(default="", max_length=2000, nullable=False)
    # upload | derived | query: where its versions come from.
    kind: str = Field(default="upload", max_length=16, nullable=False)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    current_version: int = Field(default=0, nullable=False)


class DataSourceVersion(TableBase, table=True):
    __tablename__ = "data_source_version"
    __table_args__ = (sa.UniqueConstraint("data_source_id", "version", name="uq_data_source_version"),)

    data_source_id: uuid.UUID = Field(
        foreign_key="data_source.id", index=True, nullable=False, ondelete="CASCADE"
    )
    version: int = Field(nullable=False)
    # Paths are relative to the data dir, so the folder can move.
    parquet_path: str = Field(max_length=500, nullable=False)
    original_path: str | None = Field(default=None, max_length=500)
    original_filename: str | None = Field(default=None, max_length=255)
    sha256: str = Field(max_length=64, nullable=False)
    row_count: int = Field(nullable=False)
    column_count: int = Field(nullable=False)
    size_bytes: int = Field(nullable=False)
    columns_json: str = Field(sa_type=sa.Text, nullable=False)  # [{"name", "dtype"}, ...]
    import_settings_json: str = Field(default="{}", sa_type=sa.Text, nullable=False)
    # Lineage of derived versions: parent version + the recipe that produced this one.
    parent_version_id: uuid.UUID | None = Field(
        default=None, foreign_key="data_source_version.id", ondelete="SET NULL"
    )
    recipe_json: str | None = Field(default=None, sa_type=sa.Text)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")


class ProjectDataSource(TableBase, table=True):
    __tablename__ = "project_data_source"
    __table_args__ = (sa.UniqueConstraint("project_id", "data_source_id", name="uq_project_data_source"),)

    project_id: uuid.UUID = Field(foreign_key="project.id", index=True, nullable=False, ondelete="CASCADE")
    data_source_id: uuid.UUID = Field(
        foreign_key="data_source.id", index=True, nullable=False, ondelete="CASCADE"
    )
    # primary | secondary | reference
    role: str = Field(default="primary", max_length=16, nullable=False)
