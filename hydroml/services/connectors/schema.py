"""The schema browser: schemas, tables and views with estimated row counts, columns, a preview.

Any member of the project may browse (viewers too). Everything runs inside `readonly.read_only` (a read-only
transaction with a statement timeout); table and schema names are never pasted into SQL: they are bound
parameters, or identifiers SQLAlchemy quotes (``sa.Table(..., autoload_with=conn)``, ``sa.table``).

Estimated rows (``TableInfo.estimated_rows``, None when unknown and for views):
- PostgreSQL: ``pg_class.reltuples``, the planner's estimate, kept up to date by ANALYZE / autovacuum; a
  table never analysed yet is counted as SQLite's are (below).
- MySQL / MariaDB: ``information_schema.tables.table_rows`` (exact for MyISAM/Aria, an estimate for InnoDB).
- SQLite: ``sqlite_stat1`` when ANALYZE has been run; otherwise ``count(*)`` capped at `COUNT_CAP`
  (a table with more rows reports the cap), for at most `COUNTED_TABLES` tables per call.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from hydroml.services.auth import UserInfo
from hydroml.services.connectors import connections, readonly
from hydroml.services.errors import InvalidInput, NotFound, ServiceError

BROWSE_TIMEOUT_S = 30
PREVIEW_ROWS = 100
PREVIEW_MAX_ROWS = 1000
COUNT_CAP = 100_000
COUNTED_TABLES = 200
MAX_CELL_CHARS = 500
TABLE_NOT_FOUND = "Table not found."

_SYSTEM_SCHEMAS = {
    "postgresql": {"information_schema", "pg_catalog", "pg_toast"},
    "mysql": {"information_schema", "mysql", "performance_schema", "sys"},
    "sqlite": {"temp"},
}


@dataclass(frozen=True)
class TableInfo:
    name: str
    kind: str  # table | view
    estimated_rows: int | None


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str  # as the database names it, e.g. "DOUBLE PRECISION", "VARCHAR(20)"
    nullable: bool


@contextmanager
def _browse(
    actor: UserInfo, project_id: uuid.UUID | str, connection_id: uuid.UUID | str, timeout_s: float
) -> Iterator[sa.Connection]:
    """A read-only connection; connection failures and driver errors become ServiceErrors in plain words."""
    engine = connections.engine_for(actor, project_id, connection_id)
    try:
        with readonly.read_only(engine, timeout_s) as conn:
            yield conn
    except sa.exc.DBAPIError as exc:
        if readonly.is_timeout(exc):
            raise readonly.QueryTimeout(readonly.explain_db_error(exc)) from None
        if exc.statement is None:  # failed while connecting
            raise ServiceError(connections.describe_failure(exc, engine.url)) from None
        raise readonly.QueryFailed(
            readonly.explain_db_error(exc, secrets=connections.secrets_of(engine))
        ) from None


def _family(conn: sa.Connection) -> str:
    name = conn.dialect.name
    return "mysql" if name in ("mysql", "mariadb") else name


def _schema(schema: str | None) -> str | None:
    value = (schema or "").strip()
    return value or None


def _table_name(table: str) -> str:
    value = (table or "").strip()
    if not value:
        raise InvalidInput("table", "Choose a table.")
    return value


# -------------------------------------------------------------------------------------------- listings


def list_schemas(actor: UserInfo, project_id: uuid.UUID | str, connection_id: uuid.UUID | str) -> list[str]:
    """The schemas (MySQL: databases) the connection's user can see, without the system ones."""
    with _browse(actor, project_id, connection_id, BROWSE_TIMEOUT_S) as conn:
        hidden = _SYSTEM_SCHEMAS.get(_family(conn), set())
        names = sa.inspect(conn).get_schema_names()
    return sorted(
        (n for n in names if n not in hidden and not n.startswith(("pg_temp_", "pg_toast_temp_"))),
        key=str.lower,
    )


def list_tables(
    actor: UserInfo, project_id: uuid.UUID | str, connection_id: uuid.UUID | str, schema: str | None = None
) -> list[TableInfo]:
    """Tables and views of a schema (None: the connection's default), by name, with estimated rows."""
    schema = _schema(schema)
    with _browse(actor, project_id, connection_id, BROWSE_TIMEOUT_S) as conn:
        inspector = sa.inspect(conn)
        tables = inspector.get_table_names(schema=schema)
        views = set(inspector.get_view_names(schema=schema))
        if _family(conn) == "postgresql":
            views |= set(inspector.get_materialized_view_names(schema=schema))
        estimates = _estimates(conn, schema, tables)
    result = [TableInfo(name, "table", estimates.get(name)) for name in tables if name not in views]
    result += [TableInfo(name, "view", None) for name in views]
    return sorted(result, key=lambda info: (info.name.lower(), info.name))


