"""Connections page and connection browser states: handlers on real state objects, real services, real DB.

The SQLite connection points at a file of gauge readings inside the SQLite folder, so no server is needed.
"""

from __future__ import annotations

import sqlite3

import pytest
from cryptography.fernet import Fernet

from hydroml.services.connectors import connections
from hydroml.settings import get_settings
from hydroml.state.connections import ConnectionBrowserState, ConnectionsState
from hydroml.state.projects import ProjectState
from tests.state.test_auth_states import forged_token, redirects, run, state, toasts
from tests.state.test_project_states import (
    delta_text,
    open_page,
    team,  # noqa: F401 - fixture
)

PROJECT_NOT_FOUND = ("error", "Project not found.")
PLEASE_SIGN_IN = ("warning", "Please sign in to continue.")
SECRET = "s3cr3t-Pa55-word!"
READINGS = [
    (f"ST{i % 4}", f"2024-01-{1 + i % 28:02d}", i / 8, None if i % 7 else "suspect") for i in range(250)
]


@pytest.fixture(autouse=True)
def _env(app_db, monkeypatch, tmp_path):
    monkeypatch.setenv("HYDROML_FERNET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("HYDROML_SQLITE_DIR", str(tmp_path / "sqlite"))
    for name in ("HYDROML_CONNECTOR_ALLOW", "HYDROML_CONNECTOR_DENY", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    yield
    connections.dispose_engines()


@pytest.fixture
def gauges_file() -> str:
    """gauges.db in the SQLite folder: 250 readings and a view; returns the path relative to the folder."""
    folder = get_settings().sqlite_dir
    folder.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(folder / "gauges.db") as db:
        db.execute(
            "CREATE TABLE readings (station TEXT NOT NULL, day TEXT NOT NULL, level_m REAL, flag TEXT)"
        )
        db.executemany("INSERT INTO readings VALUES (?, ?, ?, ?)", READINGS)
        db.execute("CREATE VIEW stations AS SELECT DISTINCT station FROM readings")
    db.close()
    return "gauges.db"


@pytest.fixture
def people(team):  # noqa: F811 - alice owns Alpha (eddie editor, vera viewer); otto is an outsider
    return team


def page(people, user: str, suffix: str = "", project=None):
    project_id = (project or people.alpha).id
    return open_page(f"/projects/{project_id}/connections{suffix}", people.token(user))


def add_sqlite(people, gauges_file, user: str = "eddie", name: str = "Gauges"):
    root = page(people, user)
    listing = state(root, ConnectionsState)
    run(listing.load())
    listing.open_new()
    result = run(listing.save({"name": name, "kind": "sqlite", "database": gauges_file}))
    return root, listing, result


# ================================================================ the list


def test_editor_creates_lists_and_tests_a_sqlite_connection(people, gauges_file):
    root, listing, result = add_sqlite(people, gauges_file)

    assert toasts(result) == [("success", "Connection “Gauges” added.")]
    assert listing.form_open is False
    assert (listing.role, listing.can_edit, listing.loaded) == ("editor", True, True)
    assert [(r.name, r.kind, r.target, r.test_status) for r in listing.connections] == [
        ("Gauges", "sqlite", "gauges.db", "")
    ]
    assert state(root, ProjectState).name == "Alpha"  # the project frame is filled

    row = listing.connections[0]
    assert run(listing.test(row.id)) is None
    tested = listing.connections[0]
    assert tested.testing is False
    assert tested.test_status == "ok"
    assert tested.message.startswith("Connected to SQLite")

    # another member (a viewer) sees it and may test it too
    viewer = state(page(people, "vera"), ConnectionsState)
    run(viewer.load())
    assert (viewer.role, viewer.can_edit) == ("viewer", False)
    assert [r.name for r in viewer.connections] == ["Gauges"]
    run(viewer.test(row.id))
    assert viewer.connections[0].test_status == "ok"


def test_field_errors_come_from_the_service(people, gauges_file):
    listing = state(page(people, "alice"), ConnectionsState)
    run(listing.load())
    listing.open_new()

    assert run(listing.save({"name": "", "kind": "sqlite", "database": gauges_file})) is None
    assert listing.errors["name"] == "Give the connection a name."
    assert listing.form_open is True

    assert run(listing.save({"name": "Bad", "kind": "sqlite", "database": "../outside.db"})) is None
    assert listing.errors["database"] != "" and listing.errors["name"] == ""
    assert listing.form["name"] == "Bad"  # what was typed stays
    assert connections.list_connections(people.user("alice"), people.alpha.id) == []


def test_viewer_cannot_create_edit_or_delete(people, gauges_file):
    _, editor, _ = add_sqlite(people, gauges_file)
    connection_id = editor.connections[0].id

    viewer = state(page(people, "vera"), ConnectionsState)
    run(viewer.load())
    result = run(viewer.save({"name": "Mine", "kind": "sqlite", "database": gauges_file}))
    assert [level for level, _ in toasts(result)] == ["error"]
    assert run(viewer.delete(connection_id)) is not None
    assert [c.name for c in connections.list_connections(people.user("alice"), people.alpha.id)] == ["Gauges"]


def test_outsider_learns_nothing(people, gauges_file):
    add_sqlite(people, gauges_file)
    root = page(people, "otto")
    listing = state(root, ConnectionsState)

    result = run(listing.load())

    assert toasts(result) == [PROJECT_NOT_FOUND]
    assert redirects(result) == ["/projects"]
    assert listing.connections == [] and listing.loaded is False
    assert "Gauges" not in delta_text(root) and "Alpha" not in delta_text(root)


def test_a_forged_session_goes_to_sign_in(people):
    root = open_page(f"/projects/{people.alpha.id}/connections", forged_token())
    result = run(state(root, ConnectionsState).load())
    assert toasts(result) == [PLEASE_SIGN_IN]


def test_edit_keeps_the_password_and_never_sends_it(people):
    root = page(people, "eddie")
    listing = state(root, ConnectionsState)
    run(listing.load())
    listing.open_new()
    form = {
        "name": "Gauges PG",
        "kind": "postgresql",
        "host": "127.0.0.1",
        "port": "1",
        "database": "gauges",
        "username": "reader",
        "password": SECRET,
        "sslmode": "disable",
    }
    result = run(listing.save(form))
    assert toasts(result) == [("success", "Connection “Gauges PG” added.")]
    row = listing.connections[0]
    assert (row.target, row.has_password, row.sslmode) == ("127.0.0.1:1/gauges", True, "disable")

    listing.open_edit(row.id)
    assert listing.form_has_password is True and listing.editing is True
    assert "password" not in listing.form
    result = run(listing.save({**form, "name": "Gauges PG 2", "password": ""}))  # empty: keep
    assert toasts(result) == [("success", "Connection “Gauges PG 2” saved.")]
    info = connections.get_connection(people.user("eddie"), people.alpha.id, row.id)
    assert (info.name, info.has_password) == ("Gauges PG 2", True)

    run(listing.test(row.id))  # nothing listens on port 1
    assert listing.connections[0].test_status == "failed"
    assert listing.connections[0].message != ""
    assert SECRET not in delta_text(root)
    assert SECRET not in str(listing.connections) + str(listing.form)


def test_delete_asks_the_service_and_refreshes(people, gauges_file):
    _, listing, _ = add_sqlite(people, gauges_file)
    result = run(listing.delete(listing.connections[0].id))
    assert toasts(result) == [("success", "Connection deleted.")]
    assert listing.connections == []
    assert connections.list_connections(people.user("alice"), people.alpha.id) == []


# ================================================================ the browser


def test_browse_schemas_tables_columns_and_preview(people, gauges_file):
    _, editor, _ = add_sqlite(people, gauges_file)
    connection_id = editor.connections[0].id
    root = page(people, "vera", f"/{connection_id}")
    browser = state(root, ConnectionBrowserState)

    assert run(browser.load()) is None

    assert (browser.connection_name, browser.kind_label, browser.loaded) == ("Gauges", "SQLite", True)
    assert browser.query_href == f"/projects/{people.alpha.id}/connections/{connection_id}/query"
    assert browser.schemas == ["main"] and browser.schema_name == "main"
    assert [(t.name, t.kind, t.rows) for t in browser.tables] == [
        ("readings", "table", "≈ 250"),
        ("stations", "view", ""),
    ]
    assert browser.browse_error == "" and browser.tables_loading is False

    assert run(browser.select_table("readings")) is None
    assert [(c.name, c.type, c.nullable) for c in browser.columns] == [
        ("station", "TEXT", "no"),
        ("day", "TEXT", "no"),
        ("level_m", "REAL", "yes"),
        ("flag", "TEXT", "yes"),
    ]
    assert browser.preview_columns == ["station", "day", "level_m", "flag"]
    assert len(browser.preview_rows) == 100  # never more than the preview
    assert browser.preview_rows[0] == ["ST0", "2024-01-01", "0.0", "suspect"]
    assert browser.table_loading is False

    result = run(browser.select_table("nope"))
    assert [level for level, _ in toasts(result)] == ["error"]
    assert browser.preview_rows == [] and browser.browse_error != ""


def test_browser_for_outsiders_and_unknown_connections(people, gauges_file):
    _, editor, _ = add_sqlite(people, gauges_file)
    connection_id = editor.connections[0].id

    outsider = state(page(people, "otto", f"/{connection_id}"), ConnectionBrowserState)
    result = run(outsider.load())
    assert toasts(result) == [PROJECT_NOT_FOUND]
    assert redirects(result) == ["/projects"]
    assert outsider.tables == [] and outsider.connection_name == ""

    # a connection of another project, looked up through Alpha
    wrong = state(page(people, "otto", f"/{connection_id}", project=people.secret), ConnectionBrowserState)
    result = run(wrong.load())
    assert toasts(result) == [("error", "Connection not found.")]
    assert redirects(result) == [f"/projects/{people.secret.id}/connections"]
