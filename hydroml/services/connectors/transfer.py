"""Import a query into a Parquet data source, refresh it, export a data source to a table. Each is a plain
function reporting ``progress(stage, done, total)`` (rows; total None when unknown) so the state layer can run
it as a background job.

Import streams the result with a server-side cursor (``stream_results``) in partitions of ``chunk_rows`` rows;
each partition becomes an Arrow record batch appended to a Parquet file, so memory is bounded by the chunk,
not the table. On PostgreSQL (psycopg2) an Arrow-native path is used first: ``COPY (query) TO STDOUT`` as CSV
through a pipe into Arrow's streaming CSV reader, typed from the query's column types (about 4-5x faster than
pandas.read_sql + to_parquet; memory bounded by the CSV block), falling back to the row path when Arrow
cannot parse a value. Column types come from the driver's description where it tells (PostgreSQL,
MySQL/MariaDB) and from the values otherwise (SQLite), in HydroML's types:

    integer (int64)  float (float64)  boolean  datetime (timestamp[us], naive, or UTC when the database
    stores a time zone)  string

- DECIMAL / NUMERIC become float64: the Data Studio and the models work on floats, and pandas only knows
  decimals as slow Python objects. More than ~15 significant digits are rounded.
- A column that changes type further down (SQLite is dynamically typed; an integer column with a fraction
  later) is widened: bool -> integer -> float, naive -> UTC datetime, anything else mixed -> string. Rows
  already written are rewritten batch by batch into the wider type (memory stays bounded).
- Columns that hold no value at all are stored as string (unless the database declared a type).
- Dates become datetimes; times, intervals, UUIDs, JSON and binary values become text.
- SQLite has no date type: text columns whose values all look like ISO dates or timestamps become datetimes.

The data source records ``{"connection_id", "connection_name", "dialect", "sql", "params", "spec", ...}`` in
its version's import settings, never credentials. Refresh re-runs it (the spec when there is one, else the
raw SQL and its parameters) into a new version.

Export reads the Parquet file in record batches and inserts them with SQLAlchemy Core (multi-row inserts).
"create" and "replace" fill a new staging table and rename it into place at the end, so a failure leaves the
target untouched (on MySQL/MariaDB the swap is a single atomic RENAME TABLE; on SQLite the drop and rename
are two statements). "append" inserts in one transaction. Export is the one path that writes: it does not use
the read-only connection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from hydroml.db import session_scope
from hydroml.services import datasources, ingest, projects, quality
from hydroml.services.auth import UserInfo
from hydroml.services.connectors import query as q
from hydroml.services.connectors.readonly import explained_errors, read_only
from hydroml.services.datasources import DataSourceInfo
from hydroml.services.errors import InvalidInput
from hydroml.services.ingest.plan import clean_names

Progress = Callable[[str, int, "int | None"], None]

DEFAULT_CHUNK_ROWS = 100_000
MIN_CHUNK_ROWS = 100
# Per statement: PostgreSQL's COPY is one, on its row path each chunk's FETCH; on MariaDB/MySQL the streamed
# SELECT. Below connections.MYSQL_READ_TIMEOUT_S (900 s), so the statement limit is what stops a long query.
IMPORT_TIMEOUT_S = 600.0
KIND = "query"
RECORDED_KEYS = ("connection_id", "connection_name")  # from connection_meta; anything else is dropped
EXPORT_MODES = ("create", "replace", "append")
MAX_IDENTIFIER = 63  # PostgreSQL's limit (MySQL: 64); longer names would be cut silently


def _noop(stage: str, done: int, total: int | None) -> None:
    return None


# ---------------------------------------------------------------- column kinds

NULL, BOOL, INT, FLOAT, DATETIME, DATETIME_TZ, STRING = (
    "null",
    "bool",
    "int",
    "float",
    "datetime",
    "datetime_tz",
    "string",
)
ARROW = {
    NULL: pa.null(),
    BOOL: pa.bool_(),
    INT: pa.int64(),
    FLOAT: pa.float64(),
    DATETIME: pa.timestamp("us"),
    DATETIME_TZ: pa.timestamp("us", "UTC"),
    STRING: pa.string(),
}
_NUMERIC_RANK = {BOOL: 0, INT: 1, FLOAT: 2}


def merge_kinds(a: str, b: str) -> str:
    """The narrowest kind that holds both."""
    if a == b:
        return a
    if a == NULL:
        return b
    if b == NULL:
        return a
    if a in _NUMERIC_RANK and b in _NUMERIC_RANK:
        return a if _NUMERIC_RANK[a] > _NUMERIC_RANK[b] else b
    if {a, b} == {DATETIME, DATETIME_TZ}:
        return DATETIME_TZ
    return STRING


_PY_KIND: dict[type, str] = {
    bool: BOOL,
    int: INT,
    float: FLOAT,
    decimal.Decimal: FLOAT,
    dt.date: DATETIME,
    str: STRING,
}

# Driver type codes -> kinds (columns that hold only NULLs still get the declared type).
_PG_OIDS = {
    16: BOOL,
    20: INT,
    21: INT,
    23: INT,
    26: INT,
    700: FLOAT,
    701: FLOAT,
    1700: FLOAT,
    1082: DATETIME,
    1114: DATETIME,
    1184: DATETIME_TZ,
    18: STRING,
    19: STRING,
    25: STRING,
    1042: STRING,
    1043: STRING,
    2950: STRING,
    114: STRING,
    3802: STRING,
    1083: STRING,
    1266: STRING,
    1186: STRING,
}
_MYSQL_CODES = {
    0: FLOAT,  # DECIMAL
    246: FLOAT,  # NEWDECIMAL
    2: INT,
    3: INT,
    8: INT,
    9: INT,
    13: INT,  # SHORT LONG LONGLONG INT24 YEAR
    4: FLOAT,
    5: FLOAT,
    7: DATETIME,
    10: DATETIME,
    12: DATETIME,
    14: DATETIME,  # TIMESTAMP DATE DATETIME NEWDATE
    11: STRING,  # TIME (pymysql: timedelta)
    15: STRING,
    253: STRING,
    254: STRING,
    247: STRING,
    248: STRING,
    245: STRING,
}
_ISO = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$"


def _seed(dialect: str, column: Sequence) -> str:
    code = column[1] if len(column) > 1 else None
    if dialect == "postgresql":
        return _PG_OIDS.get(code, NULL)
    if dialect in ("mysql", "mariadb"):
        if code == 1:  # TINY: TINYINT(1) is MySQL's BOOLEAN
            size = column[3] if len(column) > 3 else None
            return BOOL if size == 1 else INT
        return _MYSQL_CODES.get(code, NULL)
    return NULL


def _observe(values: Sequence, current: str, sqlite: bool) -> str:
    """The kind of one chunk of a column's values (given the kind so far)."""
    types = set(map(type, values))
    types.discard(type(None))
    if not types:
        return NULL
    if current == BOOL and types <= {int, bool} and set(values) <= {0, 1, None}:
        return BOOL  # TINYINT(1) as 0 / 1
    kind = NULL
    for t in types:
        found = _PY_KIND.get(t)
        if found is None:
            if issubclass(t, dt.datetime):
                found = DATETIME
            elif issubclass(t, bool):
                found = BOOL
            elif issubclass(t, int):
                found = INT
            elif issubclass(t, float):
                found = FLOAT
            else:
                found = STRING
        kind = merge_kinds(kind, found)
    if dt.datetime in types and kind == DATETIME:
        first = next(v for v in values if type(v) is dt.datetime)
        if first.tzinfo is not None:
            kind = DATETIME_TZ
    if kind == STRING and sqlite and types == {str} and current in (NULL, DATETIME):
        text = pa.array(values, pa.string())
        if pc.all(pc.match_substring_regex(text, _ISO)).as_py():
            return DATETIME
    return kind


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


