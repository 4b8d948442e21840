"""Studio sessions on the real PostgreSQL (schema from the migrations): concurrent changes never lose an update,
and deleting a project removes its sessions and their checkpoints."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from hydroml.services import auth, datasources, projects
from hydroml.services.errors import Conflict
from hydroml.services.studio import engine, sessions
from tests.integration.test_migrations import _upgrade_to_head

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_password_hashing")]
PASSWORD = "river-flow-42"


@pytest.fixture
def pg_app(fresh_pg_url, monkeypatch, tmp_path):
    _upgrade_to_head(fresh_pg_url)
    monkeypatch.setenv("REFLEX_DB_URL", fresh_pg_url)
    monkeypatch.setenv("HYDROML_DATA_DIR", str(tmp_path))
    return fresh_pg_url


@pytest.fixture
def studio_session(pg_app):
    owner = auth.register("olga", PASSWORD)
    project = projects.create_project(owner, "Gauges")
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "c": ["x", "y"]})
    source = datasources.create_from_frame(owner, project.id, "Flows", frame)
    return owner, project, sessions.create_session(owner, project.id, source.id)


def test_of_concurrent_changes_at_one_revision_exactly_one_is_saved(studio_session):
    owner, project, info = studio_session
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def change(column: str) -> None:
        start.wait()
        try:
            sessions.add_step(owner, project.id, info.id, 1, "drop_columns", {"columns": [column]})
            outcomes.append("saved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=change, args=(c,)) for c in ("a", "b", "c", "a")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "saved"]
    saved = sessions.get_session(owner, project.id, info.id)
    assert saved.revision == 2 and len(saved.recipe.steps) == 1


def test_deleting_the_project_removes_its_sessions_and_checkpoints(studio_session):
    owner, project, info = studio_session
    folder = sessions.checkpoint_dir(info.id)
    engine.write_checkpoint(folder, "k", pd.DataFrame({"a": [1]}), [])
    assert folder.exists()
    projects.delete_project(owner, project.id)
    assert not folder.exists()
    other = projects.create_project(owner, "Other")
    assert sessions.list_sessions(owner, other.id) == [] and sessions.session_count(owner.id) == 0
