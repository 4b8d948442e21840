"""Server-side paging and streamed downloads of Parquet data sources.

Nothing here loads a whole table: a page is read by DuckDB straight from the file (LIMIT/OFFSET in file order,
or its top-N sort for a sorted view); downloads are produced record batch by record batch.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from hydroml.services.quality import dtype_name

MAX_PAGE_ROWS = 500
MAX_CELL_CHARS = 1_000  # a page is sent to the browser in one message: long texts are cut with "…"
EXCEL_MAX_ROWS = 1_048_576  # rows in an Excel sheet, the header row included
FILE_CHUNK_BYTES = 1024 * 1024

EXPORT_FORMATS = {
    "csv": ("text/csv", ".csv"),
    "parquet": ("application/vnd.apache.parquet", ".parquet"),
    "excel": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "json": ("application/json", ".json"),
}


@dataclass(frozen=True)
class Page:
    """One page of display strings. ``columns``: [{"name", "dtype"}] (dtype names as in the quality report)."""

    columns: list[dict]
    rows: list[list[str]]
    total_rows: int
    offset: int


def quote_identifier(name: str) -> str:
    """A SQL identifier for any column name (quotes doubled), e.g. ``a"b`` -> ``"a""b"``."""
    return '"' + str(name).replace('"', '""') + '"'


# ------------------------------------------------------------------------------------------------- paging


def read_page(
    parquet_path: Path, offset: int = 0, limit: int = 50, sort: list[tuple[str, bool]] | None = None
) -> Page:
    """Rows ``offset .. offset + limit`` of the file, optionally sorted by ``[(column, ascending), ...]``.

    - ``limit`` is capped at `MAX_PAGE_ROWS` (500); a negative offset counts as 0; an offset at or past the end
      gives no rows, with the true ``total_rows``.
    - Sorting is a view: the file is not changed. Missing values (null, and NaN in float columns) come last in
      both directions; ties keep the file's row order, so pages of a sorted view never overlap or skip rows.
    - An unknown sort column raises ValueError naming it.
    - Cells are display strings: "" for missing; integers without thousands separators; floats in their shortest
      exact form (0.1, 1.5, 2.0, 1e+20; float32 as float32, so 0.1 stays 0.1); booleans "True"/"False"; dates
      and naive timestamps as ISO 8601, shown as dates only ("2024-01-31") when every timestamp on the page is
      at midnight; time-zone aware timestamps always as full ISO with offset; texts longer than
      `MAX_CELL_CHARS` cut with "…".
    """
    path = Path(parquet_path)
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    total = parquet.metadata.num_rows
    columns = [{"name": field.name, "dtype": dtype_name(field.type)} for field in schema]
    sort = list(sort or [])
    names = set(schema.names)
    for column, _ascending in sort:
        if column not in names:
            raise ValueError(f"Unknown sort column: {column!r}")
    offset = max(0, int(offset))
    limit = max(0, min(int(limit), MAX_PAGE_ROWS))
    if offset >= total or limit == 0:
        return Page(columns=columns, rows=[], total_rows=total, offset=offset)
    if sort:
        table = _sorted_slice(path, schema, sort, offset, limit)
    else:
        try:  # DuckDB skips to the offset much faster than decoding whole row groups
            table = _query(
                path, "SELECT * FROM read_parquet($path) LIMIT $limit OFFSET $offset", limit, offset
            )
        except duckdb.Error:  # a type DuckDB cannot read
            table = _row_group_slice(parquet, offset, limit)
    rows = display_rows(table, [field.type for field in schema])
    return Page(columns=columns, rows=rows, total_rows=total, offset=offset)


def _row_group_slice(parquet: pq.ParquetFile, offset: int, limit: int) -> pa.Table:
    """Read only the row groups that overlap ``offset .. offset + limit``."""
    metadata = parquet.metadata
    wanted: list[int] = []
    first_row = None
    start = 0
    for index in range(metadata.num_row_groups):
        size = metadata.row_group(index).num_rows
        if start + size > offset and start < offset + limit:
            wanted.append(index)
            if first_row is None:
                first_row = start
        start += size
    table = parquet.read_row_groups(wanted)
    return table.slice(offset - (first_row or 0), limit)


