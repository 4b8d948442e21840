"""Shared columns: UUID primary key and timezone-aware created/updated timestamps (seed ADR-003)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hydroml.db import utcnow


def timestamp_field(**kwargs) -> datetime:
    return Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), nullable=False, **kwargs)


class TableBase(SQLModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(sa_column_kwargs={"onupdate": utcnow})