class _Overflow(Exception):
    pass


def _to_arrow(values: Sequence, kind: str) -> pa.Array:
    types = set(map(type, values))
    types.discard(type(None))
    if kind == NULL:
        return pa.nulls(len(values))
    if kind == BOOL:
        if types <= {bool}:
            return pa.array(values, pa.bool_())
        return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
    if kind == INT:
        if bool in types:
            values = [int(v) if type(v) is bool else v for v in values]
        try:
            return pa.array(values, pa.int64())
        except (OverflowError, pa.ArrowInvalid):
            raise _Overflow from None
    if kind == FLOAT:
        if types <= {float, int}:
            return pa.array(values, pa.float64())
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if kind in (DATETIME, DATETIME_TZ):
        if str in types:  # SQLite ISO text
            text = pa.array([None if v is None else str(v).replace("T", " ") for v in values], pa.string())
            return text.cast(ARROW[kind])
        if dt.date in types:
            values = [dt.datetime(v.year, v.month, v.day) if type(v) is dt.date else v for v in values]
        return pa.array(values, ARROW[kind])
    if types <= {str}:
        return pa.array(values, pa.string())
    return pa.array([None if v is None else _text(v) for v in values], pa.string())


def _cast(array: pa.Array, kind: str) -> pa.Array:
    target = ARROW[kind]
    if array.type == target:
        return array
    return array.cast(target)


