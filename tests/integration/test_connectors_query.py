"""The read-only connection, the visual query builder and the raw SQL guard against the real PostgreSQL and
MariaDB on 127.0.0.1 and SQLite files: injection payloads through every builder field, single read statements
only, statement timeouts, and driver errors in plain words without credentials."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from hydroml.services.connectors import query as q
from hydroml.services.connectors.readonly import (
    QueryFailed,
    QueryTimeout,
    explain_db_error,
    explained_errors,
    read_only,
)
from hydroml.services.errors import InvalidInput
from tests.conftest import create_pg_database, drop_pg_database, require_service

pytestmark = pytest.mark.integration

MARIADB_ADMIN_URL = "mysql+pymysql://root@127.0.0.1:3306/"
ROWS = 20


@dataclass
class Target:
    name: str  # postgresql | mariadb | sqlite
    engine: sa.Engine  # the one queries run on (SQLite: opened read-only)
    writer: sa.Engine  # for setting up and checking


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


def _readings(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "readings",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("station", sa.String(20)),
        sa.Column("flow", sa.Float),
        sa.Column("update_time", sa.DateTime),
        sa.Column("delete_flag", sa.Boolean),
        sa.Column("note", sa.Text),
    )


def _seed(engine: sa.Engine) -> None:
    metadata = sa.MetaData()
    table = _readings(metadata)
    metadata.create_all(engine)
    start = dt.datetime(2024, 1, 1)
    rows = [
        {
            "id": i,
            "station": f"ST{i % 4:02d}",
            "flow": round(1.5 * i, 2),
            "update_time": start + dt.timedelta(hours=i),
            "delete_flag": i % 5 == 0,
            "note": "it's; fine" if i == 3 else None,
        }
        for i in range(1, ROWS + 1)
    ]
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)


@pytest.fixture(params=["postgresql", "mariadb", "sqlite"])
def target(request, tmp_path):
    if request.param == "postgresql":
        admin = request.getfixturevalue("pg_admin_url")
        url = create_pg_database(admin)
        engine = sa.create_engine(url)
        _seed(engine)
        yield Target("postgresql", engine, engine)
        engine.dispose()
        drop_pg_database(admin, url)
    elif request.param == "mariadb":
        name, url = _mariadb_database()
        engine = sa.create_engine(url)
        try:
            _seed(engine)
            yield Target("mariadb", engine, engine)
        finally:
            engine.dispose()
            _drop_mariadb(name)
    else:
        path = tmp_path / "stations.db"
        writer = sa.create_engine(f"sqlite:///{path}")
        _seed(writer)
        reader = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        yield Target("sqlite", reader, writer)
        reader.dispose()
        writer.dispose()


def _count(target: Target) -> int:
    with target.writer.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM readings")).scalar_one()


def _run(target: Target, spec: dict) -> list[tuple]:
    return q.fetch_rows(target.engine, q.build_select(target.engine, spec), max_rows=1000).rows


# ---------------------------------------------------------------- builder


def test_builder_runs_groups_order_and_limit(target):
    spec = {
        "table": "readings",
        "columns": ["id", "station", "flow"],
        "where": {
            "combine": "all",
            "rules": [
                {"column": "flow", "op": ">=", "value": "6"},  # text from the form, bound as a number
                {
                    "combine": "any",
                    "rules": [
                        {"column": "station", "op": "in", "value": ["ST01", "ST02"]},
                        {"column": "note", "op": "contains", "value": "; fine"},
                    ],
                },
            ],
        },
        "order": [{"column": "flow", "descending": True}],
        "limit": 4,
    }
    rows = _run(target, spec)
    expected = sorted(
        (i for i in range(1, ROWS + 1) if 1.5 * i >= 6 and (i % 4 in (1, 2) or i == 3)), reverse=True
    )[:4]
    assert [row[0] for row in rows] == expected
    sql, params = q.compiled_sql(q.build_select(target.engine, spec), target.engine)
    assert "ST01" not in sql and "fine" not in sql and "ST01" in params.values()


def test_every_operator_on_every_database(target):
    def ids(op, value=None, column="flow"):
        rule = {"column": column, "op": op, "value": value}
        return {
            row[0]
            for row in _run(target, {"table": "readings", "columns": ["id"], "where": {"rules": [rule]}})
        }

    assert ids("=", 3.0) == {2}
    assert ids("!=", "ST00", "station") == {i for i in range(1, ROWS + 1) if i % 4}
    assert ids("<", 3) == {1}
    assert ids("<=", 3) == {1, 2}
    assert ids(">", 28.5) == {20}
    assert ids("between", [3, 6]) == {2, 3, 4}
    assert ids("not_in", ["ST00", "ST01", "ST02"], "station") == {3, 7, 11, 15, 19}
    assert ids("starts_with", "ST0", "station") == set(range(1, ROWS + 1))
    assert ids("contains", "%", "station") == set()  # wildcards are text, not patterns
    assert ids("is_null", column="note") == set(range(1, ROWS + 1)) - {3}
    assert ids("not_null", column="note") == {3}
    assert ids("=", True, "delete_flag") == {5, 10, 15, 20}
    assert ids(">=", "2024-01-01 19:00:00", "update_time") == {19, 20}
    assert ids("contains", "1", "id") == {1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}


def test_columns_named_like_keywords_are_ordinary_columns(target):
    spec = {"table": "readings", "columns": ["update_time", "delete_flag"], "order": [{"column": "id"}]}
    rows = _run(target, spec)
    assert len(rows) == ROWS and bool(rows[4][1]) is True
    raw = q.check_raw_sql("SELECT update_time, delete_flag FROM readings ORDER BY id", target.engine.dialect)
    assert len(q.fetch_rows(target.engine, raw).rows) == ROWS


PAYLOADS = [
    "x'; DROP TABLE readings; --",
    'x"; DROP TABLE readings; --',
    "x`; DROP TABLE readings; -- ",
    "x\\'; DROP TABLE readings; --",
    "1 OR 1=1",
    "') OR ('1'='1",
    "$$; DROP TABLE readings; $$",
    "]; DROP TABLE readings; --",
]


def test_injection_through_every_builder_field_changes_nothing(target):
    base = {"table": "readings", "columns": ["id"]}
    refused = [
        {**base, "table": "readings; DELETE FROM readings"},
        {**base, "table": 'readings"; DELETE FROM readings; --'},
        {**base, "table": "readings`; DELETE FROM readings; --"},
        {**base, "schema": "public; DROP TABLE readings"},
        {**base, "schema": 'main"; DROP TABLE readings; --'},
        {**base, "columns": ["flow; DROP TABLE x"]},
        {**base, "columns": ['id", (SELECT 1); DROP TABLE readings; --']},
        {**base, "order": [{"column": "flow; DROP TABLE readings", "descending": True}]},
        {**base, "where": {"rules": [{"column": "flow) OR 1=1 --", "op": "=", "value": 1}]}},
        {**base, "where": {"rules": [{"column": "flow", "op": "= 1 OR 1=1 --", "value": 1}]}},
        {**base, "where": {"rules": [{"column": "flow", "op": "=", "value": "1 OR 1=1"}]}},
        {
            **base,
            "where": {"rules": [{"column": "id", "op": "in", "value": ["1); DROP TABLE readings; --"]}]},
        },
        {**base, "limit": "10; DROP TABLE readings"},
    ]
    for spec in refused:
        with pytest.raises(InvalidInput) as caught:
            _run(target, spec)
        assert "DROP" not in caught.value.field
    for payload in PAYLOADS:
        for op in ("=", "!=", "contains", "starts_with", "in", "not_in"):
            value = [payload] if op in ("in", "not_in") else payload
            spec = {**base, "where": {"rules": [{"column": "station", "op": op, "value": value}]}}
            rows = _run(target, spec)
            assert len(rows) == (ROWS if op in ("!=", "not_in") else 0)
            sql, params = q.compiled_sql(q.build_select(target.engine, spec), target.engine)
            assert "DROP" not in sql and "1=1" not in sql
        between = {"rules": [{"column": "update_time", "op": "between", "value": [payload, payload]}]}
        with pytest.raises(InvalidInput, match="not a date and time"):
            _run(target, {**base, "where": between})
    note = _run(target, {**base, "where": {"rules": [{"column": "note", "op": "=", "value": "it's; fine"}]}})
    assert note == [(3,)]
    assert _count(target) == ROWS


def test_unknown_names_are_named_in_the_message(target):
    with pytest.raises(InvalidInput, match="no table or view named .nowhere.") as caught:
        q.build_select(target.engine, {"table": "nowhere"})
    assert caught.value.field == "table"
    with pytest.raises(InvalidInput, match="no columns named .speed., .depth.") as caught:
        q.build_select(target.engine, {"table": "readings", "columns": ["speed", "id", "depth"]})
    assert caught.value.field == "columns"
    with pytest.raises(InvalidInput, match="no column named .sped.") as caught:
        q.build_select(target.engine, {"table": "readings", "order": [{"column": "sped"}]})
    assert caught.value.field == "order"
    if target.name != "sqlite":
        with pytest.raises(InvalidInput, match="no schema named .elsewhere.") as caught:
            q.build_select(target.engine, {"schema": "elsewhere", "table": "readings"})
        assert caught.value.field == "schema"


# ---------------------------------------------------------------- raw SQL


def test_raw_sql_is_one_read_statement(target):
    dialect = target.engine.dialect
    for text in ("SELECT 1; DROP TABLE readings", "SELECT 1;\nSELECT 2;", "SELECT 'a'; DELETE FROM readings"):
        with pytest.raises(InvalidInput, match="one statement at a time"):
            q.check_raw_sql(text, dialect)
    for text in (
        "DELETE FROM readings",
        "UPDATE readings SET flow = 0",
        "DROP TABLE readings",
        "insert into x values (1)",
    ):
        with pytest.raises(InvalidInput, match="Only queries that read"):
            q.check_raw_sql(text, dialect)
    with pytest.raises(InvalidInput, match="Write a query"):
        q.check_raw_sql(" -- nothing\n;", dialect)
    text = "-- flows\nSELECT id, note FROM readings /* ; */ WHERE note = 'it''s; fine';"
    checked = q.check_raw_sql(text, dialect)
    assert checked.endswith("'it''s; fine'") and "--" not in checked
    assert q.fetch_rows(target.engine, checked).rows == [(3, "it's; fine")]
    assert _count(target) == ROWS


def test_raw_sql_parameters_are_bound(target):
    checked = q.check_raw_sql(
        "SELECT id FROM readings WHERE station = :station AND note IS NULL ORDER BY id", target.engine.dialect
    )
    assert q.bind_names(checked, target.engine.dialect) == ["station"]
    rows = q.fetch_rows(target.engine, checked, {"station": "ST01"}).rows
    assert [r[0] for r in rows] == [1, 5, 9, 13, 17]
    assert q.fetch_rows(target.engine, checked, {"station": "x'; DROP TABLE readings; --"}).rows == []
    with pytest.raises(InvalidInput, match=":station"):
        q.fetch_rows(target.engine, checked, {})
    literal = q.check_raw_sql(
        "SELECT 'a:b' AS t, '50%' AS p FROM readings WHERE id = 1", target.engine.dialect
    )
    assert q.fetch_rows(target.engine, literal).rows == [("a:b", "50%")]
    assert _count(target) == ROWS


def test_writes_fail_inside_the_read_only_transaction(target):
    statements = ["DELETE FROM readings", "UPDATE readings SET flow = 0", "CREATE TABLE intruder (a INT)"]
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError) as caught, read_only(target.engine) as conn:
            conn.execute(sa.text(statement))
        assert "read-only" in explain_db_error(caught.value)
    if target.name == "sqlite":  # query_only guards even a file opened read-write
        with pytest.raises(sa.exc.DBAPIError) as caught, read_only(target.writer) as conn:
            conn.execute(sa.text("DELETE FROM readings"))
        assert "read-only" in explain_db_error(caught.value)
    assert _count(target) == ROWS
    with target.writer.begin() as conn:  # the pooled connection is writable again afterwards
        conn.execute(sa.text("UPDATE readings SET note = 'ok' WHERE id = 1"))


def test_autocommit_engines_are_read_only_too(target):
    url = target.engine.url
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        for _ in range(2):  # and again on the same pooled connection
            with pytest.raises(sa.exc.DBAPIError) as caught, read_only(engine) as conn:
                conn.execute(sa.text("DELETE FROM readings"))
            assert "read-only" in explain_db_error(caught.value)
            with read_only(engine) as conn:
                assert conn.execute(sa.text("SELECT COUNT(*) FROM readings")).scalar_one() == ROWS
    finally:
        engine.dispose()
    assert _count(target) == ROWS


@pytest.mark.parametrize("target", ["postgresql"], indirect=True)  # data-modifying WITH is PostgreSQL syntax
def test_a_data_modifying_cte_fails_read_only_with_a_plain_message(target):
    checked = q.check_raw_sql(
        "WITH gone AS (DELETE FROM readings RETURNING *) SELECT * FROM gone", "postgresql"
    )
    with pytest.raises(QueryFailed, match="read-only"), explained_errors(), read_only(target.engine) as conn:
        q.execute(conn, checked)
    with pytest.raises(QueryFailed):  # wrapped in the row limit it is refused as well
        q.fetch_rows(target.engine, checked)
    assert _count(target) == ROWS


def test_limited_keeps_the_order_and_reports_truncation(target):
    checked = q.check_raw_sql("SELECT id FROM readings ORDER BY flow DESC", target.engine.dialect)
    result = q.fetch_rows(target.engine, checked, max_rows=3)
    assert [r[0] for r in result.rows] == [20, 19, 18] and result.truncated
    show = q.limited("SHOW TABLES", 5, target.engine.dialect)
    assert show == "SHOW TABLES"
    built = q.build_select(target.engine, {"table": "readings", "columns": ["id"], "limit": 2})
    assert len(q.fetch_rows(target.engine, built, max_rows=10).rows) == 2
    assert len(q.fetch_rows(target.engine, built, max_rows=1).rows) == 1


# ---------------------------------------------------------------- timeouts


def test_a_slow_query_is_stopped_at_the_timeout(target):
    slow = {
        "postgresql": "SELECT pg_sleep(5)",
        "mariadb": "SELECT SLEEP(5)",
        "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c",
    }[target.name]
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="1 seconds"):
        q.fetch_rows(target.engine, q.check_raw_sql(slow, target.engine.dialect), timeout_s=1)
    assert time.monotonic() - started < 2.5
    # The connection goes back to the pool without the limit or the read-only flag.
    with target.writer.begin() as conn:
        conn.execute(sa.text("UPDATE readings SET note = 'after' WHERE id = 2"))
        if target.name == "postgresql":
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "0"
        if target.name == "mariadb":
            assert conn.execute(sa.text("SELECT @@max_statement_time")).scalar() == 0


# ---------------------------------------------------------------- errors in plain words


def test_driver_errors_in_plain_words(target):
    def explained(sql: str) -> str:
        with pytest.raises(QueryFailed) as caught, explained_errors(), read_only(target.engine) as conn:
            conn.execute(sa.text(sql))
        return str(caught.value)

    assert "syntax error" in explained("SELEC id FROM readings")
    message = explained("SELECT id FROM readings WHERE")
    assert "syntax error" in message
    assert "nowhere" in explained("SELECT * FROM nowhere") and "does not exist" in explained(
        "SELECT * FROM nowhere"
    )
    assert "speed" in explained("SELECT speed FROM readings")
    if target.name == "postgresql":
        assert "at character 1" in explained("SELEC id FROM readings")


def test_errors_never_show_credentials():
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("MariaDB", "127.0.0.1", 3306)
    secret = "Sup3r-Secret-pw"
    cases = [
        f"postgresql+psycopg2://postgres:{secret}@127.0.0.1:5432/hml_missing_{uuid.uuid4().hex[:6]}",
        f"mysql+pymysql://root:{secret}@127.0.0.1:3306/",
        f"mysql+pymysql://hml_nobody:{secret}@127.0.0.1:3306/",
        f"postgresql+psycopg2://postgres:{secret}@127.0.0.1:1/postgres",
        f"mysql+pymysql://root:{secret}@127.0.0.1:1/",
    ]
    for url in cases:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect():
            pass
        engine.dispose()
        message = explain_db_error(caught.value, secrets=[secret])
        assert secret not in message and "127.0.0.1" not in message and "://" not in message
        assert "root" not in message and "hml_nobody" not in message, message
        assert message.endswith(".")


def test_timeout_values_are_validated():
    engine = sa.create_engine("sqlite://")
    with pytest.raises(ValueError), read_only(engine, 0):
        pass


@pytest.mark.parametrize(
    ("dialect", "text", "expected"),
    [
        (
            "postgresql",
            "SELECT $$;$$ AS a, $tag$ ; DROP $tag$ AS b",
            "SELECT $$;$$ AS a, $tag$ ; DROP $tag$ AS b",
        ),
        ("postgresql", "SELECT E'it\\'s; DROP TABLE x' AS a", "SELECT E'it\\'s; DROP TABLE x' AS a"),
        ("postgresql", "SELECT 1 /* outer /* inner; */ still comment; */", "SELECT 1"),
        ("postgresql", 'SELECT "odd;name" FROM t', 'SELECT "odd;name" FROM t'),
        ("postgresql", "SELECT a::date, b # c FROM t", "SELECT a::date, b # c FROM t"),
        ("mysql", "SELECT 'it\\'s fine' # comment; DROP\n", "SELECT 'it\\'s fine'"),
        ("mysql", "SELECT `odd;name` FROM t -- ; DROP\n", "SELECT `odd;name` FROM t"),
        ("mysql", "SELECT 1--1", "SELECT 1--1"),
        ("sqlite", "SELECT [odd;name] FROM t;", "SELECT [odd;name] FROM t"),
        (None, "(SELECT 1) UNION (SELECT 2)", "(SELECT 1) UNION (SELECT 2)"),
        (None, "with x as (select 1) select * from x", "with x as (select 1) select * from x"),
    ],
)
def test_raw_sql_quotes_and_comments_per_dialect(dialect, text, expected):
    assert q.check_raw_sql(text, dialect) == expected


@pytest.mark.parametrize(
    ("dialect", "text", "message"),
    [
        ("postgresql", "SELECT 'a\\'; DROP TABLE x; --'", "one statement"),  # no backslash escapes in '...'
        ("mysql", "SELECT 'a\\'; DROP TABLE x; --'", "one statement"),  # NO_BACKSLASH_ESCAPES reading
        ("mysql", "SELECT * FROM t INTO OUTFILE '/tmp/x'", "cannot write files"),
        ("mysql", "select * from t into dumpfile '/tmp/x'", "cannot write files"),
        ("postgresql", "COPY t TO '/tmp/x'", "starts with COPY"),
        ("postgresql", "CALL purge()", "starts with CALL"),
        ("sqlite", "ATTACH DATABASE 'x.db' AS x", "starts with ATTACH"),
        ("sqlite", "PRAGMA writable_schema = 1", "starts with PRAGMA"),
        (None, "", "Write a query"),
    ],
)
def test_raw_sql_refusals_per_dialect(dialect, text, message):
    with pytest.raises(InvalidInput, match=message):
        q.check_raw_sql(text, dialect)
