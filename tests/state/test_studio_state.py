"""The Data Studio state: handlers driven on real state objects over a real database and data dir.

Checks what the browser gets (grid, history, field errors, toasts, redirects) and what the database holds: a
viewer changes nothing, an outsider learns nothing, a stale tab never overwrites a newer change, and the
view (sort, filter, search) never touches the recipe.
"""

from __future__ import annotations

import asyncio
import inspect

import pandas as pd
import pytest

from hydroml.services import datasources
from hydroml.services.studio import sessions
from hydroml.state.studio import COLUMN_WINDOW, StudioState
from hydroml.state.studio_panels import StudioPanelsState
from tests.state.test_auth_states import forged_token, redirects, state, toasts
from tests.state.test_project_states import flows, open_page, team  # noqa: F401 - fixtures

PLEASE_SIGN_IN = ("warning", "Please sign in to continue.")


def drive(call) -> list:
    """Run a handler's result to the end: a coroutine, an async generator (every yield kept), or a value."""

    async def go():
        if inspect.isasyncgen(call):
            return [item async for item in call]
        if inspect.iscoroutine(call):
            return [await call]
        return [call]

    return asyncio.run(go())


def flatten(results: list) -> list:
    out = []
    for item in results:
        if isinstance(item, list | tuple):
            out.extend(item)
        elif item is not None:
            out.append(item)
    return out


@pytest.fixture
def session(team, flows):  # noqa: F811 - pytest fixtures
    return sessions.create_session(team.user("eddie"), team.alpha.id, flows.id, "Cleaning")


def studio(team, session, who: str = "eddie", token: str | None = None) -> StudioState:  # noqa: F811
    url = f"/projects/{team.alpha.id}/studio/{session.id}"
    root = open_page(url, team.token(who) if token is None else token)
    page = state(root, StudioState)
    drive(page.load())
    return page


def add_drop(page: StudioState, column: str, confirm: bool = False) -> list:
    page.choose_operation("drop_columns")
    page.toggle_option("columns", column)
    return flatten(drive(page.submit_operation(confirm)))


def test_an_editor_opens_the_session_and_sees_the_first_page(team, session):  # noqa: F811
    page = studio(team, session)
    assert page.loaded and page.can_edit and page.busy == ""
    assert [c.name for c in page.grid_columns] == ["n", "station", "flow"]
    assert page.total_rows == 60 and len(page.grid_rows) == 50 and page.grid_rows[0][0] == "0"
    assert page.grid_columns[2].missing == "1" and page.grid_columns[2].numeric
    assert page.history == [] and page.cursor == 0


def test_adding_a_step_saves_it_and_shows_it_in_the_history(team, session):  # noqa: F811
    page = studio(team, session)
    add_drop(page, "station")
    assert [c.name for c in page.grid_columns] == ["n", "flow"]
    assert [(h.label, h.state, h.current) for h in page.history] == [("Drop station", "applied", True)]
    saved = sessions.get_session(team.user("alice"), team.alpha.id, session.id)
    assert saved.revision == page.revision == 2 and saved.recipe.cursor == 1
    assert page.op_key == ""  # the form closes after a successful step


def test_a_bad_parameter_is_shown_under_its_field_and_nothing_is_saved(team, session):  # noqa: F811
    page = studio(team, session)
    page.choose_operation("drop_columns")
    flatten(drive(page.submit_operation(False)))
    field = next(f for f in page.fields if f.name == "columns")
    assert "required" in field.error
    assert sessions.get_session(team.user("alice"), team.alpha.id, session.id).revision == 1


def test_undo_redo_and_adding_after_an_undo_asks_first(team, session):  # noqa: F811
    page = studio(team, session)
    add_drop(page, "station")
    add_drop(page, "n")
    drive(page.undo())
    assert page.cursor == 1 and [h.state for h in page.history] == ["applied", "pending"]
    assert [c.name for c in page.grid_columns] == ["n", "flow"]
    add_drop(page, "flow")
    assert page.confirm_discard and page.step_count == 2  # asked, not yet discarded
    add_drop(page, "flow", confirm=True)
    assert page.step_count == 2 and [h.label for h in page.history] == ["Drop station", "Drop flow"]
    drive(page.undo())
    drive(page.redo())
    assert page.cursor == 2 and [c.name for c in page.grid_columns] == ["n"]