# ---------------------------------------------------------------- chunked Parquet writer


class ChunkedParquet:
    """Rows in, Parquet out, one row group per chunk; widens a column (rewriting what was written) when a
    later chunk needs a wider type."""

    def __init__(self, target: Path, names: list[str], seeds: list[str], *, sqlite: bool = False) -> None:
        self.target = Path(target)
        self.names = names
        self.kinds = list(seeds)
        self.sqlite = sqlite
        self.rows = 0
        self.rewrites = 0
        self.part = self.target.with_name(f".{self.target.name}.{uuid.uuid4().hex}.part")
        self.writer: pq.ParquetWriter | None = None

    def _schema(self) -> pa.Schema:
        return pa.schema([pa.field(n, ARROW[k]) for n, k in zip(self.names, self.kinds, strict=True)])

    def add(self, rows: Sequence[Sequence]) -> None:
        if not rows:
            return
        columns = list(zip(*rows, strict=True)) if self.names else []
        wanted = [
            merge_kinds(kind, _observe(values, kind, self.sqlite))
            for kind, values in zip(self.kinds, columns, strict=True)
        ]
        arrays: list[pa.Array] = []
        for index, values in enumerate(columns):
            try:
                arrays.append(_to_arrow(values, wanted[index]))
            except _Overflow:  # integers beyond int64
                wanted[index] = FLOAT
                arrays.append(_to_arrow(values, FLOAT))
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                wanted[index] = STRING
                arrays.append(_to_arrow(values, STRING))
        if wanted != self.kinds:
            self._widen(wanted)
        batch = pa.RecordBatch.from_arrays(
            [_cast(a, k) for a, k in zip(arrays, self.kinds, strict=True)], schema=self._schema()
        )
        self._writer().write_batch(batch, row_group_size=max(batch.num_rows, 1))
        self.rows += batch.num_rows

    def add_batch(self, batch: pa.RecordBatch) -> None:
        """A batch already in this file's types (the Arrow-native path)."""
        if batch.num_rows:
            self._writer().write_batch(batch.cast(self._schema()), row_group_size=batch.num_rows)
            self.rows += batch.num_rows

    def _writer(self) -> pq.ParquetWriter:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.part, self._schema(), compression="snappy")
        return self.writer

    def _widen(self, kinds: list[str]) -> None:
        if self.writer is None:  # nothing written yet: just start with the wider types
            self.kinds = kinds
            return
        self.writer.close()
        self.writer = None
        old = self.part
        self.kinds = kinds
        self.part = self.target.with_name(f".{self.target.name}.{uuid.uuid4().hex}.part")
        try:
            source = pq.ParquetFile(old)
            writer = self._writer()
            for group in range(source.num_row_groups):
                batch = source.read_row_group(group)
                arrays = [
                    _cast(column.combine_chunks(), k) for column, k in zip(batch.columns, kinds, strict=True)
                ]
                writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema()))
            source.close()
        finally:
            old.unlink(missing_ok=True)
        self.rewrites += 1

    def close(self) -> ingest.ImportResult:
        """Finish the file (still-empty columns become string) and move it into place."""
        try:
            if NULL in self.kinds or self.writer is None:
                self._widen([STRING if k == NULL else k for k in self.kinds])
            writer = self._writer()
            writer.close()
            self.writer = None
            digest = hashlib.sha256()
            with open(self.part, "rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
            size = self.part.stat().st_size
            os.replace(self.part, self.target)
        except BaseException:
            self.abort()
            raise
        columns = [
            {"name": n, "dtype": quality.dtype_name(ARROW[k])}
            for n, k in zip(self.names, self.kinds, strict=True)
        ]
        return ingest.ImportResult(
            parquet_path=self.target,
            rows=self.rows,
            columns=columns,
            sha256=digest.hexdigest(),
            size_bytes=size,
            invalid_values=dict.fromkeys(self.names, 0),
        )

    def abort(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
            self.writer = None
        self.part.unlink(missing_ok=True)


def stream_to_parquet(
    engine: sa.Engine,
    query: sa.Select | str,
    params: dict | None,
    target: Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    max_rows: int | None = None,
    timeout_s: float = IMPORT_TIMEOUT_S,
    progress: Progress | None = None,
    arrow_native: bool = True,
) -> ingest.ImportResult:
    """Run ``query`` read-only and write its rows to ``target`` chunk by chunk.

    On PostgreSQL (psycopg2) the result is streamed as CSV with ``COPY (query) TO STDOUT`` and parsed by
    Arrow, typed from the query's column types (several times faster than building Python rows); values
    Arrow cannot parse (e.g. 'infinity' timestamps) make it start over on the row path. ``arrow_native=False``
    forces the row path (server-side cursor, ``chunk_rows`` rows at a time)."""
    report = progress or _noop
    chunk_rows = max(MIN_CHUNK_ROWS, int(chunk_rows))
    if max_rows is not None:
        query = q.limited(query, max_rows, engine.dialect)
    if arrow_native and _copy_possible(engine, query):
        try:
            return _stream_copy(engine, query, params, target, chunk_rows, timeout_s, report)
        except _NotArrowable:
            pass  # start over on the row path
    return _stream_rows(engine, query, params, target, chunk_rows, max_rows, timeout_s, report)


def _stream_rows(
    engine: sa.Engine,
    query: sa.Select | str,
    params: dict | None,
    target: Path,
    chunk_rows: int,
    max_rows: int | None,
    timeout_s: float,
    report: Progress,
) -> ingest.ImportResult:
    dialect = engine.dialect.name
    report("Running the query", 0, None)
    sink: ChunkedParquet | None = None
    try:
        with explained_errors(), read_only(engine, timeout_s) as conn:
            streaming = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows)
            result = q.execute(streaming, query, params)
            try:
                keys = list(result.keys()) if result.returns_rows else []
                if not keys:
                    raise InvalidInput("sql", "The query returns no columns.")
                names, _ = clean_names([str(k) for k in keys], len(keys))
                description = (result.cursor.description or []) if result.cursor is not None else []
                seeds = [_seed(dialect, column) for column in description] or [NULL] * len(names)
                sink = ChunkedParquet(target, names, seeds, sqlite=dialect == "sqlite")
                for rows in result.partitions(chunk_rows):
                    if max_rows is not None and sink.rows + len(rows) > max_rows:
                        rows = rows[: max_rows - sink.rows]
                    sink.add(rows)
                    report("Reading rows", sink.rows, None)
                    if max_rows is not None and sink.rows >= max_rows:
                        break
            finally:
                result.close()
        report("Writing the data source", sink.rows, sink.rows)
        return sink.close()
    except BaseException:
        if sink is not None:
            sink.abort()
        raise


# ---------------------------------------------------------------- PostgreSQL: COPY ... TO STDOUT into Arrow

COPY_BYTES_PER_ROW = 64  # CSV block size = chunk_rows x this, within the bounds below
COPY_BLOCK_MIN, COPY_BLOCK_MAX = 1 << 20, 64 << 20
PIPE_BUFFER = 1 << 20


class _NotArrowable(Exception):
    """Arrow could not read the CSV (or the statement cannot be copied): use the row path."""


def _copy_possible(engine: sa.Engine, query: sa.Select | str) -> bool:
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg2":
        return False
    return isinstance(query, sa.Select) or q.first_keyword(query) in ("SELECT", "WITH", "VALUES", "TABLE")


def _driver_sql(conn: sa.Connection, query: sa.Select | str, params: dict | None, cursor) -> str:
    """The statement with its parameters interpolated by psycopg2 itself (what it does for every execute)."""
    statement = q.executable(query, conn.dialect)
    values = q.bound_params(query, params, conn.dialect)
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    try:
        text = cursor.mogrify(compiled.string, compiled.construct_params(values))
    except Exception as exc:
        raise _NotArrowable from exc  # a value psycopg2 cannot adapt as is: the row path binds it via SQLAlchemy
    return text.decode("utf-8")  # the caller checked the client encoding


def _copy_options(cursor) -> None:
    """ISO dates in the output, keeping the field order the session reads date literals with."""
    cursor.execute("SHOW DateStyle")
    order = (cursor.fetchone()[0].split(",") + [" MDY"])[1].strip() or "MDY"
    cursor.execute(f"SET LOCAL DateStyle = 'ISO, {order}'")


def _stream_copy(
    engine: sa.Engine,
    query: sa.Select | str,
    params: dict | None,
    target: Path,
    chunk_rows: int,
    timeout_s: float,
    report: Progress,
) -> ingest.ImportResult:
    report("Running the query", 0, None)
    sink: ChunkedParquet | None = None
    try:
        with explained_errors(), read_only(engine, timeout_s) as conn:
            cursor = conn.connection.driver_connection.cursor()
            try:
                if conn.connection.driver_connection.encoding.upper() not in ("UTF8", "UNICODE"):
                    raise _NotArrowable
                sql = _driver_sql(conn, query, params, cursor)
                _copy_options(cursor)
                cursor.execute(f"SELECT * FROM ({sql}) AS hml_probe LIMIT 0")
                description = cursor.description or []
                if not description:
                    raise InvalidInput("sql", "The query returns no columns.")
                names, _ = clean_names([str(c[0]) for c in description], len(description))
                kinds = [_seed("postgresql", c) for c in description]
                kinds = [STRING if k == NULL else k for k in kinds]
                sink = ChunkedParquet(target, names, kinds)
                read_end, write_end = os.pipe()
                source = os.fdopen(read_end, "rb", buffering=PIPE_BUFFER)
                sink_file = os.fdopen(write_end, "wb", buffering=PIPE_BUFFER)
                failure: list[BaseException] = []

                def produce() -> None:
                    try:
                        cursor.copy_expert(
                            f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", sink_file, PIPE_BUFFER
                        )
                    except BaseException as exc:  # re-raised on the caller's thread
                        failure.append(exc)
                    finally:
                        with contextlib.suppress(OSError):
                            sink_file.close()

                producer = threading.Thread(target=produce, name="pg-copy", daemon=True)
                producer.start()
                block = min(COPY_BLOCK_MAX, max(COPY_BLOCK_MIN, chunk_rows * COPY_BYTES_PER_ROW))
                try:
                    reader = pcsv.open_csv(
                        source,
                        read_options=pcsv.ReadOptions(
                            column_names=names, block_size=block, use_threads=False
                        ),
                        parse_options=pcsv.ParseOptions(newlines_in_values=True),
                        convert_options=pcsv.ConvertOptions(
                            column_types={n: ARROW[k] for n, k in zip(names, kinds, strict=True)},
                            true_values=["t"],
                            false_values=["f"],
                            null_values=[""],
                            strings_can_be_null=True,
                            quoted_strings_can_be_null=False,
                        ),
                    )
                    for batch in reader:
                        sink.add_batch(batch)
                        report("Reading rows", sink.rows, None)
                except pa.ArrowInvalid as exc:
                    if not failure:
                        raise _NotArrowable from exc
                finally:
                    source.close()  # a reader that stopped early unblocks the producer
                    producer.join()
                if failure:
                    error = failure[0]
                    if isinstance(error, psycopg2.Error):
                        raise sa.exc.DBAPIError(None, None, error) from None
                    raise error
            finally:
                with contextlib.suppress(Exception):
                    cursor.close()
        report("Writing the data source", sink.rows, sink.rows)
        return sink.close()
    except BaseException:
        if sink is not None:
            sink.abort()
        raise


# ---------------------------------------------------------------- import and refresh


def _query_from(engine: sa.Engine, sql: Any, params: dict | None, spec: dict | None) -> tuple[Any, dict]:
    """(Select or checked raw statement, params) from a spec, a Select or raw SQL text."""
    if spec is not None:
        return q.build_select(engine, spec), {}
    if isinstance(sql, sa.Select):  # its compiled text holds driver placeholders: it could not be refreshed
        raise TypeError("pass the builder spec (a built Select alone cannot be recorded for refresh)")
    if not isinstance(sql, str):
        raise InvalidInput("sql", "Write a query or build one first.")
    return q.check_raw_sql(sql, engine.dialect), dict(params or {})


def _settings(
    engine: sa.Engine, query: Any, params: dict, spec: dict | None, meta: dict, max_rows: int | None
) -> dict:
    text, values = q.describe_query(engine, query, params)
    recorded = {key: str(meta[key]) if meta.get(key) is not None else None for key in RECORDED_KEYS}
    return {
        **recorded,
        "source": KIND,
        "dialect": engine.dialect.name,
        "sql": text,
        "params": values,
        "spec": q.jsonable(spec) if spec is not None else None,
        "max_rows": max_rows,
    }


def _require_editor(actor: UserInfo, project_id, action: str) -> None:
    with session_scope() as db:
        projects.require_role(db, actor, project_id, "editor", action=action)


def import_query(
    actor: UserInfo,
    project_id,
    engine: sa.Engine,
    sql: str | None,
    params: dict | None,
    name: str,
    *,
    connection_meta: dict,
    spec: dict | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    max_rows: int | None = None,
    timeout_s: float = IMPORT_TIMEOUT_S,
    progress: Progress | None = None,
    arrow_native: bool = True,
) -> DataSourceInfo:
    """Import a query into a new data source of kind "query" (editor): raw SQL (one read statement, ``:name``
    parameters from ``params``) or, when ``spec`` is given, the visual builder's spec (``sql`` is then
    ignored). ``connection_meta`` gives the connection's id and name for the record (other keys are dropped).
    ``max_rows`` caps the rows; ``timeout_s`` applies to each statement (PostgreSQL's COPY is one; on the row
    path each chunk's FETCH is one). ``arrow_native=False`` forces the row path (see stream_to_parquet)."""
    _require_editor(actor, project_id, "import data")
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1):
        raise InvalidInput("limit", "The row limit must be a whole number of at least 1.")
    query, values = _query_from(engine, sql, params, spec)
    settings = _settings(engine, query, values, spec, connection_meta or {}, max_rows)
    return datasources.create_from_writer(
        actor,
        project_id,
        name,
        lambda target: stream_to_parquet(
            engine,
            query,
            values,
            target,
            chunk_rows=chunk_rows,
            max_rows=max_rows,
            timeout_s=timeout_s,
            progress=progress,
            arrow_native=arrow_native,
        ),
        kind=KIND,
        settings_json=json.dumps(settings),
    )


