"""Data Studio sessions: a named recipe over one data source version, saved on every change."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Field

from hydroml.models.base import TableBase


class StudioSession(TableBase, table=True):
    __tablename__ = "studio_session"

    project_id: uuid.UUID = Field(foreign_key="project.id", index=True, nullable=False, ondelete="CASCADE")
    data_source_id: uuid.UUID = Field(
        foreign_key="data_source.id", index=True, nullable=False, ondelete="CASCADE"
    )
    data_source_version: int = Field(nullable=False)
    name: str = Field(max_length=120, nullable=False)
    # The recipe (steps + cursor) as JSON; `revision` grows by one on every saved change, so a change made
    # from a stale copy (a second tab) is refused instead of overwriting newer work.
    recipe_json: str = Field(sa_type=sa.Text, nullable=False)
    revision: int = Field(default=1, nullable=False)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
