"""The connector jobs facade (what the pages run): preview, import, refresh and export through a saved
connection, on a SQLite file in the SQLite folder and on the real PostgreSQL; roles and outsiders."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from hydroml.services import auth, datasources, projects
from hydroml.services.connectors import connections, jobs
from hydroml.services.errors import Forbidden, InvalidInput, NotFound
from hydroml.settings import get_settings

pytestmark = [pytest.mark.integration]

READINGS = [
    ("KOB", "2024-01-01 00:00", 2.5, None),
    ("KOB", "2024-01-01 01:00", 2.75, "est"),
    ("MAX", "2024-01-01 00:00", 1.25, None),
    ("MAX", "2024-01-01 01:00", 1.5, None),
    ("BON", "2024-01-01 00:00", 3.0, "x'; DROP TABLE readings; --"),
]
PROGRESS = []


@pytest.fixture(autouse=True)
def _env(app_db, cheap_password_hashing, monkeypatch, tmp_path):
    monkeypatch.setenv("HYDROML_FERNET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("HYDROML_SQLITE_DIR", str(tmp_path / "sqlite"))
    for name in ("HYDROML_CONNECTOR_ALLOW", "HYDROML_CONNECTOR_DENY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "sqlite").mkdir()
    yield
    connections.dispose_engines()


@pytest.fixture
def team():
    """'Gauges': olga owner, eddie editor, vera viewer; otto is an outsider."""
    users = {name: auth.register(name, "gauge-reading-7") for name in ("olga", "eddie", "vera", "otto")}
    project = projects.create_project(users["olga"], "Gauges")
    projects.add_member(users["olga"], project.id, "eddie", "editor")
    projects.add_member(users["olga"], project.id, "vera", "viewer")
    return users, project.id


def _fill(conn) -> None:
    conn.exec_driver_sql(
        "CREATE TABLE readings (station VARCHAR(8) NOT NULL, measured_at VARCHAR(20), level_m FLOAT, flag TEXT)"
    )
    conn.execute(
        sa.text("INSERT INTO readings VALUES (:s, :t, :l, :f)"),
        [dict(zip("stlf", row, strict=True)) for row in READINGS],
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def connection(request, team):
    users, project_id = team
    if request.param == "sqlite":
        path = get_settings().sqlite_dir / "gauges.db"
        sqlite3.connect(path).close()
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            _fill(conn)
        engine.dispose()
        info = connections.create_connection(
            users["olga"], project_id, name="Gauges file", kind="sqlite", database="gauges.db"
        )
        yield info
    else:
        url = request.getfixturevalue("fresh_pg_url")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            _fill(conn)
        engine.dispose()
        info = connections.create_connection(
            users["olga"],
            project_id,
            name="Gauges PG",
            kind="postgresql",
            host="127.0.0.1",
            port=5432,
            database=url.rsplit("/", 1)[1],
            username="postgres",
            password="Trust-Ignored-1",
        )
        yield info
        connections.dispose_engines()


SPEC = {
    "table": "readings",
    "columns": ["station", "level_m", "flag"],
    "where": {
        "combine": "all",
        "rules": [
            {"column": "level_m", "op": ">", "value": "1.3"},
            {"column": "flag", "op": "!=", "value": "x'; DROP TABLE readings; --"},
        ],
    },
    "order": [{"column": "level_m", "descending": True}],
    "limit": "10",
}


def _progress(stage: str, done: int, total: int | None) -> None:
    PROGRESS.append((stage, done, total))


def test_preview_shows_the_sql_with_bound_parameters(team, connection):
    users, project_id = team
    sql, params, rows = jobs.preview_query(users["vera"], project_id, connection.id, spec=SPEC)
    assert "DROP TABLE" not in sql
    assert "x'; DROP TABLE readings; --" in params.values()
    assert 1.3 in params.values() and "1.3" not in sql
    assert rows.columns == ["station", "level_m", "flag"]
    assert [r[0] for r in rows.rows] == ["KOB"]  # NULL flags do not match "!="; MAX 1.5 has NULL
    assert rows.truncated is False

    text, _, raw = jobs.preview_query(
        users["vera"], project_id, connection.id, sql="SELECT station FROM readings ORDER BY station"
    )
    assert [r[0] for r in raw.rows] == ["BON", "KOB", "KOB", "MAX", "MAX"]
    with pytest.raises(InvalidInput, match="Only queries that read"):
        jobs.preview_query(users["vera"], project_id, connection.id, sql="DELETE FROM readings")
    with pytest.raises(InvalidInput):
        jobs.preview_query(users["vera"], project_id, connection.id, spec={**SPEC, "table": "nope"})


def test_import_refresh_and_export_round_trip(team, connection):
    users, project_id = team
    PROGRESS.clear()
    info = jobs.run_import(
        users["eddie"], project_id, connection.id, spec=SPEC, name="High", progress=_progress
    )
    assert (info.kind, info.rows, info.version) == ("query", 1, 1)
    assert PROGRESS and PROGRESS[-1][0] == "Writing the data source"
    everything = jobs.run_import(
        users["eddie"], project_id, connection.id, sql="SELECT * FROM readings", name="All", progress=None
    )
    assert everything.rows == 5

    writer = connections.engine_for(users["olga"], project_id, connection.id, writable=True)
    with writer.begin() as conn:
        conn.exec_driver_sql("INSERT INTO readings VALUES ('NEW', '2024-01-02 00:00', 9.0, 'ok')")
    renewed = jobs.run_refresh(users["eddie"], project_id, info.id, _progress)
    assert (renewed.version, renewed.rows) == (2, 2)
    frame = pd.read_parquet(datasources.version_file(users["vera"], project_id, info.id).path)
    assert frame["station"].tolist() == ["NEW", "KOB"]

    result = jobs.run_export(
        users["eddie"], project_id, everything.id, connection.id, "copy", "create", _progress
    )
    assert (result.rows, result.mode) == (5, "create")
    with pytest.raises(InvalidInput, match="already exists"):
        jobs.run_export(users["eddie"], project_id, everything.id, connection.id, "copy", "create")
    assert (
        jobs.run_export(users["eddie"], project_id, everything.id, connection.id, "copy", "append").rows == 5
    )
    with writer.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM copy").scalar() == 10


def test_viewers_cannot_import_refresh_or_export_and_outsiders_see_nothing(team, connection):
    users, project_id = team
    info = jobs.run_import(users["olga"], project_id, connection.id, spec=SPEC, name="High")
    with pytest.raises(Forbidden):
        jobs.run_import(users["vera"], project_id, connection.id, spec=SPEC, name="Mine")
    with pytest.raises(Forbidden):
        jobs.run_refresh(users["vera"], project_id, info.id)
    with pytest.raises(Forbidden):
        jobs.run_export(users["vera"], project_id, info.id, connection.id, "copy", "create")
    for call in (
        lambda: jobs.preview_query(users["otto"], project_id, connection.id, spec=SPEC),
        lambda: jobs.run_import(users["otto"], project_id, connection.id, spec=SPEC, name="x"),
        lambda: jobs.run_refresh(users["otto"], project_id, info.id),
        lambda: jobs.run_export(users["otto"], project_id, info.id, connection.id, "copy", "create"),
    ):
        with pytest.raises(NotFound, match="Project not found."):
            call()


def test_refresh_of_a_file_data_source_is_refused(team, connection, tmp_path):
    users, project_id = team
    file = tmp_path / "f.csv"
    file.write_text("a,b\n1,2\n")
    staged = datasources.stage_upload(users["olga"], project_id, file.open("rb"), "f.csv")
    preview = datasources.preview_upload(users["olga"], project_id, staged.id)
    plain = datasources.import_upload(users["olga"], project_id, staged.id, preview.settings, "Plain")
    with pytest.raises(InvalidInput, match="not imported from a database query"):
        jobs.run_refresh(users["olga"], project_id, plain.id)
