"""The query builder page and the database cards of a data source page, driven on real state objects with a
SQLite connection: the generated SQL keeps values as bound parameters, preview, import / refresh / export as
background jobs (their functions called directly), roles and outsiders."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pandas as pd
import pytest
from cryptography.fernet import Fernet

from hydroml.services import datasources
from hydroml.services.connectors import connections
from hydroml.settings import get_settings
from hydroml.state.connector_query import ConnectorQueryState
from hydroml.state.connector_source import ConnectorSourceState
from tests.state.test_auth_states import redirects, state, toasts
from tests.state.test_project_states import PROJECT_NOT_FOUND, open_page, settle, team  # noqa: F401 - fixtures

INJECTION = "x'; DROP TABLE readings; --"
READINGS = [
    ("KOB", "2024-01-01 00:00", 2.5, None),
    ("KOB", "2024-01-01 01:00", 2.75, "est"),
    ("MAX", "2024-01-01 00:00", 1.25, None),
    ("MAX", "2024-01-01 01:00", 1.5, "ok"),
    ("BON", "2024-01-01 00:00", 3.0, INJECTION),
]


@pytest.fixture(autouse=True)
def _connector_env(app_db, monkeypatch):
    monkeypatch.setenv("HYDROML_FERNET_KEY", Fernet.generate_key().decode())
    for name in ("HYDROML_CONNECTOR_ALLOW", "HYDROML_CONNECTOR_DENY"):
        monkeypatch.delenv(name, raising=False)
    yield
    connections.dispose_engines()


@pytest.fixture
def gauges(team):  # noqa: F811
    """A SQLite file with a readings table, saved as a connection of Alpha."""
    folder = get_settings().sqlite_dir
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / "gauges.db")
    with db:
        db.execute("CREATE TABLE readings (station TEXT NOT NULL, measured_at TEXT, level_m REAL, flag TEXT)")
        db.executemany("INSERT INTO readings VALUES (?, ?, ?, ?)", READINGS)
    db.close()
    return connections.create_connection(
        team.user("alice"), team.alpha.id, name="Gauges file", kind="sqlite", database="gauges.db"
    )


def query_page(team, connection, who: str, project_id=None) -> ConnectorQueryState:  # noqa: F811
    url = f"/projects/{project_id or team.alpha.id}/connections/{connection.id}/query"
    return state(open_page(url, team.token(who)), ConnectorQueryState)


def source_page(team, info, who: str) -> ConnectorSourceState:  # noqa: F811
    return state(
        open_page(f"/projects/{team.alpha.id}/data/{info.id}", team.token(who)), ConnectorSourceState
    )


def build(page: ConnectorQueryState) -> None:
    """Two conditions (one value an injection payload), ordered by level descending, limit 10."""
    assert settle(page.load()) is None
    assert page.tables == ["readings"]
    settle(page.set_table("readings"))
    assert page.all_columns == ["station", "measured_at", "level_m", "flag"]
    settle(page.toggle_column("measured_at"))
    settle(page.add_condition())
    settle(page.add_condition())
    settle(page.set_condition(0, "column", "level_m"))
    settle(page.set_condition(0, "op", ">"))
    settle(page.set_condition(0, "value", "1.3"))
    settle(page.set_condition(1, "column", "flag"))
    settle(page.set_condition(1, "op", "!="))
    settle(page.set_condition(1, "value", INJECTION))
    settle(page.set_order_column("level_m"))
    settle(page.set_order_descending(True))
    settle(page.set_limit("10"))
    assert page.error == ""


def test_the_builder_shows_sql_with_bound_parameters_and_previews(team, gauges):  # noqa: F811
    page = query_page(team, gauges, "vera")  # a viewer may look
    build(page)

    sql = page.generated_sql
    assert sql.startswith("SELECT readings.station, readings.level_m, readings.flag \nFROM readings")
    assert "WHERE readings.level_m > ? AND readings.flag != ?" in sql
    assert "ORDER BY readings.level_m DESC" in sql and "LIMIT ?" in sql
    assert "DROP" not in sql
    assert ":level_m_1 = 1.3" in page.generated_params
    assert f":flag_1 = {json.dumps(INJECTION)}" in page.generated_params

    settle(page.set_combine("any"))
    assert "readings.level_m > ? OR readings.flag != ?" in page.generated_sql
    settle(page.set_combine("all"))

    assert settle(page.preview()) is None
    assert page.preview_columns == ["station", "level_m", "flag"]
    assert page.preview_rows == [["KOB", "2.75", "est"], ["MAX", "1.5", "ok"]]  # NULL flags never match
    assert page.preview_label == "2 rows."

    settle(page.remove_condition(1))
    assert ":level_m_1 = 1.3" in page.generated_params
    assert not any(p.startswith(":flag_1") for p in page.generated_params)
    settle(page.set_condition(0, "value", "not a number"))
    assert page.error != ""


def test_raw_sql_tab_refuses_writes_with_the_reason(team, gauges):  # noqa: F811
    page = query_page(team, gauges, "eddie")
    settle(page.load())
    settle(page.set_mode("raw"))
    settle(page.set_raw_sql("DELETE FROM readings"))
    assert page.error.startswith("Only queries that read can run here")
    settle(page.set_raw_sql("SELECT station FROM readings; DROP TABLE readings"))
    assert "one statement at a time" in page.error
    settle(page.set_raw_sql("SELECT station, level_m FROM readings WHERE level_m > 2 ORDER BY level_m"))
    assert page.error == ""
    settle(page.preview())
    assert [row[0] for row in page.preview_rows] == ["KOB", "KOB", "BON"]


def test_import_then_refresh_then_export(team, gauges):  # noqa: F811
    page = query_page(team, gauges, "eddie")
    build(page)
    page.set_name("High levels")

    result = asyncio.run(ConnectorQueryState.run_import.fn(page))

    [info] = datasources.list_data_sources(team.user("vera"), team.alpha.id)
    assert redirects(result) == [f"/projects/{team.alpha.id}/data/{info.id}"]
    assert toasts(result) == [("success", "Imported 2 rows into “High levels” (version 1).")]
    assert (info.kind, info.rows, page.importing) == ("query", 2, False)

    source = source_page(team, info, "eddie")
    settle(source.load_connector())
    assert source.is_query and source.can_edit
    assert "WHERE readings.level_m > ? AND readings.flag != ?" in source.recorded_sql
    assert source.recorded_connection == "Gauges file"
    assert source.export_connections == [{"id": str(gauges.id), "name": "Gauges file (SQLite)"}]

    db = sqlite3.connect(get_settings().sqlite_dir / "gauges.db")
    with db:
        db.execute("INSERT INTO readings VALUES ('NEW', '2024-01-02 00:00', 9.0, 'ok')")
    db.close()
    result = asyncio.run(ConnectorSourceState.refresh.fn(source))
    assert toasts(result) == [("success", "Refreshed: version 2 holds 3 rows.")]
    assert (source.refreshing, source.refresh_error) == (False, "")
    frame = pd.read_parquet(datasources.version_file(team.user("vera"), team.alpha.id, info.id).path)
    assert frame["station"].tolist() == ["NEW", "KOB", "MAX"]

    source.set_export_table("high_copy")
    source.set_export_mode("create")
    result = asyncio.run(ConnectorSourceState.run_export.fn(source))
    assert toasts(result) == [("success", "Created table high_copy: 3 rows written.")]
    result = asyncio.run(ConnectorSourceState.run_export.fn(source))  # again: a conflict, said clearly
    assert result is None
    assert source.export_error == "A table named high_copy already exists: choose replace or append."
    source.set_export_mode("append")
    asyncio.run(ConnectorSourceState.run_export.fn(source))
    db = sqlite3.connect(get_settings().sqlite_dir / "gauges.db")
    assert db.execute("SELECT count(*) FROM high_copy").fetchone() == (6,)
    db.close()


def test_a_viewer_cannot_import_refresh_or_export(team, gauges):  # noqa: F811
    page = query_page(team, gauges, "vera")
    build(page)
    assert page.can_edit is False
    page.set_name("Mine")
    asyncio.run(ConnectorQueryState.run_import.fn(page))
    assert page.error == "Only editors and owners can import data. Your role is viewer."
    assert datasources.list_data_sources(team.user("alice"), team.alpha.id) == []

    editor = query_page(team, gauges, "eddie")
    build(editor)
    editor.set_name("High")
    asyncio.run(ConnectorQueryState.run_import.fn(editor))
    [info] = datasources.list_data_sources(team.user("alice"), team.alpha.id)

    source = source_page(team, info, "vera")
    settle(source.load_connector())
    assert source.is_query and not source.can_edit and source.export_connections == []
    asyncio.run(ConnectorSourceState.refresh.fn(source))
    assert source.refresh_error == "Only editors and owners can refresh data. Your role is viewer."
    source.export_connection_id, source.export_table = str(gauges.id), "mine"
    asyncio.run(ConnectorSourceState.run_export.fn(source))
    assert source.export_error.startswith("Only editors and owners can ")
    assert datasources.get_data_source(team.user("alice"), team.alpha.id, info.id)[0].version == 1


def test_an_outsider_gets_project_not_found(team, gauges):  # noqa: F811
    page = query_page(team, gauges, "otto")
    result = settle(page.load())
    assert toasts(result) == [PROJECT_NOT_FOUND]
    assert redirects(result) == ["/projects"]
    assert (page.tables, page.connection_name) == ([], "")
    page.table = "readings"
    result = settle(page.preview())
    assert page.preview_rows == [] and page.error == "Project not found."
    page.name = "stolen"
    asyncio.run(ConnectorQueryState.run_import.fn(page))
    assert page.error == "Project not found."
    assert datasources.list_data_sources(team.user("alice"), team.alpha.id) == []