def _sorted_slice(
    path: Path, schema: pa.Schema, sort: list[tuple[str, bool]], offset: int, limit: int
) -> pa.Table:
    keys = []
    for column, ascending in sort:
        expression = quote_identifier(column)
        if pa.types.is_floating(schema.field(column).type):  # NaN is missing: sort it with the nulls
            expression = f"CASE WHEN isnan({expression}) THEN NULL ELSE {expression} END"
        keys.append(f"{expression} {'ASC' if ascending else 'DESC'} NULLS LAST")
    # DuckDB's row-number column (names are case-insensitive there) would clash with a real column
    if any(name.lower() == "file_row_number" for name in schema.names):
        select, source = "*", "read_parquet($path)"
    else:
        select, source = "* EXCLUDE (file_row_number)", "read_parquet($path, file_row_number = true)"
        keys.append("file_row_number")  # stable order for ties
    query = f"SELECT {select} FROM {source} ORDER BY {', '.join(keys)} LIMIT $limit OFFSET $offset"
    return _query(path, query, limit, offset)


def _query(path: Path, query: str, limit: int, offset: int) -> pa.Table:
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = true")  # unsorted pages follow the file's row order
        relation = con.sql(query, params={"path": str(path), "limit": limit, "offset": offset})
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
        return fetch()


# --------------------------------------------------------------------------------------- display strings