def recorded_query(actor: UserInfo, project_id, data_source_id) -> dict:
    """What the current version of a query data source was imported with (viewer): connection id and name,
    dialect, SQL, parameters, spec. InvalidInput when the data source was not imported from a query."""
    info, versions = datasources.get_data_source(actor, project_id, data_source_id)
    current = next((v for v in versions if v.version == info.version), None)
    settings = current.import_settings if current else {}
    if info.kind != KIND or settings.get("source") != KIND:
        raise InvalidInput("data_source", "This data source was not imported from a database query.")
    return settings


def refresh_query(
    actor: UserInfo,
    project_id,
    data_source_id,
    engine: sa.Engine,
    progress: Progress | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    timeout_s: float = IMPORT_TIMEOUT_S,
) -> DataSourceInfo:
    """Re-run the recorded query (its spec when it has one) into a new version of the data source (editor).
    ``engine`` is the recorded connection's (see :func:`recorded_query`)."""
    _require_editor(actor, project_id, "refresh data")
    settings = recorded_query(actor, project_id, data_source_id)
    if settings.get("dialect") and settings["dialect"] != engine.dialect.name:
        raise InvalidInput(
            "connection",
            f"The query was written for {settings['dialect']}, but this connection is {engine.dialect.name}.",
        )
    spec = settings.get("spec")
    max_rows = settings.get("max_rows")
    query, values = _query_from(engine, settings.get("sql"), settings.get("params") or {}, spec)
    renewed = _settings(engine, query, values, spec, settings, max_rows)
    return datasources.add_version_from_writer(
        actor,
        project_id,
        data_source_id,
        lambda target: stream_to_parquet(
            engine,
            query,
            values,
            target,
            chunk_rows=chunk_rows,
            max_rows=max_rows,
            timeout_s=timeout_s,
            progress=progress,
        ),
        settings_json=json.dumps(renewed),
    )