def test_a_second_tab_with_an_old_copy_is_refused_and_reloaded(team, session):  # noqa: F811
    first, second = studio(team, session), studio(team, session, "alice")
    add_drop(first, "station")
    result = add_drop(second, "flow")
    assert ("warning", sessions.STALE_MESSAGE) in toasts(result)
    assert second.revision == first.revision == 2
    assert [h.label for h in second.history] == ["Drop station"]  # reloaded, the other change kept
    saved = sessions.get_session(team.user("alice"), team.alpha.id, session.id)
    assert [s.params for s in saved.recipe.steps] == [{"columns": ["station"]}]


def test_the_view_never_changes_the_recipe(team, session):  # noqa: F811
    page = studio(team, session)
    drive(page.sort_by("flow"))
    drive(page.sort_by("flow"))  # descending
    assert page.grid_columns[2].sort_mark == "▼1" and page.grid_rows[0][2] == "14.75"
    drive(page.add_filter({"column": "station", "op": "=", "value": "A"}))
    assert page.total_rows == 20 and page.frame_rows == 60
    drive(page.apply_search({"search": "B"}))
    assert page.total_rows == 0
    drive(page.clear_view())
    assert page.total_rows == 60 and page.sort_keys == []
    assert sessions.get_session(team.user("alice"), team.alpha.id, session.id).revision == 1


def test_a_viewer_reads_but_cannot_change(team, session):  # noqa: F811
    page = studio(team, session, "vera")
    assert page.loaded and not page.can_edit and page.total_rows == 60
    result = add_drop(page, "station")
    assert toasts(result) == [
        ("error", "Only editors and owners can change studio sessions. Your role is viewer.")
    ]
    assert sessions.get_session(team.user("alice"), team.alpha.id, session.id).revision == 1


def test_an_outsider_learns_nothing_and_a_forged_cookie_goes_to_sign_in(team, session):  # noqa: F811
    url = f"/projects/{team.alpha.id}/studio/{session.id}"
    page = state(open_page(url, team.token("otto")), StudioState)
    result = flatten(drive(page.load()))
    assert toasts(result) == [("error", "Project not found.")] and not page.loaded
    assert page.grid_rows == [] and page.session_name == ""
    forged = state(open_page(url, forged_token()), StudioState)
    result = flatten(drive(forged.load()))
    assert PLEASE_SIGN_IN in toasts(result) and redirects(result) == [f"/signin?next={url}"]


def test_the_panels_profile_and_script_follow_the_cursor(team, session):  # noqa: F811
    page = studio(team, session)
    add_drop(page, "station")
    panels = state(page.parent_state.parent_state, StudioPanelsState)
    drive(panels.show_profile("flow"))
    facts = dict(map(tuple, panels.profile_facts))
    assert facts["Missing"] == "1 (1.7%)" and panels.profile_column == "flow"
    drive(panels.load_script())
    assert (
        "# Step 1: Drop station" in panels.script_text
        and "df.drop(columns=['station'])" in panels.script_text
    )


def test_a_table_of_600_columns_pages_sideways(team):  # noqa: F811
    wide = pd.DataFrame({f"c{i:03d}": [float(i), float(i + 1)] for i in range(600)})
    source = datasources.create_from_frame(team.user("alice"), team.alpha.id, "Wide", wide)
    session = sessions.create_session(team.user("eddie"), team.alpha.id, source.id)
    page = studio(team, session)
    assert page.wide and page.total_columns == 600 and len(page.grid_columns) == COLUMN_WINDOW
    assert (
        page.column_label == f"Columns 1–{COLUMN_WINDOW} of 600" and len(page.grid_rows[0]) == COLUMN_WINDOW
    )
    drive(page.shift_columns(1))
    assert (
        page.grid_columns[0].name == f"c{COLUMN_WINDOW:03d}" and page.grid_rows[0][0] == f"{COLUMN_WINDOW}.0"
    )
    for _ in range(20):
        drive(page.shift_columns(1))
    assert (
        page.grid_columns[0].name == "c560" and page.grid_columns[-1].name == "c599" and page.total_rows == 2
    )