def display_rows(table: pa.Table, types: Sequence[pa.DataType] | None = None) -> list[list[str]]:
    """The cells of ``table`` as display strings, row by row, formatted as in `read_page`.

    ``types``: each column's type at its source (e.g. the Parquet schema, when the table came back from DuckDB with
    other types); by default the table's own types. Meant for page-sized tables (a few hundred rows).
    """
    types = list(types) if types is not None else [field.type for field in table.schema]
    cells = [_display_strings(table.column(i), arrow_type) for i, arrow_type in enumerate(types)]
    return [list(row) for row in zip(*cells, strict=True)] if cells else [[] for _ in range(table.num_rows)]


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def _display_strings(column: pa.ChunkedArray | pa.Array, arrow_type: pa.DataType) -> list[str]:
    """Display strings for the cells of one column; ``arrow_type`` is the column's type in the file."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_dictionary(arrow_type) and not pa.types.is_dictionary(column.type):
        arrow_type = arrow_type.value_type  # DuckDB hands categories back as plain values
    if column.type != arrow_type:  # ... and may use another timestamp unit or time zone
        try:
            column = column.cast(arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            arrow_type = column.type
    if pa.types.is_dictionary(arrow_type):
        column = column.dictionary_decode()
        arrow_type = column.type
    if pa.types.is_floating(arrow_type):
        return _float_strings(column)
    if pa.types.is_integer(arrow_type):
        return pc.fill_null(pc.cast(column, pa.string()), "").to_pylist()
    if pa.types.is_boolean(arrow_type):
        return ["" if v is None else str(v) for v in column.to_pylist()]
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return _datetime_strings(column, arrow_type)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return ["" if v is None else _cut(v) for v in column.to_pylist()]
    return ["" if v is None else _cut(_text(v)) for v in column.to_pylist()]


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _float_strings(column: pa.Array) -> list[str]:
    values = column.to_numpy(zero_copy_only=False)  # nulls become NaN
    if values.dtype == np.float64:
        return ["" if v != v else repr(v) for v in values.tolist()]
    # float32 / float16: numpy prints the shortest repr of the narrow type (0.1, not 0.10000000149011612)
    return ["" if np.isnan(v) else str(v) for v in values]


def _datetime_strings(column: pa.Array, arrow_type: pa.DataType) -> list[str]:
    if pa.types.is_date(arrow_type):
        return pc.fill_null(pc.strftime(column, "%Y-%m-%d"), "").to_pylist()
    if arrow_type.tz is None:
        ticks = pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)  # nulls are dropped below
        per_day = 86_400 * {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[arrow_type.unit]
        valid = ~np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)
        if bool(np.all(ticks[valid] % per_day == 0)):
            return pc.fill_null(pc.strftime(column, "%Y-%m-%d"), "").to_pylist()
    stamps = column.to_pandas()
    return ["" if pd.isna(v) else v.isoformat() for v in stamps]


# ------------------------------------------------------------------------------------------------ exports


def export_chunks(parquet_path: Path, fmt: str, chunk_rows: int = 100_000) -> Iterator[bytes]:
    """Stream the whole file as ``fmt`` (a key of `EXPORT_FORMATS`), ``chunk_rows`` rows at a time.

    - csv: UTF-8, header once, comma-separated, missing values (null and NaN) empty, timestamps ISO 8601
      ("2024-01-31T12:00:00", sub-seconds only when a batch has them; aware ones as wall time + offset,
      "2024-01-31T13:00:00+01:00").
    - parquet: the file's own bytes, in 1 MB chunks.
    - json: one array of records, ``[{"col": value, ...}, ...]``; NaN, infinity and null -> null, floats
      exact (shortest round-trip form), timestamps as the ISO strings of the CSV export, dates "YYYY-MM-DD".
    - excel: one sheet "data" (header row + data) written with openpyxl's write-only mode to a temporary file
      that is then streamed and deleted; aware timestamps are written as their wall time in their own zone
      (Excel has no time zones), infinities as the texts "inf" / "-inf", texts starting with "=" as texts.

    Raises ValueError at call time (before any byte is produced) for an unknown format, or for Excel when the
    table has more rows than an Excel sheet holds (`EXCEL_MAX_ROWS`, header included).
    """
    path = Path(parquet_path)
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    chunk_rows = max(1, int(chunk_rows))
    if fmt == "parquet":
        return _file_chunks(path)
    if fmt == "csv":
        return _csv_chunks(path, chunk_rows)
    if fmt == "json":
        return _json_chunks(path, chunk_rows)
    rows = pq.ParquetFile(path).metadata.num_rows
    if rows + 1 > EXCEL_MAX_ROWS:
        raise ValueError(
            f"This table has {rows:,} rows, but an Excel sheet holds at most {EXCEL_MAX_ROWS - 1:,} data rows. "
            "Download it as CSV or Parquet instead."
        )
    return _excel_chunks(path, chunk_rows)


def _file_chunks(path: Path, delete: bool = False) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(FILE_CHUNK_BYTES):
                yield chunk
    finally:
        if delete:
            path.unlink(missing_ok=True)


def _batches(path: Path, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(path).iter_batches(batch_size=chunk_rows)


def _iso_strings(column: pa.Array) -> pa.Array:
    """ISO 8601 strings for a timestamp array: "2024-01-31T12:00:00", sub-seconds only when some value of the
    array has them, aware timestamps as wall time in their zone plus its offset ("...T13:00:00+01:00").

    Arrow's cast to string is ~20x faster than its strftime, so the text is built from casts.
    """
    arrow_type = column.type
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[arrow_type.unit]
    wall_time = pc.local_timestamp(column) if arrow_type.tz is not None else column  # naive
    local = wall_time
    if per_second > 1:
        ticks = pc.cast(local.drop_null(), pa.int64()).to_numpy(zero_copy_only=False)
        if bool(np.all(ticks % per_second == 0)):
            local = local.cast(pa.timestamp("s"))
    text = pc.replace_substring(pc.cast(local, pa.string()), " ", "T", max_replacements=1)
    if arrow_type.tz is None:
        return text
    wall = pc.cast(pc.fill_null(wall_time, 0), pa.int64()).to_numpy(zero_copy_only=False)
    utc = pc.cast(pc.fill_null(column, 0), pa.int64()).to_numpy(zero_copy_only=False)
    minutes = (wall - utc) // per_second // 60 + 1_440  # offsets east of UTC, shifted to 0 .. 2880
    offsets = np.flatnonzero(np.bincount(minutes, minlength=2_881))  # the few distinct offsets, in O(n)
    lookup = np.zeros(2_881, dtype=np.int64)
    lookup[offsets] = np.arange(len(offsets))
    positions = lookup[minutes]
    offsets = offsets - 1_440
    labels = pa.array(
        [f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in offsets.tolist()],
        pa.string(),
    )
    suffix = labels.take(pa.array(positions, pa.int64()))
    return pc.binary_join_element_wise(text, suffix, "")


def _without_nan(column: pa.Array) -> pa.Array:
    if pa.types.is_floating(column.type) and column.null_count < len(column):
        return pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    return column


def _nested(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
        or pa.types.is_struct(arrow_type)
        or pa.types.is_map(arrow_type)
        or pa.types.is_union(arrow_type)
    )


def _as_json_text(column: pa.Array) -> pa.Array:
    return pa.array(
        [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in column.to_pylist()],
        pa.string(),
    )


def _plain_column(column: pa.Array) -> pa.Array:
    """A column the CSV writer can write: categories decoded, NaN missing, timestamps ISO, nested as JSON."""
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    arrow_type = column.type
    if pa.types.is_timestamp(arrow_type):
        return _iso_strings(column)
    if _nested(arrow_type):
        return _as_json_text(column)
    if pa.types.is_floating(arrow_type):
        return _without_nan(column)
    if (
        pa.types.is_integer(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_decimal(arrow_type)
    ):
        return column
    # binary (maybe not UTF-8), durations, times, ...: their text
    return pa.array([None if v is None else _text(v) for v in column.to_pylist()], pa.string())


def _plain_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    columns = [_plain_column(c) for c in batch.columns]
    if len(columns) == 1:
        # A lone missing value would be a blank line, which readers skip: write it as "" (quoted) instead.
        columns = [pc.fill_null(pc.cast(columns[0], pa.string()), "")]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[bytes]:
    empty = pa.RecordBatch.from_pylist([], schema=pq.read_schema(path))
    sink = io.BytesIO()
    writer = pacsv.CSVWriter(sink, _plain_batch(empty).schema)
    try:
        yield _drain(sink)  # the header
        for batch in _batches(path, chunk_rows):
            writer.write_batch(_plain_batch(batch))
            yield _drain(sink)
    finally:
        writer.close()


def _drain(sink: io.BytesIO) -> bytes:
    data = sink.getvalue()
    sink.seek(0)
    sink.truncate()
    return data


def _json_literals(column: pa.Array) -> pa.Array:
    """The JSON text of every value of ``column`` (null -> ``null``)."""
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    arrow_type = column.type
    if pa.types.is_floating(arrow_type):
        finite = pc.is_finite(column)
        text = pc.if_else(finite, pc.cast(column, pa.string()), pa.scalar(None, pa.string()))
    elif pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        text = pc.cast(column, pa.string())
    else:
        if pa.types.is_timestamp(arrow_type):
            strings = _iso_strings(column)
        elif pa.types.is_date(arrow_type):
            strings = pc.strftime(column, "%Y-%m-%d")
        elif pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
            strings = column.cast(pa.string())
        elif _nested(arrow_type):
            return pc.fill_null(_as_json_text(column), "null")
        else:
            strings = pa.array([None if v is None else _text(v) for v in column.to_pylist()], pa.string())
        text = _json_string_literals(strings)
    return pc.fill_null(text, "null")


def _json_string_literals(strings: pa.Array) -> pa.Array:
    if len(strings) and pc.any(pc.match_substring_regex(strings, r"[\x00-\x1f]")).as_py():
        return pa.array(
            [None if v is None else json.dumps(v, ensure_ascii=False) for v in strings.to_pylist()]
        )
    escaped = pc.replace_substring(pc.replace_substring(strings, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', escaped, '"', "")


def _json_chunks(path: Path, chunk_rows: int) -> Iterator[bytes]:
    names = pq.read_schema(path).names
    keys = [json.dumps(str(name), ensure_ascii=False) + ":" for name in names]
    yield b"["
    first = True
    for batch in _batches(path, chunk_rows):
        if batch.num_rows == 0:
            continue
        parts: list[Any] = []
        for index, key in enumerate(keys):
            parts.append(("{" if index == 0 else ",") + key)
            parts.append(_json_literals(batch.column(index)))
        if not parts:
            records = ["{}"] * batch.num_rows
        else:
            parts.append("}")
            records = pc.binary_join_element_wise(*parts, "").to_pylist()
        text = ",\n".join(records)
        yield (("\n" if first else ",\n") + text).encode("utf-8")
        first = False
    yield b"\n]" if not first else b"]"


_ILLEGAL_EXCEL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
EXCEL_MAX_CELL_CHARS = 32_767


def _excel_values(column: pa.Array) -> list[Any]:
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    arrow_type = column.type
    if pa.types.is_timestamp(arrow_type):
        stamps = column.to_pandas()
        if arrow_type.tz is not None:
            stamps = stamps.dt.tz_localize(None)  # wall time in the column's own zone
        return [None if pd.isna(v) else v.to_pydatetime(warn=False) for v in stamps]
    if pa.types.is_floating(arrow_type):
        values = column.to_numpy(zero_copy_only=False)
        if values.dtype != np.float64:  # float32 0.1 -> 0.1, not 0.10000000149011612
            values = values.astype(str).astype(np.float64)
        values = values.tolist()
        return [None if v != v else (v if v not in (np.inf, -np.inf) else str(v)) for v in values]
    if _nested(arrow_type):
        return _as_json_text(column).to_pylist()
    return column.to_pylist()


def _excel_cell(sheet: Any, value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell

    value = _ILLEGAL_EXCEL_CHARS.sub("", value)[:EXCEL_MAX_CELL_CHARS]
    if value.startswith("="):  # a text, never a formula
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def _excel_chunks(path: Path, chunk_rows: int) -> Iterator[bytes]:
    from openpyxl import Workbook

    handle, name = tempfile.mkstemp(prefix="hydroml-export-", suffix=".xlsx")
    os.close(handle)
    target = Path(name)
    try:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("data")
        sheet.append([_excel_cell(sheet, str(n)) for n in pq.read_schema(path).names])
        for batch in _batches(path, chunk_rows):
            columns = [_excel_values(c) for c in batch.columns]
            for row in zip(*columns, strict=True):
                sheet.append([_excel_cell(sheet, v) for v in row])
        workbook.save(target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    yield from _file_chunks(target, delete=True)
