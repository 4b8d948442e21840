"""Where a derived data source came from: its parent version and the recipe that made it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import select

from hydroml.db import session_scope
from hydroml.models import DataSource, DataSourceVersion, ProjectDataSource
from hydroml.services.auth import UserInfo
from hydroml.services.projects import parse_id, require_role
from hydroml.services.studio.recipe import Recipe


@dataclass(frozen=True)
class Lineage:
    parent_name: str
    parent_version: int
    parent_id: uuid.UUID | None  # None when the parent is not (or no longer) in this project
    steps: list[str]  # one line per step of the recipe, as the history showed it


def lineage(actor: UserInfo, project_id, data_source_id, version: int | None = None) -> Lineage | None:
    """The lineage of a version (the newest by default) of a data source in the project (viewer)."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        ds_id = parse_id(data_source_id, "Data source")
        linked = db.exec(
            select(DataSource)
            .join(ProjectDataSource, ProjectDataSource.data_source_id == DataSource.id)
            .where(ProjectDataSource.project_id == member.project_id, DataSource.id == ds_id)
        ).first()
        if linked is None:
            return None
        row = db.exec(
            select(DataSourceVersion).where(
                DataSourceVersion.data_source_id == ds_id,
                DataSourceVersion.version == (version or linked.current_version),
            )
        ).first()
        if row is None or row.parent_version_id is None or row.recipe_json is None:
            return None
        parent = db.get(DataSourceVersion, row.parent_version_id)
        parent_source = db.get(DataSource, parent.data_source_id) if parent else None
        in_project = (
            parent_source is not None
            and db.exec(
                select(ProjectDataSource).where(
                    ProjectDataSource.project_id == member.project_id,
                    ProjectDataSource.data_source_id == parent_source.id,
                )
            ).first()
        )
        recipe_json = row.recipe_json
    steps = []
    for step in Recipe.from_json(recipe_json).applied:
        try:
            text = step.operation().describe()
        except Exception:  # noqa: BLE001 - an operation this version does not know: show its key
            text = step.op
        steps.append(text if step.enabled else f"(turned off) {text}")
    return Lineage(
        parent_name=parent_source.name if parent_source else "(deleted data source)",
        parent_version=parent.version if parent else 0,
        parent_id=parent_source.id if in_project else None,
        steps=steps,
    )
