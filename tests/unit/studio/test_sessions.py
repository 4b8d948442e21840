"""Studio sessions through the service, on a real database and data dir: roles, revisions, results, lineage."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hydroml.services import auth, datasources, projects
from hydroml.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from hydroml.services.studio import engine, sessions, view
from hydroml.services.studio.lineage import lineage

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


def _flows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.date_range("2020-01-01", periods=8, freq="D"),
            "station": ["A"] * 4 + ["B"] * 4,
            "flow": [1.0, -2.0, np.nan, 4.0, 10.0, 11.0, np.nan, 13.0],
        }
    )


@pytest.fixture
def team(app_db):
    users = {name: auth.register(name, "gauge-reading-7") for name in ("olga", "eddie", "vera", "otto")}
    project = projects.create_project(users["olga"], "Gauges")
    projects.add_member(users["olga"], project.id, "eddie", "editor")
    projects.add_member(users["olga"], project.id, "vera", "viewer")
    source = datasources.create_from_frame(users["olga"], project.id, "Flows", _flows())
    return users, project, source


def test_an_editor_builds_a_recipe_and_every_change_is_saved(team):
    users, project, source = team
    info = sessions.create_session(users["eddie"], project.id, source.id)
    assert info.name == "Flows – session 1" and info.recipe.steps == () and info.revision == 1
    state = sessions.add_step(
        users["eddie"], project.id, info.id, 1, "drop_columns", {"columns": ["station"]}
    )
    assert state.info.revision == 2 and state.rows == 8 and state.columns == 2
    state = sessions.undo(users["eddie"], project.id, info.id, 2)
    assert state.info.recipe.cursor == 0 and [s.state for s in state.statuses] == ["pending"]
    reopened = sessions.open_session(users["vera"], project.id, info.id)
    assert reopened.info.revision == 3 and reopened.columns == 3 and not reopened.info.can_edit


def test_a_change_from_a_stale_tab_is_refused_not_lost(team):
    users, project, source = team
    info = sessions.create_session(users["eddie"], project.id, source.id)
    sessions.add_step(users["eddie"], project.id, info.id, 1, "drop_columns", {"columns": ["station"]})
    with pytest.raises(Conflict, match="changed in another tab"):
        sessions.add_step(users["olga"], project.id, info.id, 1, "drop_columns", {"columns": ["flow"]})
    saved = sessions.get_session(users["olga"], project.id, info.id)
    assert [s.params for s in saved.recipe.steps] == [{"columns": ["station"]}]


def test_roles_viewers_read_outsiders_see_nothing(team):
    users, project, source = team
    info = sessions.create_session(users["eddie"], project.id, source.id)
    with pytest.raises(Forbidden):
        sessions.create_session(users["vera"], project.id, source.id)
    with pytest.raises(Forbidden):
        sessions.add_step(users["vera"], project.id, info.id, 1, "drop_columns", {"columns": ["flow"]})
    with pytest.raises(Forbidden):
        sessions.delete_session(users["vera"], project.id, info.id)
    page = sessions.page(users["vera"], project.id, info.id, view.ViewSpec(), 0, 5)
    assert page.total_rows == 8 and len(page.rows) == 5
    for call in (
        lambda: sessions.open_session(users["otto"], project.id, info.id),
        lambda: sessions.script(users["otto"], project.id, info.id),
        lambda: sessions.page(users["otto"], project.id, info.id, view.ViewSpec(), 0, 5),
        lambda: sessions.open_session(users["olga"], project.id, "not-a-uuid"),
    ):
        with pytest.raises(NotFound):
            call()


def test_a_step_that_does_not_fit_is_refused_with_the_parameter_named(team):
    users, project, source = team
    info = sessions.create_session(users["eddie"], project.id, source.id)
    with pytest.raises(InvalidInput) as caught:
        sessions.add_step(users["eddie"], project.id, info.id, 1, "drop_columns", {"columns": ["nope"]})
    assert caught.value.field == "columns" and "nope" in caught.value.message
    assert sessions.get_session(users["eddie"], project.id, info.id).revision == 1


def test_editing_a_past_step_marks_later_steps_that_no_longer_fit(team):
    users, project, source = team
    sid = sessions.create_session(users["eddie"], project.id, source.id).id
    first = sessions.add_step(users["eddie"], project.id, sid, 1, "drop_columns", {"columns": ["station"]})
    sessions.add_step(users["eddie"], project.id, sid, 2, "drop_columns", {"columns": ["flow"]})
    step_id = first.info.recipe.steps[0].id
    state = sessions.edit_step(users["eddie"], project.id, sid, 3, step_id, {"columns": ["flow"]})
    assert [s.state for s in state.statuses] == ["applied", "broken"]
    assert "'flow'" in state.statuses[1].reason
    assert len(state.info.recipe.steps) == 2  # marked, never removed
    state = sessions.toggle_step(users["eddie"], project.id, sid, 4, step_id)
    assert [s.state for s in state.statuses] == ["off", "applied"] and list(state.schema) == [
        "date",
        "station",
    ]


def test_the_exported_script_reproduces_the_grid_with_plain_python(team, tmp_path):
    users, project, source = team
    sid = sessions.create_session(users["eddie"], project.id, source.id).id
    sessions.add_step(users["eddie"], project.id, sid, 1, "drop_columns", {"columns": ["station"]})
    sessions.add_step(users["eddie"], project.id, sid, 2, "rename_columns", {"mapping": {"flow": "q"}})
    name, text = sessions.script(users["eddie"], project.id, sid)
    assert name.endswith(".py") and "import pandas as pd" in text
    script = tmp_path / name
    script.write_text(text)
    file = datasources.version_file(users["eddie"], project.id, source.id)
    out = tmp_path / "out.parquet"
    subprocess.run([sys.executable, "-I", str(script), str(file.path), str(out)], check=True, timeout=120)
    _, frame, _ = sessions.cursor_frame(users["eddie"], project.id, sid)
    pd.testing.assert_frame_equal(pd.read_parquet(out), frame, check_exact=True)


def test_save_as_data_source_records_the_lineage(team):
    users, project, source = team
    sid = sessions.create_session(users["eddie"], project.id, source.id).id
    sessions.add_step(users["eddie"], project.id, sid, 1, "drop_columns", {"columns": ["station"]})
    saved = sessions.save_as_data_source(users["eddie"], project.id, sid, "Flows without stations")
    assert saved.kind == "derived" and saved.columns == 2 and saved.rows == 8
    _, versions = datasources.get_data_source(users["vera"], project.id, saved.id)
    parent = datasources.version_file(users["vera"], project.id, source.id)
    assert versions[0].parent_version_id == parent.version_id and versions[0].has_recipe
    with pytest.raises(Forbidden):
        sessions.save_as_data_source(users["vera"], project.id, sid, "Nope")
    shown = lineage(users["vera"], project.id, saved.id)
    assert (shown.parent_name, shown.parent_version, shown.parent_id) == ("Flows", 1, source.id)
    assert shown.steps == ["Drop station"]
    assert lineage(users["vera"], project.id, source.id) is None  # an upload has no parent
    with pytest.raises(NotFound):
        lineage(users["otto"], project.id, saved.id)


def test_replay_on_a_newer_version_reports_steps_that_no_longer_fit(team, monkeypatch):
    users, project, source = team
    sid = sessions.create_session(users["eddie"], project.id, source.id).id
    sessions.add_step(users["eddie"], project.id, sid, 1, "drop_columns", {"columns": ["station"]})
    # A second version without the station column: recreate through the upload path's versioning.
    import io

    newer = _flows().drop(columns=["station"]).to_csv(index=False).encode()
    staged = datasources.stage_upload(users["eddie"], project.id, io.BytesIO(newer), "v2.csv")
    preview = datasources.preview_upload(users["eddie"], project.id, staged.id)
    datasources.import_new_version(users["eddie"], project.id, source.id, staged.id, preview.settings)
    state = sessions.open_session(users["eddie"], project.id, sid)
    assert (state.info.version, state.info.latest_version) == (1, 2)
    state = sessions.replay_on_version(users["eddie"], project.id, sid, state.info.revision)
    assert state.info.version == 2 and state.statuses[0].state == "broken"


def test_rename_duplicate_list_delete(team):
    users, project, source = team
    info = sessions.create_session(users["eddie"], project.id, source.id, "Cleaning")
    sessions.add_step(users["eddie"], project.id, info.id, 1, "drop_columns", {"columns": ["station"]})
    copy = sessions.duplicate_session(users["olga"], project.id, info.id)
    assert copy.name == "Cleaning (copy)" and len(copy.recipe.steps) == 1
    sessions.rename_session(users["eddie"], project.id, info.id, "  Cleaned   flows ")
    names = [s.name for s in sessions.list_sessions(users["vera"], project.id, source.id)]
    assert sorted(names) == ["Cleaned flows", "Cleaning (copy)"]
    assert sessions.session_count(users["vera"].id) == 2 and sessions.session_count(users["otto"].id) == 0
    with pytest.raises(InvalidInput):
        sessions.rename_session(users["eddie"], project.id, info.id, "   ")
    sessions.delete_session(users["eddie"], project.id, info.id)
    assert [s.name for s in sessions.list_sessions(users["vera"], project.id)] == ["Cleaning (copy)"]


def test_deleting_the_data_source_or_project_removes_its_sessions_and_checkpoints(team):
    users, project, source = team
    info = sessions.create_session(users["eddie"], project.id, source.id)
    folder = sessions.checkpoint_dir(info.id)
    engine.write_checkpoint(folder, "k", _flows(), [])
    datasources.delete_data_source(users["eddie"], project.id, source.id)
    assert sessions.list_sessions(users["olga"], project.id) == [] and not folder.exists()


def test_the_session_survives_a_cold_cache(team, monkeypatch):
    users, project, source = team
    sid = sessions.create_session(users["eddie"], project.id, source.id).id
    sessions.add_step(users["eddie"], project.id, sid, 1, "drop_columns", {"columns": ["station"]})
    monkeypatch.setattr(engine, "_cache", engine.FrameCache(10**9))
    engine._statuses.clear()
    state = sessions.open_session(users["eddie"], project.id, sid)
    assert list(state.schema) == ["date", "flow"] and state.statuses[0].state == "applied"
    assert json.loads(state.info.recipe.to_json())["cursor"] == 1