# ---------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportResult:
    table: str
    schema: str | None
    mode: str
    rows: int
    columns: list[str]


def _target_name(value: Any, field: str, what: str, *, optional: bool = False) -> str | None:
    if value is None or value == "":
        if optional:
            return None
        raise InvalidInput(field, f"Give the {what} a name.")
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise InvalidInput(field, f"The {what} name must not be blank or start or end with spaces.")
    if len(value) > MAX_IDENTIFIER or "\x00" in value:
        raise InvalidInput(field, f"The {what} name can be at most {MAX_IDENTIFIER} characters long.")
    return value


def _sql_type(arrow_type: pa.DataType) -> sa.types.TypeEngine:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_boolean(arrow_type):
        return sa.Boolean()
    if pa.types.is_integer(arrow_type):
        return sa.BigInteger()
    if pa.types.is_floating(arrow_type):
        return sa.Double()
    if pa.types.is_timestamp(arrow_type):
        tz = arrow_type.tz is not None
        return sa.DateTime(timezone=tz).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    if pa.types.is_date(arrow_type):
        return sa.Date()
    return sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _prepare(batch: pa.RecordBatch, aware_ok: bool) -> pa.RecordBatch:
    """Arrow values as the database takes them: dictionaries decoded, NaN as NULL, timestamps in us (UTC,
    naive, where the database has no time zone type)."""
    arrays = []
    for array in batch.columns:
        kind = array.type
        if pa.types.is_dictionary(kind):
            array = array.dictionary_decode()
            kind = array.type
        if pa.types.is_floating(kind):
            array = pc.if_else(pc.is_nan(array), pa.scalar(None, kind), array)
        elif pa.types.is_timestamp(kind):
            if kind.tz is not None and not aware_ok:
                array = array.cast(pa.timestamp(kind.unit, "UTC")).cast(pa.timestamp(kind.unit))
                kind = array.type
            if kind.unit == "ns":
                array = array.cast(pa.timestamp("us", kind.tz), safe=False)
        elif not (
            pa.types.is_integer(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_date(kind)
        ):
            array = array.cast(pa.string())
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _match_columns(existing: sa.Table, names: list[str]) -> dict[str, str]:
    """Data source column -> table column for append; InvalidInput listing what does not fit."""
    exact = {c.name: c.name for c in existing.columns}
    folded: dict[str, list[str]] = {}
    for c in existing.columns:
        folded.setdefault(c.name.lower(), []).append(c.name)
    mapping: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        if name in exact:
            mapping[name] = name
        elif len(folded.get(name.lower(), [])) == 1:
            mapping[name] = folded[name.lower()][0]
        else:
            missing.append(name)
    used = set(mapping.values())
    required = [
        c.name
        for c in existing.columns
        if c.name not in used
        and not c.nullable
        and c.server_default is None
        and not (c.primary_key and c.autoincrement in (True, "auto") and isinstance(c.type, sa.Integer))
    ]
    if missing or required:
        problems = []
        if missing:
            problems.append(f"the table has no column for {', '.join(missing)}")
        if required:
            problems.append(f"the data source has no values for the required column(s) {', '.join(required)}")
        raise InvalidInput(
            "table",
            f"The columns do not match the table {existing.name}: {'; and '.join(problems)}. "
            f"Table columns: {', '.join(c.name for c in existing.columns)}.",
        )
    return mapping


def _insert_batches(
    conn: sa.Connection,
    table: sa.Table,
    parquet: pq.ParquetFile,
    mapping: dict[str, str],
    chunk_rows: int,
    report: Progress,
    total: int,
    done: int,
    commit_each: bool,
) -> int:
    aware_ok = conn.dialect.name == "postgresql"
    insert = table.insert()
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        prepared = _prepare(batch, aware_ok)
        rows = prepared.rename_columns([mapping[n] for n in prepared.schema.names]).to_pylist()
        if rows:
            conn.execute(insert, rows)
        if commit_each:
            conn.commit()
        done += len(rows)
        report("Writing rows", done, total)
    return done


def _swap(engine: sa.Engine, staging: sa.Table, table: str, schema: str | None, replace: bool) -> None:
    preparer = engine.dialect.identifier_preparer
    target = sa.Table(table, sa.MetaData(), schema=schema)
    old = sa.Table(f"{table[:40]}__hml_old_{uuid.uuid4().hex[:8]}", sa.MetaData(), schema=schema)
    with engine.begin() as conn:
        exists = sa.inspect(conn).has_table(table, schema=schema)
        if exists and not replace:
            raise InvalidInput("table", f"A table named {table} already exists: choose replace or append.")
        if engine.dialect.name in ("mysql", "mariadb"):
            pairs = [f"{preparer.format_table(staging)} TO {preparer.format_table(target)}"]
            if exists:
                pairs.insert(0, f"{preparer.format_table(target)} TO {preparer.format_table(old)}")
            conn.exec_driver_sql("RENAME TABLE " + ", ".join(pairs))
            if exists:
                conn.exec_driver_sql(f"DROP TABLE {preparer.format_table(old)}")
            return
        if exists:
            conn.exec_driver_sql(f"DROP TABLE {preparer.format_table(target)}")
        conn.exec_driver_sql(
            f"ALTER TABLE {preparer.format_table(staging)} RENAME TO {preparer.quote(table)}"
        )


def export_table(
    actor: UserInfo,
    project_id,
    data_source_id,
    engine: sa.Engine,
    table: str,
    mode: str,
    schema: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
    *,
    version: int | None = None,
) -> ExportResult:
    """Write a data source version (the newest by default) to a table (editor): "create" a new table,
    "replace" an existing one, or "append" to it. Chunked; types mapped; conflicts are a clear InvalidInput."""
    report = progress or _noop
    _require_editor(actor, project_id, "export data")
    if mode not in EXPORT_MODES:
        raise InvalidInput("mode", f"Choose how to write the table: {', '.join(EXPORT_MODES)}.")
    table_name = _target_name(table, "table", "table")
    schema_name = _target_name(schema, "schema", "schema", optional=True)
    chunk_rows = max(MIN_CHUNK_ROWS, int(chunk_rows))
    located = datasources.version_file(actor, project_id, data_source_id, version)
    parquet = pq.ParquetFile(located.path)
    try:
        names = list(parquet.schema_arrow.names)
        too_long = [n for n in names if len(n) > MAX_IDENTIFIER]
        if too_long:
            raise InvalidInput(
                "table",
                f"Column names can be at most {MAX_IDENTIFIER} characters long in a database; rename "
                f"{', '.join(too_long[:5])} first.",
            )
        total = parquet.metadata.num_rows
        report("Preparing the table", 0, total)
        with explained_errors():
            with engine.connect() as conn:
                exists = sa.inspect(conn).has_table(table_name, schema=schema_name)
            if mode == "create" and exists:
                raise InvalidInput(
                    "table", f"A table named {table_name} already exists: choose replace or append."
                )
            if mode == "append":
                if not exists:
                    raise InvalidInput(
                        "table", f"There is no table named {table_name} to append to: choose create."
                    )
                with engine.connect() as conn:
                    existing = sa.Table(table_name, sa.MetaData(), schema=schema_name, autoload_with=conn)
                mapping = _match_columns(existing, names)
                with engine.begin() as conn:
                    rows = _insert_batches(
                        conn, existing, parquet, mapping, chunk_rows, report, total, 0, False
                    )
            else:
                rows = _create_and_fill(
                    engine, parquet, table_name, schema_name, mode, chunk_rows, report, total
                )
    finally:
        parquet.close()
    report("Done", rows, total)
    return ExportResult(table=table_name, schema=schema_name, mode=mode, rows=rows, columns=names)


def _create_and_fill(
    engine: sa.Engine,
    parquet: pq.ParquetFile,
    table: str,
    schema: str | None,
    mode: str,
    chunk_rows: int,
    report: Progress,
    total: int,
) -> int:
    staging_name = f"{table[:40]}__hml_new_{uuid.uuid4().hex[:8]}"
    columns = [sa.Column(f.name, _sql_type(f.type), nullable=True) for f in parquet.schema_arrow]
    staging = sa.Table(staging_name, sa.MetaData(), *columns, schema=schema)
    mapping = {n: n for n in parquet.schema_arrow.names}
    try:
        with engine.begin() as conn:
            staging.create(conn)
        with engine.connect() as conn:
            rows = _insert_batches(conn, staging, parquet, mapping, chunk_rows, report, total, 0, True)
        report("Putting the table in place", rows, total)
        _swap(engine, staging, table, schema, replace=mode == "replace")
        return rows
    except BaseException:
        try:
            with engine.begin() as conn:
                staging.drop(conn, checkfirst=True)
        except Exception:
            pass
        raise


def table_columns(engine: sa.Engine, table: str, schema: str | None = None) -> Iterable[tuple[str, str]]:
    """(name, type) of an existing table, for the export dialog (read-only)."""
    reflected = q.reflect_table(engine, table, schema)
    return [(c.name, str(c.type)) for c in reflected.columns]