def _estimates(conn: sa.Connection, schema: str | None, tables: list[str]) -> dict[str, int | None]:
    family = _family(conn)
    if not tables:
        return {}
    if family == "postgresql":
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, c.reltuples FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = COALESCE(:schema, current_schema()) AND c.relkind IN ('r', 'p')"
            ),
            {"schema": schema},
        ).all()
        found = {name: (int(count) if count is not None and count >= 0 else None) for name, count in rows}
        # reltuples is -1 until the table is first vacuumed or analysed: count those (capped) instead
        never_analysed = [name for name in tables if found.get(name) is None]
        return {**found, **_capped_counts(conn, schema, never_analysed)}
    if family == "mysql":
        rows = conn.execute(
            sa.text(
                "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = COALESCE(:schema, DATABASE()) AND TABLE_TYPE = 'BASE TABLE'"
            ),
            {"schema": schema},
        ).all()
        return {name: (int(count) if count is not None else None) for name, count in rows}
    if family == "sqlite":
        return _sqlite_estimates(conn, schema, tables)
    return {}


def _sqlite_estimates(conn: sa.Connection, schema: str | None, tables: list[str]) -> dict[str, int | None]:
    estimates: dict[str, int | None] = {}
    stat = sa.table("sqlite_stat1", sa.column("tbl"), sa.column("stat"), schema=schema)
    has_stat = sa.inspect(conn).has_table("sqlite_stat1", schema=schema)
    if has_stat:
        for table, text in conn.execute(sa.select(stat.c.tbl, stat.c.stat)).all():
            try:
                count = int(str(text).split()[0])
            except (ValueError, IndexError):
                continue
            estimates[table] = max(count, estimates.get(table) or 0)
    return {**estimates, **_capped_counts(conn, schema, [t for t in tables if t not in estimates])}


def _capped_counts(conn: sa.Connection, schema: str | None, tables: list[str]) -> dict[str, int]:
    """Row counts of the first few tables without statistics, each counted up to a cap (cheap on big ones)."""
    counts = {}
    for name in tables[:COUNTED_TABLES]:
        capped = sa.select(sa.literal_column("1")).select_from(sa.table(name, schema=schema))
        count = conn.execute(sa.select(sa.func.count()).select_from(capped.limit(COUNT_CAP).subquery()))
        counts[name] = int(count.scalar() or 0)
    return counts


def list_columns(
    actor: UserInfo,
    project_id: uuid.UUID | str,
    connection_id: uuid.UUID | str,
    table: str,
    schema: str | None = None,
) -> list[ColumnInfo]:
    """The columns of a table or view, in their order, with the database's type names."""
    name = _table_name(table)
    schema = _schema(schema)
    with _browse(actor, project_id, connection_id, BROWSE_TIMEOUT_S) as conn:
        try:
            columns = sa.inspect(conn).get_columns(name, schema=schema)
        except sa.exc.NoSuchTableError:
            raise NotFound(TABLE_NOT_FOUND) from None
        if not columns and not _exists(conn, name, schema):
            raise NotFound(TABLE_NOT_FOUND)
        return [
            ColumnInfo(
                str(column["name"]), _type_name(column["type"], conn.dialect), bool(column["nullable"])
            )
            for column in columns
        ]


def _exists(conn: sa.Connection, name: str, schema: str | None) -> bool:
    inspector = sa.inspect(conn)
    return inspector.has_table(name, schema=schema) or name in inspector.get_view_names(schema=schema)


def _type_name(type_: Any, dialect: sa.Dialect) -> str:
    try:
        return str(type_.compile(dialect=dialect))
    except Exception:  # noqa: BLE001 - a type SQLAlchemy cannot render (NullType, an unknown extension)
        return type(type_).__name__.upper() if not isinstance(type_, sa.types.NullType) else "UNKNOWN"


# --------------------------------------------------------------------------------------------- preview


def preview(
    actor: UserInfo,
    project_id: uuid.UUID | str,
    connection_id: uuid.UUID | str,
    table: str,
    schema: str | None = None,
    rows: int = PREVIEW_ROWS,
) -> tuple[list[str], list[list[str]]]:
    """The first ``rows`` rows (1..`PREVIEW_MAX_ROWS`) of a table or view, as (column names, display strings).

    Missing values are "" (as in the rest of the app); long texts are cut at `MAX_CELL_CHARS` with "…".
    The rows come in the database's order (no ORDER BY: a preview must not sort a large table).
    """
    name = _table_name(table)
    schema = _schema(schema)
    limit = max(1, min(int(rows), PREVIEW_MAX_ROWS))
    with _browse(actor, project_id, connection_id, BROWSE_TIMEOUT_S) as conn:
        try:
            reflected = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
        except sa.exc.NoSuchTableError:
            raise NotFound(TABLE_NOT_FOUND) from None
        for column in reflected.columns:
            if isinstance(column.type, sa.Float):  # MySQL DOUBLE/FLOAT reflect as Decimal-returning types
                column.type.asdecimal = False
        result = conn.execute(sa.select(reflected).limit(limit))
        columns = [str(column.name) for column in reflected.columns]
        data = [[display(value) for value in row] for row in result.fetchall()]
    return columns, data


def display(value: Any) -> str:
    """One cell as text: "" for a missing value, ISO 8601 for dates and times (a space before the time), JSON for documents."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "" if value != value else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")  # as the data grids show timestamps
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        text = "0x" + raw[:64].hex()
        return text + ("…" if len(raw) > 64 else "")
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"
