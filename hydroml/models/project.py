"""Projects and their members (roles: owner, editor, viewer)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Field

from hydroml.models.base import TableBase


class Project(TableBase, table=True):
    __tablename__ = "project"

    name: str = Field(max_length=120, nullable=False)
    description: str = Field(default="", max_length=2000, nullable=False)


class ProjectMember(TableBase, table=True):
    __tablename__ = "project_member"
    __table_args__ = (sa.UniqueConstraint("project_id", "user_id", name="uq_project_member"),)

    project_id: uuid.UUID = Field(foreign_key="project.id", index=True, nullable=False, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, nullable=False, ondelete="CASCADE")
    role: str = Field(max_length=16, nullable=False)
