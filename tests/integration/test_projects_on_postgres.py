"""The projects service against the real PostgreSQL, on a schema built by the migrations."""

from __future__ import annotations

import pytest
from sqlmodel import select

from hydroml.db import session_scope
from hydroml.models import DataSource, DataSourceVersion, ProjectDataSource
from hydroml.services import auth, projects
from hydroml.services.errors import Forbidden, InvalidInput, NotFound
from hydroml.settings import get_settings
from tests.integration.test_migrations import _upgrade_to_head

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_password_hashing")]
PASSWORD = "river-flow-42"


@pytest.fixture
def pg_app(fresh_pg_url, monkeypatch, tmp_path):
    _upgrade_to_head(fresh_pg_url)
    monkeypatch.setenv("REFLEX_DB_URL", fresh_pg_url)
    monkeypatch.setenv("HYDROML_DATA_DIR", str(tmp_path))
    return fresh_pg_url


def data_source(name, *project_ids):
    with session_scope() as db:
        source = DataSource(name=name, current_version=1)
        db.add(source)
        db.flush()
        db.add(
            DataSourceVersion(
                data_source_id=source.id,
                version=1,
                parquet_path=f"datasources/{source.id}/v1.parquet",
                sha256="0" * 64,
                row_count=1,
                column_count=1,
                size_bytes=1,
                columns_json="[]",
            )
        )
        for project_id in project_ids:
            db.add(ProjectDataSource(project_id=project_id, data_source_id=source.id))
        source_id = source.id
    folder = get_settings().data_dir / "datasources" / str(source_id)
    folder.mkdir(parents=True)
    (folder / "v1.parquet").write_bytes(b"PAR1")
    return source_id, folder


def test_delete_removes_exclusive_data_and_unlinks_shared_on_postgres(pg_app):
    alice = auth.register("alice", PASSWORD)
    rhine = projects.create_project(alice, "Rhine")
    elbe = projects.create_project(alice, "Elbe")
    exclusive, exclusive_folder = data_source("only rhine", rhine.id)
    shared, shared_folder = data_source("shared", rhine.id, elbe.id)

    assert projects.deletion_impact(alice, rhine.id) == projects.DeletionImpact(1, 1, 1)
    assert projects.delete_project(alice, rhine.id) == projects.DeletionImpact(1, 1, 1)

    with session_scope() as db:
        assert db.get(DataSource, exclusive) is None
        assert db.get(DataSource, shared) is not None
        links = db.exec(
            select(ProjectDataSource.project_id).where(ProjectDataSource.data_source_id == shared)
        )
        assert list(links) == [elbe.id]
    assert not exclusive_folder.exists() and shared_folder.is_dir()
    assert [p.name for p in projects.list_projects(alice)] == ["Elbe"]


def test_roles_outsiders_and_last_owner_on_postgres(pg_app):
    alice = auth.register("alice", PASSWORD)
    bob = auth.register("bob", PASSWORD)
    dave = auth.register("dave", PASSWORD)
    project = projects.create_project(alice, "Rhine")
    projects.add_member(alice, project.id, "BOB", "viewer")

    with pytest.raises(NotFound):
        projects.get_project(dave, project.id)
    with pytest.raises(NotFound):
        projects.get_project(alice, "not-a-uuid")
    with pytest.raises(Forbidden):
        projects.update_project(bob, project.id, name="Mine")
    with pytest.raises(InvalidInput) as error:
        projects.change_role(alice, project.id, alice.id, "editor")
    assert error.value.field == "role"

    projects.remove_member(bob, project.id, bob.id)
    assert projects.project_count(bob.id) == 0
    assert [m.username for m in projects.list_members(alice, project.id)] == ["alice"]


def test_search_and_sort_on_postgres(pg_app):
    alice = auth.register("alice", PASSWORD)
    for name, description in (("Amazon", "Manaus"), ("elbe", "Dresden"), ("Danube", "Vienna 50%")):
        projects.create_project(alice, name, description)

    assert [p.name for p in projects.list_projects(alice, sort="name")] == ["Amazon", "Danube", "elbe"]
    assert [p.name for p in projects.list_projects(alice, sort="created")] == ["Danube", "elbe", "Amazon"]
    assert [p.name for p in projects.list_projects(alice, search="DRESDEN")] == ["elbe"]
    assert [p.name for p in projects.list_projects(alice, search="0%")] == ["Danube"]
