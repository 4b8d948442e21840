"""Database connections against the real PostgreSQL and MariaDB on 127.0.0.1, and SQLite files: create, list,
test, browse, preview; failures in plain words; the policy at save and at use; roles.

The app itself runs on a fresh SQLite database per test (`app_db`), except where the app's own PostgreSQL
database must be refused. No password used here may appear in any message or log record.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
import uuid

import pymysql
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlmodel import select

from hydroml.db import session_scope
from hydroml.models import DatabaseConnection
from hydroml.services import auth, projects
from hydroml.services.connectors import connections, schema, secrets
from hydroml.services.errors import Forbidden, InvalidInput, NotFound, ServiceError
from hydroml.settings import get_settings
from tests.conftest import require_service
from tests.integration.test_migrations import _upgrade_to_head

pytestmark = pytest.mark.integration

PASSWORD = "river-flow-42"  # app accounts
MARIA_PASSWORD = "Maria-Pw-5d1c"
WRONG_PASSWORD = "Wrong-Pw-88aa"
PG_PASSWORD = "Pg-Pw-3b7e"  # trust authentication: accepted and ignored, but must not leak either
SECRETS = (MARIA_PASSWORD, WRONG_PASSWORD, PG_PASSWORD)

READINGS = [
    ("BAS", "2024-01-01 00:00:00+00", 1.25, "ok"),
    ("BAS", "2024-01-01 01:00:00+00", 1.5, None),
    ("KOB", "2024-01-01 00:00:00+00", 2.75, "ok"),
]


@pytest.fixture(autouse=True)
def _env(app_db, cheap_password_hashing, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("HYDROML_FERNET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("HYDROML_SQLITE_DIR", str(tmp_path / "sqlite"))
    for name in ("HYDROML_CONNECTOR_ALLOW", "HYDROML_CONNECTOR_DENY", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "sqlite").mkdir()
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.Logger.manager.loggerDict.items()):  # Alembic's fileConfig disables some
        if name.startswith(("hydroml", "sqlalchemy")) and isinstance(logger, logging.Logger):
            monkeypatch.setattr(logger, "disabled", False)
    yield
    connections.dispose_engines()
    for phase in ("setup", "call"):
        for record in caplog.get_records(phase):
            text = record.getMessage()
            leaked = [secret for secret in SECRETS if secret in text]
            assert not leaked, f"a password reached the log: {record.name}: {text[:200]}"


@pytest.fixture
def team():
    """'Rhine gauges': alice owner, bob editor, carol viewer; dave has his own project."""
    alice, bob, carol, dave = (auth.register(n, PASSWORD) for n in ("alice", "bob", "carol", "dave"))
    rhine = projects.create_project(alice, "Rhine gauges")
    projects.add_member(alice, rhine.id, "bob", "editor")
    projects.add_member(alice, rhine.id, "carol", "viewer")
    elbe = projects.create_project(dave, "Elbe")
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "rhine": rhine.id, "elbe": elbe.id}


# ------------------------------------------------------------------------------------------- targets


@pytest.fixture
def pg_target(fresh_pg_url) -> str:
    """A PostgreSQL database with station readings (a table, analyzed) and a view; returns its name."""
    engine = sa.create_engine(fresh_pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE station_readings (station varchar(8) NOT NULL, measured_at timestamptz NOT NULL, "
            "level_m double precision, flag text)"
        )
        conn.execute(
            sa.text("INSERT INTO station_readings VALUES (:s, :t, :l, :f)"),
            [dict(zip("stlf", row, strict=True)) for row in READINGS],
        )
        conn.exec_driver_sql(
            "CREATE VIEW latest_levels AS SELECT station, max(level_m) AS level_m FROM station_readings "
            "GROUP BY station"
        )
        conn.exec_driver_sql("ANALYZE station_readings")
    engine.dispose()
    return fresh_pg_url.rsplit("/", 1)[1]


def _maria_root() -> pymysql.Connection:
    return pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)


@pytest.fixture
def maria():
    """A MariaDB database hml_test_<random> with station readings, and a user that may read it."""
    require_service("MariaDB", "127.0.0.1", 3306)
    suffix = uuid.uuid4().hex[:10]
    database, user = f"hml_test_{suffix}", f"hml_x_{suffix}"
    root = _maria_root()  # plain PyMySQL: nothing here goes through a logger
    with root.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}`")
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (MARIA_PASSWORD,))
        cur.execute(f"GRANT SELECT, SHOW VIEW ON `{database}`.* TO '{user}'@'%'")
        cur.execute(
            f"CREATE TABLE `{database}`.station_readings (station VARCHAR(8) NOT NULL, measured_at DATETIME NOT "
            "NULL, level_m DOUBLE, flag TEXT) ENGINE=InnoDB"
        )
        cur.executemany(
            f"INSERT INTO `{database}`.station_readings VALUES (%s, %s, %s, %s)",
            [(s, t[:19], level, f) for s, t, level, f in READINGS],
        )
        cur.execute(
            f"CREATE VIEW `{database}`.latest_levels AS SELECT station, max(level_m) AS level_m "
            f"FROM `{database}`.station_readings GROUP BY station"
        )
        cur.execute(f"ANALYZE TABLE `{database}`.station_readings")
    yield {"database": database, "username": user}
    with root.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
    root.close()


@pytest.fixture
def sqlite_file() -> str:
    """gauges/readings.db in the SQLite folder; returns the path relative to the folder."""
    path = get_settings().sqlite_dir / "gauges" / "readings.db"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE station_readings (station TEXT NOT NULL, measured_at TEXT NOT NULL, level_m REAL, flag TEXT)"
        )
        db.executemany("INSERT INTO station_readings VALUES (?, ?, ?, ?)", READINGS)
        db.execute(
            "CREATE VIEW latest_levels AS SELECT station, max(level_m) AS level_m FROM station_readings "
            "GROUP BY station"
        )
    db.close()
    return "gauges/readings.db"


def add_pg(team, database: str, name: str = "Gauges PG", actor: str = "alice", **fields):
    values = {"host": "127.0.0.1", "port": 5432, "username": "postgres", "password": PG_PASSWORD} | fields
    return connections.create_connection(
        team[actor], team["rhine"], name=name, kind="postgresql", database=database, **values
    )


def add_maria(team, maria, name: str = "Gauges MariaDB", **fields):
    values = {"host": "127.0.0.1", "port": 3306, "password": MARIA_PASSWORD} | maria | fields
    return connections.create_connection(team["alice"], team["rhine"], name=name, kind="mysql", **values)


def assert_browsable(team, connection_id, schema_name, *, actor="carol", exact_rows=True):
    """The station readings are visible through the schema browser, for a viewer too."""
    who, rhine = team[actor], team["rhine"]
    assert schema_name in schema.list_schemas(who, rhine, connection_id)
    tables = {t.name: t for t in schema.list_tables(who, rhine, connection_id, schema_name)}
    assert tables["station_readings"].kind == "table"
    assert tables["station_readings"].estimated_rows == 3 or not exact_rows
    assert tables["latest_levels"] == schema.TableInfo("latest_levels", "view", None)

    columns = schema.list_columns(who, rhine, connection_id, "station_readings", schema_name)
    assert [c.name for c in columns] == ["station", "measured_at", "level_m", "flag"]
    assert [c.nullable for c in columns] == [False, False, True, True]
    assert all(c.type for c in columns)

    names, rows = schema.preview(who, rhine, connection_id, "station_readings", schema_name, rows=2)
    assert names == ["station", "measured_at", "level_m", "flag"]
    assert len(rows) == 2 and all(isinstance(cell, str) for row in rows for cell in row)
    assert rows[0][0] == "BAS" and rows[0][2] == "1.25" and rows[1][3] == ""
    return columns, rows


# ------------------------------------------------------------------------------------------ PostgreSQL


def test_postgresql_connection_create_list_test_browse_preview(team, pg_target):
    info = add_pg(team, pg_target)
    assert (info.kind, info.host, info.port, info.database, info.username) == (
        "postgresql",
        "127.0.0.1",
        5432,
        pg_target,
        "postgres",
    )
    assert info.has_password and info.last_tested_at is None

    listed = connections.list_connections(team["carol"], team["rhine"])
    assert [c.id for c in listed] == [info.id]

    result = connections.test_connection(team["carol"], team["rhine"], info.id)
    assert result.ok, result.message
    assert result.server_version.split(".")[0].isdigit()
    assert result.server_version in result.message
    tested = connections.get_connection(team["carol"], team["rhine"], info.id)
    assert tested.last_test_ok is True and tested.last_tested_at is not None
    assert tested.updated_at == info.updated_at  # testing is not an edit

    columns, rows = assert_browsable(team, info.id, "public")
    assert [c.type for c in columns][2] == "DOUBLE PRECISION"
    assert rows[0][1].startswith("2024-01-01 00:00:00")
    assert schema.list_tables(team["carol"], team["rhine"], info.id) == schema.list_tables(
        team["carol"], team["rhine"], info.id, "public"
    )


def test_postgresql_failures_name_the_reason(team, pg_target):
    refused = add_pg(team, pg_target, name="Wrong port", port=1)
    missing = add_pg(team, "hydroml_no_such_database", name="Missing")
    tls = add_pg(team, pg_target, name="TLS", options={"sslmode": "require"})  # the local server has no TLS
    who, rhine = team["alice"], team["rhine"]

    result = connections.test_connection(who, rhine, refused.id, timeout_s=2)
    assert (
        not result.ok and result.message.startswith("Connection refused") and "127.0.0.1:1" in result.message
    )
    assert connections.get_connection(who, rhine, refused.id).last_test_ok is False

    result = connections.test_connection(who, rhine, missing.id)
    assert result.message == "The database 'hydroml_no_such_database' does not exist on 127.0.0.1:5432."

    result = connections.test_connection(who, rhine, tls.id)
    assert not result.ok and "TLS is required" in result.message

    with pytest.raises(ServiceError, match="Connection refused"):
        schema.list_tables(who, rhine, refused.id)


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_server_that_never_answers_times_out(team, kind):
    silent = socket.socket()  # accepts TCP connections (the kernel's backlog) and never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        info = connections.create_connection(
            team["alice"],
            team["rhine"],
            name="Silent",
            kind=kind,
            host="127.0.0.1",
            port=silent.getsockname()[1],
            database="gauges",
            username="reader",
            password=PG_PASSWORD,
        )
        started = time.monotonic()
        result = connections.test_connection(team["carol"], team["rhine"], info.id, timeout_s=1)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert not result.ok and result.message.startswith("Timed out after")
    assert elapsed < 5


def test_the_apps_own_database_is_refused_on_postgresql(fresh_pg_url, monkeypatch, tmp_path):
    _upgrade_to_head(fresh_pg_url)
    monkeypatch.setenv("REFLEX_DB_URL", fresh_pg_url)
    alice = auth.register("alice", PASSWORD)
    rhine = projects.create_project(alice, "Rhine")
    own = fresh_pg_url.rsplit("/", 1)[1]
    for host in ("127.0.0.1", "localhost", "::1"):
        with pytest.raises(InvalidInput, match="HydroML's own database") as error:
            connections.create_connection(
                alice,
                rhine.id,
                name=f"Own {host}",
                kind="postgresql",
                host=host,
                port=5432,
                database=own,
                username="postgres",
                password=PG_PASSWORD,
            )
        assert error.value.field == "database"
    # Another database on the same server is fine.
    other = connections.create_connection(
        alice,
        rhine.id,
        name="Admin db",
        kind="postgresql",
        host="localhost",
        database="postgres",
        username="postgres",
    )
    assert connections.test_connection(alice, rhine.id, other.id).ok
    # Pointing an existing connection at the app's database is refused as well.
    with pytest.raises(InvalidInput, match="own database"):
        connections.update_connection(alice, rhine.id, other.id, database=own)


def test_the_policy_is_checked_again_when_a_connection_is_used(team, pg_target, monkeypatch):
    info = add_pg(team, pg_target)
    engine = connections.engine_for(team["carol"], team["rhine"], info.id)
    assert connections.engine_for(team["carol"], team["rhine"], info.id) is engine  # cached

    monkeypatch.setenv("HYDROML_CONNECTOR_DENY", "127.0.0.0/8")
    with pytest.raises(InvalidInput, match="not allowed") as error:
        connections.engine_for(team["carol"], team["rhine"], info.id)
    assert error.value.field == "host"
    result = connections.test_connection(team["carol"], team["rhine"], info.id)
    assert not result.ok and "HYDROML_CONNECTOR_DENY" in result.message
    with pytest.raises(InvalidInput):
        schema.list_schemas(team["carol"], team["rhine"], info.id)

    monkeypatch.setenv("HYDROML_CONNECTOR_DENY", "")
    monkeypatch.setenv("HYDROML_CONNECTOR_ALLOW", "db.example.org")
    with pytest.raises(InvalidInput, match="HYDROML_CONNECTOR_ALLOW"):
        add_pg(team, pg_target, name="Second")
    monkeypatch.setenv("HYDROML_CONNECTOR_ALLOW", "127.0.0.1/32, ::1")
    assert connections.test_connection(team["carol"], team["rhine"], info.id).ok


# -------------------------------------------------------------------------------------------- MariaDB


def test_mariadb_connection_create_test_browse_preview_and_edit(team, maria):
    info = add_maria(team, maria)
    who, rhine = team["carol"], team["rhine"]
    result = connections.test_connection(who, rhine, info.id)
    assert result.ok, result.message
    assert "MariaDB" in result.server_version

    with session_scope() as db:
        token = db.exec(select(DatabaseConnection.secret_encrypted)).one()
    assert MARIA_PASSWORD not in token and secrets.decrypt(token) == MARIA_PASSWORD

    columns, rows = assert_browsable(team, info.id, maria["database"], exact_rows=False)
    assert columns[0].type.startswith("VARCHAR(8)")
    assert rows[0][1] == "2024-01-01 00:00:00"
    assert (
        schema.preview(who, rhine, info.id, "station_readings")[1][:2] == rows
    )  # default: the connection's db

    # Editing without a password keeps the stored one; a new engine replaces the cached one.
    engine = connections.engine_for(who, rhine, info.id)
    renamed = connections.update_connection(team["bob"], rhine, info.id, name="Gauges (Maria)", password="")
    assert renamed.name == "Gauges (Maria)" and renamed.has_password and renamed.last_test_ok is None
    assert connections.engine_for(who, rhine, info.id) is not engine
    assert connections.test_connection(who, rhine, info.id).ok

    connections.update_connection(team["bob"], rhine, info.id, password=WRONG_PASSWORD)
    result = connections.test_connection(who, rhine, info.id)
    assert not result.ok
    assert result.message == "Authentication failed: the server refused the user name or password."
    with pytest.raises(ServiceError, match="Authentication failed") as error:
        schema.list_tables(who, rhine, info.id)
    assert WRONG_PASSWORD not in str(error.value)


def test_mariadb_failures_name_the_reason(team, maria):
    who, rhine = team["alice"], team["rhine"]
    wrong = add_maria(team, maria, name="Wrong password", password=WRONG_PASSWORD)
    missing = add_maria(team, maria, name="Missing", database="hml_no_such_database")
    refused = add_maria(team, maria, name="Refused", port=1)
    tls = add_maria(team, maria, name="TLS", options={"sslmode": "require"})  # the local server has no TLS

    messages = {}
    for info in (wrong, missing, refused, tls):
        result = connections.test_connection(who, rhine, info.id, timeout_s=3)
        assert not result.ok
        messages[info.name] = result.message
    assert messages["Wrong password"].startswith("Authentication failed")
    assert "does not exist" in messages["Missing"] or "may not use the database" in messages["Missing"]
    assert messages["Refused"].startswith("Connection refused")
    assert "TLS is required" in messages["TLS"]
    assert not any(secret in message for message in messages.values() for secret in SECRETS)


# --------------------------------------------------------------------------------------------- SQLite


def test_sqlite_connection_is_read_only_and_browsable(team, sqlite_file):
    info = connections.create_connection(
        team["bob"],
        team["rhine"],
        name="Local file",
        kind="sqlite",
        database="./gauges/../gauges/readings.db",
        password="ignored-for-sqlite",
    )
    assert (info.database, info.host, info.port, info.has_password) == ("gauges/readings.db", "", None, False)
    result = connections.test_connection(team["carol"], team["rhine"], info.id)
    assert result.ok and result.server_version.startswith("3.")

    assert_browsable(team, info.id, "main")

    engine = connections.engine_for(team["carol"], team["rhine"], info.id)
    with pytest.raises(sa.exc.OperationalError, match="readonly"), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM station_readings")
    with pytest.raises(Forbidden):
        connections.engine_for(team["carol"], team["rhine"], info.id, writable=True)
    writable = connections.engine_for(team["bob"], team["rhine"], info.id, writable=True)
    with writable.begin() as conn:
        conn.exec_driver_sql("INSERT INTO station_readings VALUES ('KOB', '2024-01-01 01:00', 3.0, NULL)")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM station_readings").scalar() == 4


def test_sqlite_paths_outside_the_folder_and_bad_files_are_refused(team, sqlite_file, tmp_path):
    folder = get_settings().sqlite_dir
    outside = tmp_path / "outside.db"
    sqlite3.connect(outside).close()
    (folder / "escape.db").symlink_to(outside)
    for path in ("../outside.db", str(outside), "escape.db", "gauges/missing.db"):
        with pytest.raises(InvalidInput) as error:
            connections.create_connection(
                team["alice"], team["rhine"], name="x", kind="sqlite", database=path
            )
        assert error.value.field == "database"

    (folder / "notes.db").write_text("not a database")
    notes = connections.create_connection(
        team["alice"], team["rhine"], name="Notes", kind="sqlite", database="notes.db"
    )
    assert connections.test_connection(team["alice"], team["rhine"], notes.id).message == (
        "This file is not a SQLite database."
    )
    (folder / "notes.db").unlink()
    assert "cannot be opened" in connections.test_connection(team["alice"], team["rhine"], notes.id).message

    # A file replaced by a symlink to the outside after saving is refused when used.
    (folder / "notes.db").symlink_to(outside)
    with pytest.raises(InvalidInput, match="inside the SQLite folder"):
        connections.engine_for(team["alice"], team["rhine"], notes.id)


def test_sqlite_tables_without_statistics_are_counted_with_a_cap(team, sqlite_file, monkeypatch):
    info = connections.create_connection(
        team["alice"], team["rhine"], name="F", kind="sqlite", database=sqlite_file
    )
    monkeypatch.setattr(schema, "COUNT_CAP", 2)
    tables = {t.name: t for t in schema.list_tables(team["alice"], team["rhine"], info.id)}
    assert tables["station_readings"].estimated_rows == 2

    path = get_settings().sqlite_dir / sqlite_file
    with sqlite3.connect(path) as db:
        db.execute("CREATE INDEX ix_station ON station_readings (station)")
        db.execute("ANALYZE")
    db.close()
    tables = {t.name: t for t in schema.list_tables(team["alice"], team["rhine"], info.id)}
    assert tables["station_readings"].estimated_rows == 3  # from sqlite_stat1


def test_postgresql_tables_never_analysed_are_counted_with_a_cap(team, pg_target, fresh_pg_url, monkeypatch):
    engine = sa.create_engine(fresh_pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE fresh_gauges AS SELECT generate_series(1, 5) AS gauge")
    engine.dispose()
    info = add_pg(team, pg_target)
    monkeypatch.setattr(schema, "COUNT_CAP", 4)
    tables = {t.name: t for t in schema.list_tables(team["alice"], team["rhine"], info.id)}
    assert tables["fresh_gauges"].estimated_rows == 4  # counted up to the cap; reltuples is still -1
    assert tables["station_readings"].estimated_rows == 3  # the planner's estimate after ANALYZE


# -------------------------------------------------------------------------------------- roles and names


def test_viewers_use_connections_but_cannot_manage_them(team, sqlite_file):
    info = connections.create_connection(
        team["alice"], team["rhine"], name="File", kind="sqlite", database=sqlite_file
    )
    carol, rhine = team["carol"], team["rhine"]
    with pytest.raises(Forbidden, match="Only editors and owners can add database connections"):
        connections.create_connection(carol, rhine, name="Mine", kind="sqlite", database=sqlite_file)
    with pytest.raises(Forbidden):
        connections.update_connection(carol, rhine, info.id, name="Renamed")
    with pytest.raises(Forbidden):
        connections.delete_connection(carol, rhine, info.id)

    assert connections.get_connection(carol, rhine, info.id).name == "File"
    assert connections.test_connection(carol, rhine, info.id).ok
    assert schema.preview(carol, rhine, info.id, "station_readings")[1]

    connections.delete_connection(team["bob"], rhine, info.id)  # editors may
    assert connections.list_connections(carol, rhine) == []


def test_outsiders_cannot_see_or_use_a_connection_by_id(team, sqlite_file):
    info = connections.create_connection(
        team["alice"], team["rhine"], name="File", kind="sqlite", database=sqlite_file
    )
    dave, rhine, elbe = team["dave"], team["rhine"], team["elbe"]
    calls = [
        lambda p: connections.list_connections(dave, p),
        lambda p: connections.get_connection(dave, p, info.id),
        lambda p: connections.test_connection(dave, p, info.id),
        lambda p: connections.engine_for(dave, p, info.id),
        lambda p: connections.update_connection(dave, p, info.id, name="Mine"),
        lambda p: connections.delete_connection(dave, p, info.id),
        lambda p: schema.list_tables(dave, p, info.id),
        lambda p: schema.preview(dave, p, info.id, "station_readings"),
    ]
    for call in calls:
        with pytest.raises(NotFound, match=r"^Project not found\.$"):
            call(rhine)
    for call in calls[1:]:  # through his own project: the connection is not there
        with pytest.raises(NotFound, match=r"^Connection not found\.$"):
            call(elbe)
    assert connections.get_connection(team["alice"], rhine, info.id).name == "File"


def test_names_are_unique_per_project_and_tables_must_exist(team, sqlite_file):
    alice, rhine = team["alice"], team["rhine"]
    info = connections.create_connection(alice, rhine, name="File", kind="sqlite", database=sqlite_file)
    with pytest.raises(InvalidInput, match="already has a connection named") as error:
        connections.create_connection(alice, rhine, name=" file ", kind="sqlite", database=sqlite_file)
    assert error.value.field == "name"
    connections.create_connection(
        team["dave"], team["elbe"], name="File", kind="sqlite", database=sqlite_file
    )

    with pytest.raises(NotFound, match="Table not found"):
        schema.preview(alice, rhine, info.id, 'station_readings"; DROP TABLE station_readings; --')
    with pytest.raises(NotFound, match="Table not found"):
        schema.list_columns(alice, rhine, info.id, "no_such_table")
    assert len(schema.preview(alice, rhine, info.id, "station_readings")[1]) == 3


def test_deleting_the_project_deletes_its_connections(team, sqlite_file):
    connections.create_connection(
        team["alice"], team["rhine"], name="File", kind="sqlite", database=sqlite_file
    )
    projects.delete_project(team["alice"], team["rhine"])
    with session_scope() as db:
        assert db.exec(select(DatabaseConnection)).all() == []
