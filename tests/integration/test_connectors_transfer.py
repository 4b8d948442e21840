"""Import a query into a data source, refresh it, export a data source to a table: round trips through the real
PostgreSQL and MariaDB on 127.0.0.1 and SQLite files (same values and types), chunked import with bounded
memory, export conflicts, and the project roles."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import tracemalloc
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psutil
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from hydroml.services import auth, datasources, demo_data, projects
from hydroml.services.connectors import transfer
from hydroml.services.connectors.readonly import QueryFailed, QueryTimeout
from hydroml.services.errors import Forbidden, InvalidInput, NotFound
from tests.conftest import create_pg_database, drop_pg_database, require_service

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_password_hashing")]

MARIADB_ADMIN_URL = "mysql+pymysql://root@127.0.0.1:3306/"
SECRET = "Not-For-Records-9"
META = {
    "connection_id": "3f1c7a52-0000-4000-8000-000000000001",
    "connection_name": "Agency DB",
    "password": SECRET,
}


@dataclass
class Target:
    name: str
    engine: sa.Engine  # read-write (export writes; imports run read-only anyway)
    reader: sa.Engine  # what imports use (SQLite: the file opened read-only)


def _mariadb_database() -> tuple[str, str]:
    require_service("MariaDB", "127.0.0.1", 3306)
    name = f"hml_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(MARIADB_ADMIN_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}`")
    admin.dispose()
    return name, f"{MARIADB_ADMIN_URL}{name}"


def _drop_mariadb(name: str) -> None:
    admin = sa.create_engine(MARIADB_ADMIN_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
    admin.dispose()


def _make_target(kind: str, request, tmp_path):
    if kind == "postgresql":
        admin = request.getfixturevalue("pg_admin_url")
        url = create_pg_database(admin)
        # trust authentication: the password is accepted and must never be recorded
        engine = sa.create_engine(url.replace("postgres@", f"postgres:{SECRET}@"))
        yield Target("postgresql", engine, engine)
        engine.dispose()
        drop_pg_database(admin, url)
    elif kind == "mariadb":
        name, url = _mariadb_database()
        engine = sa.create_engine(url)
        try:
            yield Target("mariadb", engine, engine)
        finally:
            engine.dispose()
            _drop_mariadb(name)
    else:
        path = tmp_path / "export.db"
        engine = sa.create_engine(f"sqlite:///{path}")
        reader = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        yield Target("sqlite", engine, reader)
        reader.dispose()
        engine.dispose()


@pytest.fixture(params=["postgresql", "mariadb", "sqlite"])
def target(request, tmp_path):
    yield from _make_target(request.param, request, tmp_path)


@pytest.fixture
def people(app_db):
    users = {name: auth.register(name, "gauge-reading-7") for name in ("olga", "eddie", "vera", "otto")}
    project = projects.create_project(users["olga"], "Gauges")
    projects.add_member(users["olga"], project.id, "eddie", "editor")
    projects.add_member(users["olga"], project.id, "vera", "viewer")
    return users, project


def _sample() -> pd.DataFrame:
    """Two stations over a stretch with gaps (NaN) in every measured column, plus an integer and a flag."""
    daily = demo_data.daily_hydrometeo()
    parts = []
    for station in ("ST01", "ST04"):
        rows = daily[daily["station_id"] == station].reset_index(drop=True)
        gap = int(rows["flow"].isna().idxmax())
        parts.append(rows.iloc[max(0, gap - 150) : gap + 150])
    frame = pd.concat(parts, ignore_index=True)
    frame.loc[3, "precip_mm"] = np.nan
    frame.loc[5, "air_temp_c"] = np.nan
    frame["day_of_year"] = frame["date"].dt.dayofyear.astype("int64")
    frame["frozen"] = frame["air_temp_c"] < 0
    return frame


def _read(user, project_id, data_source_id, version=None) -> pd.DataFrame:
    return pd.read_parquet(datasources.version_file(user, project_id, data_source_id, version).path)


def _assert_same(original: pd.DataFrame, back: pd.DataFrame) -> None:
    assert list(back.columns) == list(original.columns)
    assert len(back) == len(original)
    for name in original.columns:
        left, right = original[name], back[name]
        if pd.api.types.is_datetime64_any_dtype(left):
            assert pd.api.types.is_datetime64_any_dtype(right), name
            assert (left.astype("datetime64[us]") == right.astype("datetime64[us]")).all(), name
        elif pd.api.types.is_bool_dtype(left):
            assert pd.api.types.is_bool_dtype(right), (name, right.dtype)
            assert (left == right).all(), name
        elif pd.api.types.is_integer_dtype(left):
            assert pd.api.types.is_integer_dtype(right), (name, right.dtype)
            assert (left == right).all(), name
        elif pd.api.types.is_float_dtype(left):
            assert pd.api.types.is_float_dtype(right), (name, right.dtype)
            assert (left.isna() == right.isna()).all(), name
            assert np.allclose(left.dropna(), right.dropna()), name
        else:
            assert pd.api.types.is_string_dtype(right), (name, right.dtype)
            assert left.tolist() == right.tolist(), name


# ---------------------------------------------------------------- round trip


def test_export_then_import_gives_the_same_values_and_types(people, target):
    users, project = people
    frame = _sample()
    assert frame[["precip_mm", "air_temp_c", "flow"]].isna().any().all() and frame["frozen"].any()
    source = datasources.create_from_frame(users["eddie"], project.id, "Daily", frame)
    stages: list[tuple] = []
    exported = transfer.export_table(
        users["eddie"],
        project.id,
        source.id,
        target.engine,
        "daily_readings",
        "create",
        chunk_rows=150,
        progress=lambda *args: stages.append(args),
    )
    assert exported.rows == len(frame) and stages[-1] == ("Done", len(frame), len(frame))
    written = [s[1] for s in stages if s[0] == "Writing rows"]
    assert written == [min(n, len(frame)) for n in range(150, len(frame) + 150, 150)]

    # Without writing SQL: the builder spec, ordered like the original.
    spec = {"table": "daily_readings", "order": [{"column": "station_id"}, {"column": "date"}]}
    built = transfer.import_query(
        users["eddie"],
        project.id,
        target.reader,
        None,
        None,
        "Daily back",
        connection_meta=META,
        spec=spec,
        chunk_rows=250,
    )
    back = _read(users["vera"], project.id, built.id)
    if target.name == "sqlite":  # SQLite stores booleans as 0/1; the builder reads them back through the type
        assert back["frozen"].dtype == bool
    _assert_same(frame, back)
    assert built.kind == "query" and built.rows == len(frame)

    # Raw SQL: SQLite has no types in the result, so dates are recognised from their ISO text.
    raw = transfer.import_query(
        users["eddie"],
        project.id,
        target.reader,
        "SELECT * FROM daily_readings ORDER BY station_id, date",
        None,
        "Daily raw",
        connection_meta=META,
        chunk_rows=100,
    )
    raw_back = _read(users["vera"], project.id, raw.id)
    if target.name == "sqlite":
        raw_back["frozen"] = raw_back["frozen"].astype(bool)  # 0/1 without a declared type in the result
    _assert_same(frame, raw_back)
    _, versions = datasources.get_data_source(users["vera"], project.id, raw.id)
    settings = versions[0].import_settings
    assert settings["connection_id"] == META["connection_id"] and settings["connection_name"] == "Agency DB"
    assert settings["dialect"] == target.engine.dialect.name and settings["sql"].startswith("SELECT *")
    assert "password" not in settings and SECRET not in json.dumps(settings)
    assert versions[0].columns_spec[0] == {"name": "date", "dtype": "datetime"}


@pytest.mark.parametrize("target", ["postgresql"], indirect=True)
def test_time_zones_and_exotic_types_from_postgresql(people, target):
    users, project = people
    with target.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE odd AS SELECT g AS id, timestamptz '2024-03-01 12:00+02' + g * interval '1 day' AS at, "
            "12.345::numeric(10,3) * g AS amount, gen_random_uuid() AS uid, '{\"a\": 1}'::jsonb AS doc, "
            "time '10:30' AS t, interval '90 minutes' AS span, NULL::integer AS nothing, NULL AS untyped "
            "FROM generate_series(1, 5) g"
        )
    tables = {}
    for arrow_native in (True, False):  # COPY into Arrow, and the row path: the same types and values
        info = transfer.import_query(
            users["eddie"],
            project.id,
            target.reader,
            "SELECT * FROM odd ORDER BY id",
            None,
            f"Odd {arrow_native}",
            connection_meta=META,
            arrow_native=arrow_native,
        )
        table = pq.read_table(datasources.version_file(users["eddie"], project.id, info.id).path)
        types = {field.name: str(field.type) for field in table.schema}
        assert types == {
            "id": "int64",
            "at": "timestamp[us, tz=UTC]",
            "amount": "double",
            "uid": "string",
            "doc": "string",
            "t": "string",
            "span": "string",
            "nothing": "int64",
            "untyped": "string",
        }
        first = table.slice(0, 1).to_pylist()[0]
        assert first["at"] == dt.datetime(2024, 3, 2, 10, 0, tzinfo=dt.UTC)
        assert first["amount"] == pytest.approx(12.345) and json.loads(first["doc"]) == {"a": 1}
        assert first["t"] == "10:30:00" and first["nothing"] is None and first["untyped"] is None
        tables[arrow_native] = table
    same = ["id", "at", "amount", "uid", "doc", "t", "nothing", "untyped"]
    assert tables[True].select(same).equals(tables[False].select(same))
    # ...and an aware datetime is exported as timestamptz and comes back the same.
    transfer.export_table(users["eddie"], project.id, info.id, target.engine, "odd_copy", "create")
    again = transfer.import_query(
        users["eddie"],
        project.id,
        target.reader,
        "SELECT at FROM odd_copy ORDER BY at",
        None,
        "Again",
        connection_meta=META,
    )
    back = pq.read_table(datasources.version_file(users["eddie"], project.id, again.id).path)
    assert back.column("at").to_pylist() == table.column("at").to_pylist()


@pytest.mark.parametrize("target", ["postgresql"], indirect=True)
def test_values_arrow_cannot_parse_fall_back_to_the_row_path(people, target, monkeypatch):
    users, project = people
    database = target.engine.url.database
    with target.engine.begin() as conn:  # before 1892 Amsterdam's offset has seconds (+00:19:32)
        conn.exec_driver_sql(f"ALTER DATABASE \"{database}\" SET TimeZone = 'Europe/Amsterdam'")
        conn.exec_driver_sql(
            "CREATE TABLE old_times AS SELECT timestamptz '1850-01-01 00:00:00+00' AS at, 'old' AS s "
            "UNION ALL SELECT timestamptz '2024-06-01 12:00:00+00', '' "
            "UNION ALL SELECT timestamptz '2024-06-02 12:00:00+00', 'a,\"b\"\nc' "
            "UNION ALL SELECT timestamptz '2024-06-03 12:00:00+00', NULL"
        )
    target.engine.dispose()
    paths: list[str] = []
    rows_path = transfer._stream_rows
    monkeypatch.setattr(transfer, "_stream_rows", lambda *a: paths.append("rows") or rows_path(*a))
    info = transfer.import_query(
        users["eddie"],
        project.id,
        target.reader,
        "SELECT at, s FROM old_times ORDER BY at",
        None,
        "Old",
        connection_meta=META,
    )
    table = pq.read_table(datasources.version_file(users["eddie"], project.id, info.id).path)
    assert paths == ["rows"]
    assert table.column("at").to_pylist()[:2] == [
        dt.datetime(1850, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC),
    ]
    assert table.column("s").to_pylist() == ["old", "", 'a,"b"\nc', None]
    paths.clear()
    recent = transfer.import_query(
        users["eddie"],
        project.id,
        target.reader,
        "SELECT at, s FROM old_times WHERE at > '1900-01-01' ORDER BY at",
        None,
        "Recent",
        connection_meta=META,
    )
    assert paths == []  # COPY handled it: quotes, commas, newlines and empty text vs NULL
    table = pq.read_table(datasources.version_file(users["eddie"], project.id, recent.id).path)
    assert table.column("s").to_pylist() == ["", 'a,"b"\nc', None]
    assert table.column("at").to_pylist()[0] == dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC)


# ---------------------------------------------------------------- refresh


def test_refresh_creates_a_new_version_with_the_new_rows(people, target):
    users, project = people
    frame = _sample().iloc[:40]
    source = datasources.create_from_frame(users["eddie"], project.id, "Daily", frame)
    transfer.export_table(users["eddie"], project.id, source.id, target.engine, "daily", "create")
    sql = "SELECT date, station_id, flow FROM daily WHERE station_id = :station ORDER BY date"
    info = transfer.import_query(
        users["eddie"],
        project.id,
        target.reader,
        sql,
        {"station": "ST01"},
        "ST01 flows",
        connection_meta=META,
    )
    assert (info.version, info.rows) == (1, 40)
    with target.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO daily (date, station_id, flow) VALUES (:d, :s, :f)"),
            [
                {"d": dt.datetime(2030, 1, 1), "s": "ST01", "f": 1.0},
                {"d": dt.datetime(2030, 1, 2), "s": "ST01", "f": None},
                {"d": dt.datetime(2030, 1, 3), "s": "ST02", "f": 2.0},
            ],
        )
    recorded = transfer.recorded_query(users["vera"], project.id, info.id)
    assert recorded["params"] == {"station": "ST01"} and recorded["connection_id"] == META["connection_id"]
    refreshed = transfer.refresh_query(users["eddie"], project.id, info.id, target.reader)
    assert (refreshed.version, refreshed.rows) == (2, 42)
    latest = _read(users["vera"], project.id, info.id)
    assert latest["date"].iloc[-1] == pd.Timestamp("2030-01-02") and pd.isna(latest["flow"].iloc[-1])
    assert len(_read(users["vera"], project.id, info.id, version=1)) == 40

    # A builder import refreshes from its spec.
    spec = {
        "table": "daily",
        "columns": ["date", "flow"],
        "where": {"rules": [{"column": "station_id", "op": "=", "value": "ST02"}]},
    }
    built = transfer.import_query(
        users["eddie"], project.id, target.reader, None, None, "ST02", connection_meta=META, spec=spec
    )
    assert built.rows == 1
    with target.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO daily (date, station_id, flow) VALUES ('2030-02-01', 'ST02', 3.5)"))
    again = transfer.refresh_query(users["eddie"], project.id, built.id, target.reader)
    assert (again.version, again.rows) == (2, 2)


def test_row_limit_and_empty_results(people, target):
    users, project = people
    frame = pd.DataFrame(
        {"n": range(50), "x": [0.5 * i for i in range(50)], "s": [f"r{i}" for i in range(50)]}
    )
    source = datasources.create_from_frame(users["eddie"], project.id, "Numbers", frame)
    transfer.export_table(users["eddie"], project.id, source.id, target.engine, "numbers", "create")
    top = transfer.import_query(
        users["eddie"],
        project.id,
        target.reader,
        "SELECT n, s FROM numbers ORDER BY n DESC",
        None,
        "Top",
        connection_meta=META,
        max_rows=5,
        chunk_rows=100,
    )
    assert _read(users["eddie"], project.id, top.id)["n"].tolist() == [49, 48, 47, 46, 45]
    assert transfer.recorded_query(users["eddie"], project.id, top.id)["max_rows"] == 5
    spec = {"table": "numbers", "order": [{"column": "x", "descending": True}], "limit": 100}
    built = transfer.import_query(
        users["eddie"],
        project.id,
        target.reader,
        None,
        None,
        "Built",
        connection_meta=META,
        spec=spec,
        max_rows=3,
    )
    assert _read(users["eddie"], project.id, built.id)["n"].tolist() == [49, 48, 47]
    empty = transfer.import_query(
        users["eddie"],
        project.id,
        target.reader,
        "SELECT n, x, s FROM numbers WHERE n < 0",
        None,
        "None",
        connection_meta=META,
    )
    assert (empty.rows, empty.columns) == (0, 3)
    assert len(_read(users["eddie"], project.id, empty.id)) == 0
    with pytest.raises(InvalidInput, match="one statement"):
        transfer.import_query(
            users["eddie"], project.id, target.reader, "SELECT 1; SELECT 2", None, "Two", connection_meta=META
        )


def test_only_query_data_sources_refresh(people, target):
    users, project = people
    source = datasources.create_from_frame(users["eddie"], project.id, "Upload", pd.DataFrame({"a": [1]}))
    with pytest.raises(InvalidInput, match="not imported from a database query"):
        transfer.refresh_query(users["eddie"], project.id, source.id, target.reader)


# ---------------------------------------------------------------- export modes


def test_export_modes_and_conflicts(people, target):
    users, project = people
    frame = pd.DataFrame(
        {"station": ["A", "B"], "flow": [1.5, np.nan], "when": pd.to_datetime(["2024-01-01", "2024-01-02"])}
    )
    source = datasources.create_from_frame(users["eddie"], project.id, "Small", frame)
    export = lambda mode, table="small", **kw: transfer.export_table(  # noqa: E731
        users["eddie"], project.id, source.id, target.engine, table, mode, **kw
    )

    def count(table="small") -> int:
        with target.engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()

    export("create")
    with pytest.raises(InvalidInput, match="A table named small already exists: choose replace or append."):
        export("create")
    export("append")
    assert count() == 4
    export("replace")
    assert count() == 2
    with pytest.raises(InvalidInput, match="no table named elsewhere to append to"):
        export("append", "elsewhere")
    with pytest.raises(InvalidInput, match="create, replace, append"):
        export("merge")

    with target.engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE gauges (station VARCHAR(10), level DOUBLE PRECISION NOT NULL, note TEXT)")
        )
    with pytest.raises(InvalidInput) as caught:
        export("append", "gauges")
    message = str(caught.value)
    assert "flow, when" in message and "level" in message and "station, level, note" in message
    assert count("gauges") == 0

    # A failure while filling leaves no table behind (create) and keeps the old one (replace).
    bad = pd.DataFrame({"x": [1.0, float("inf")]}) if target.name == "mariadb" else None
    if bad is not None:  # MariaDB refuses infinity
        failing = datasources.create_from_frame(users["eddie"], project.id, "Bad", bad)
        with pytest.raises(QueryFailed):
            transfer.export_table(users["eddie"], project.id, failing.id, target.engine, "small", "replace")
        assert count() == 2
        with target.engine.connect() as conn:
            leftovers = [t for t in sa.inspect(conn).get_table_names() if "__hml_" in t]
        assert leftovers == []


def test_export_names_are_quoted_not_pasted(people, target):
    users, project = people
    frame = pd.DataFrame({"flow; DROP TABLE victims; --": [1.0, 2.0], "it's": ["a", "b"]})
    source = datasources.create_from_frame(users["eddie"], project.id, "Odd names", frame)
    with target.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE victims (a INTEGER)"))
    name = 'odd"; DROP TABLE victims; --'
    transfer.export_table(users["eddie"], project.id, source.id, target.engine, name, "create")
    with target.engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
    assert "victims" in tables and name in tables
    with pytest.raises(InvalidInput, match="at most 63 characters"):
        transfer.export_table(users["eddie"], project.id, source.id, target.engine, "t" * 64, "create")


# ---------------------------------------------------------------- widening and limits


def test_types_widen_across_chunks(people, tmp_path):
    users, project = people
    path = tmp_path / "mixed.db"
    writer = sa.create_engine(f"sqlite:///{path}")
    with writer.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE mixed (n, late_float, late_text, empty_first, when_text, flag)")
        rows = [
            (
                i,
                i if i < 250 else i + 0.5,
                i if i < 350 else f"x{i}",
                None if i < 300 else "filled",
                f"2024-01-{1 + i % 28:02d} 06:00:00",
                i % 2,
            )
            for i in range(400)
        ]
        conn.exec_driver_sql("INSERT INTO mixed VALUES (?, ?, ?, ?, ?, ?)", rows)
    writer.dispose()
    reader = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    info = transfer.import_query(
        users["eddie"],
        project.id,
        reader,
        "SELECT * FROM mixed ORDER BY n",
        None,
        "Mixed",
        connection_meta=META,
        chunk_rows=100,
    )
    table = pq.read_table(datasources.version_file(users["eddie"], project.id, info.id).path)
    types = {field.name: str(field.type) for field in table.schema}
    assert types == {
        "n": "int64",
        "late_float": "double",
        "late_text": "string",
        "empty_first": "string",
        "when_text": "timestamp[us]",
        "flag": "int64",
    }
    assert (
        table.num_rows == 400
        and pq.ParquetFile(datasources.version_file(users["eddie"], project.id, info.id).path).num_row_groups
        == 4
    )
    assert table.column("late_float").to_pylist()[249:251] == [249.0, 250.5]
    assert table.column("late_text").to_pylist()[349:351] == ["349", "x350"]
    assert table.column("empty_first").null_count == 300
    limited = transfer.import_query(
        users["eddie"],
        project.id,
        reader,
        "SELECT n FROM mixed ORDER BY n DESC",
        None,
        "Top",
        connection_meta=META,
        max_rows=7,
        chunk_rows=100,
    )
    assert limited.rows == 7
    assert _read(users["eddie"], project.id, limited.id)["n"].tolist() == list(range(399, 392, -1))
    reader.dispose()


def test_an_import_is_stopped_at_its_time_limit(people, target):
    users, project = people
    slow = {
        "postgresql": "SELECT pg_sleep(4) AS x",
        "mariadb": "SELECT SLEEP(4) AS x",
        "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) AS x FROM c",
    }[target.name]
    with target.engine.begin() as conn:  # SQLite: the file must exist to be opened read-only
        conn.execute(sa.text("CREATE TABLE present (a INTEGER)"))
    for arrow_native in (True, False):
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            transfer.import_query(
                users["eddie"],
                project.id,
                target.reader,
                slow,
                None,
                "Slow",
                connection_meta=META,
                timeout_s=1,
                arrow_native=arrow_native,
            )
        assert time.monotonic() - started < 3
    assert datasources.list_data_sources(users["eddie"], project.id) == []


def test_a_failed_import_leaves_nothing_behind(people, tmp_path):
    users, project = people
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(QueryFailed, match="nowhere"):
        transfer.import_query(
            users["eddie"], project.id, engine, "SELECT * FROM nowhere", None, "Broken", connection_meta=META
        )
    assert datasources.list_data_sources(users["eddie"], project.id) == []
    folder = tmp_path / "data" / "datasources"
    assert not folder.exists() or not any(folder.iterdir())


# ---------------------------------------------------------------- memory


@pytest.mark.parametrize("target", ["postgresql"], indirect=True)
@pytest.mark.parametrize("arrow_native", [True, False], ids=["copy", "rows"])
def test_chunked_import_memory_is_bounded_by_the_chunk(people, target, arrow_native, tmp_path):
    users, project = people
    total, chunk = 300_000, 10_000
    with target.engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE big AS SELECT g AS id, 'station_' || (g % 50) AS station, g * 0.25 AS flow, "
                "timestamp '2000-01-01' + g * interval '1 minute' AS at, (g % 7 = 0) AS flag, "
                f"CASE WHEN g % 11 = 0 THEN NULL ELSE g % 1000 END AS level FROM generate_series(1, {total}) g"
            )
        )

    # Warm up once (imports, caches, allocator arenas), so what is measured below is the data itself.
    transfer.stream_to_parquet(
        target.reader,
        "SELECT * FROM big",
        None,
        tmp_path / "warm.parquet",
        chunk_rows=chunk,
        arrow_native=arrow_native,
    )
    process = psutil.Process()
    peak_rss = [0]
    streaming = threading.Event()
    streaming.set()
    finished = threading.Event()
    streamed_peak = [0]

    def sample() -> None:
        while not finished.wait(0.005):
            if streaming.is_set():
                peak_rss[0] = max(peak_rss[0], process.memory_info().rss)

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage == "Writing the data source":  # every row is in the Parquet file; profiling comes next
            streamed_peak[0] = tracemalloc.get_traced_memory()[1]
            streaming.clear()

    tracemalloc.start()
    try:
        # What holding the whole result as Python rows costs (what a non-streaming import would need).
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        with target.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM big")).fetchall()
        whole = tracemalloc.get_traced_memory()[1] - base
        del rows

        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        rss_before = process.memory_info().rss
        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        info = transfer.import_query(
            users["eddie"],
            project.id,
            target.reader,
            "SELECT * FROM big",
            None,
            "Big",
            connection_meta=META,
            chunk_rows=chunk,
            progress=progress,
            arrow_native=arrow_native,
        )
    finally:
        finished.set()
        tracemalloc.stop()
    assert info.rows == total
    path = datasources.version_file(users["eddie"], project.id, info.id).path
    groups = pq.ParquetFile(path).num_row_groups
    # Rows: one row group per chunk. COPY: one per CSV block (chunk_rows x 64 bytes, at least 1 MB).
    assert groups == total // chunk if not arrow_native else groups > 5
    # 30 chunks: the peak while streaming stays at a few chunks' worth, far below the whole result.
    per_chunk = whole * chunk / total
    assert whole > 50_000_000
    assert streamed_peak[0] - base < 4 * per_chunk, (streamed_peak[0] - base, per_chunk)
    assert peak_rss[0] - rss_before < 6 * per_chunk, (peak_rss[0] - rss_before, per_chunk)


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize("target", ["sqlite"], indirect=True)
def test_viewers_cannot_import_or_export_and_outsiders_see_nothing(people, target):
    users, project = people
    source = datasources.create_from_frame(users["eddie"], project.id, "Small", pd.DataFrame({"a": [1, 2]}))
    transfer.export_table(users["eddie"], project.id, source.id, target.engine, "small", "create")
    imported = transfer.import_query(
        users["eddie"], project.id, target.reader, "SELECT * FROM small", None, "Back", connection_meta=META
    )
    with pytest.raises(Forbidden, match="viewer"):
        transfer.import_query(
            users["vera"],
            project.id,
            target.reader,
            "SELECT * FROM small",
            None,
            "Mine",
            connection_meta=META,
        )
    with pytest.raises(Forbidden):
        transfer.export_table(users["vera"], project.id, source.id, target.engine, "mine", "create")
    with pytest.raises(Forbidden):
        transfer.refresh_query(users["vera"], project.id, imported.id, target.reader)
    assert transfer.recorded_query(users["vera"], project.id, imported.id)["sql"] == "SELECT * FROM small"
    for call in (
        lambda: transfer.import_query(
            users["otto"], project.id, target.reader, "SELECT * FROM small", None, "X", connection_meta=META
        ),
        lambda: transfer.export_table(users["otto"], project.id, source.id, target.engine, "x", "create"),
        lambda: transfer.refresh_query(users["otto"], project.id, imported.id, target.reader),
        lambda: transfer.recorded_query(users["otto"], project.id, imported.id),
    ):
        with pytest.raises(NotFound):
            call()
    other = projects.create_project(users["otto"], "Elsewhere")
    with pytest.raises(NotFound):  # a data source of another project, reached through one's own project
        transfer.export_table(users["otto"], other.id, source.id, target.engine, "x", "create")
    with target.engine.connect() as conn:
        assert sorted(sa.inspect(conn).get_table_names()) == ["small"]
