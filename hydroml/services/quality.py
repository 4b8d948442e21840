"""Data-quality report of a Parquet data source: table size and a small profile per column.

The report is plain JSON (str/int/float/bool/None/list/dict only, no NaN or infinity, datetimes as ISO strings)
and stays small (a few KB per column), so it can be stored, cached and sent to the browser as is.

Everything is computed column by column with pyarrow.compute and numpy (no row-wise Python); 1M rows x
20 columns take well under 3 s on two cores.

Shape of the report::

    {"rows": int, "columns": int, "memory_bytes": int, "column_reports": [column_report, ...]}

Every column report has the same keys (those that do not apply to the column's type are None)::

    name, dtype, missing, missing_pct, unique, min, max, mean, std, histogram, top, datetime

- ``dtype``: "integer" | "float" | "string" | "boolean" | "datetime" | "category" (see `dtype_name`).
- ``missing``: nulls, plus NaN for float columns (pandas' notion of missing); ``missing_pct`` in 0..100.
- ``unique``: distinct non-missing values (pandas ``nunique()``).
- numeric columns: ``min``/``max``/``mean``/``std`` (sample std, ddof=1, as pandas) over the non-missing values
  (an infinite result is reported as None); ``histogram`` = {"edges": 21 floats, "counts": 20 ints} over the
  finite values, or None when there are none.
- string / category / boolean columns: ``top`` = [[value, count], ...], the 10 most frequent non-missing values,
  most frequent first (ties: first seen first); values are strings (booleans "True"/"False"), cut to 200 chars.
- datetime columns: ``min``/``max`` as ISO strings and ``datetime`` (see `_datetime_profile`).
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HISTOGRAM_BINS = 20
TOP_VALUES = 10
MAX_TOP_VALUE_CHARS = 200
REGULAR_SHARE = 0.5  # the modal step must cover at least this share of the intervals for a regular series

_DAY_NS = 86_400 * 1_000_000_000
_UNIT_NS = {"D": _DAY_NS, "s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
# Calendar steps whose length varies: (name, shortest, longest) in days.
_CALENDAR_STEPS = (("1 month", 28, 31), ("1 quarter", 89, 92), ("1 year", 365, 366))


def dtype_name(arrow_type: pa.DataType) -> str:
    """Map an Arrow type to HydroML's dtype names (shared with `hydroml.services.tables`)."""
    if pa.types.is_dictionary(arrow_type):
        return "category"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "datetime"
    return "string"


def quality_report(parquet_path: Path) -> dict:
    """Profile every column of the Parquet file at ``parquet_path`` (see the module docstring for the shape).

    Columns are read one at a time (two at once on two cores), so memory stays near the size of the largest
    column instead of the whole table. ``memory_bytes`` is the in-memory (Arrow) size of the whole table, i.e.
    what the frame costs in RAM once loaded.
    """
    path = Path(parquet_path)
    schema = pq.read_schema(path)
    rows = pq.read_metadata(path).num_rows
    names = schema.names
    if len(set(names)) != len(names):  # duplicate names cannot be read one by one
        table = pq.read_table(path, memory_map=True)
        read = table.column
    else:
        opened = threading.local()  # one ParquetFile (parsed footer) per worker thread

        def read(index: int) -> pa.ChunkedArray:
            if not hasattr(opened, "file"):
                opened.file = pq.ParquetFile(path, memory_map=True)
            return opened.file.read(columns=[names[index]], use_pandas_metadata=False).column(0)

    def profile(index: int) -> tuple[dict[str, Any], int]:
        column = read(index)
        return column_report(names[index], column, rows), int(column.nbytes)

    # Arrow and numpy release the GIL in their kernels, so columns are profiled in parallel.
    workers = max(1, min(len(names), os.cpu_count() or 1, 8))
    if workers > 1 and rows >= 10_000:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(profile, range(len(names))))
    else:
        results = [profile(index) for index in range(len(names))]
    return {
        "rows": rows,
        "columns": len(names),
        "memory_bytes": sum(size for _report, size in results),
        "column_reports": [report for report, _size in results],
    }


# ---------------------------------------------------------------------------------------------- columns


def column_report(name: str, column: pa.ChunkedArray | pa.Array, rows: int) -> dict[str, Any]:
    """The report of one column (see the module docstring); ``rows``: the table's row count."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column], column.type)
    kind = dtype_name(column.type)
    if kind == "category":  # chunks may carry different dictionaries: decode each one
        value_type = column.type.value_type
        column = pa.chunked_array([chunk.dictionary_decode() for chunk in column.chunks], value_type)
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    missing = array.null_count
    nan_count = 0
    if kind == "float" and len(array):
        nan_count = int(pc.sum(pc.is_nan(array)).as_py() or 0)
        missing += nan_count
    report: dict[str, Any] = {
        "name": str(name),
        "dtype": kind,
        "missing": int(missing),
        "missing_pct": round(100.0 * missing / rows, 2) if rows else 0.0,
        "unique": 0,
        "min": None,
        "max": None,
        "mean": None,
        "std": None,
        "histogram": None,
        "top": None,
        "datetime": None,
    }
    if kind in ("integer", "float"):
        report.update(_numeric_profile(array))
    elif kind == "datetime":
        report.update(_datetime_profile(array))
    else:
        report.update(_top_values(array))
    return report


_column_report = column_report  # the former private name


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _numeric_profile(array: pa.Array) -> dict[str, Any]:
    values = array.drop_null().to_numpy(zero_copy_only=False)
    if values.dtype.kind == "f":
        values = values[~np.isnan(values)]
    if values.size == 0:
        return {}
    # Sorting once gives the distinct count (adjacent differences) and min/max; np.unique is much slower on ints.
    values = np.sort(values)
    distinct = int(np.count_nonzero(values[1:] != values[:-1])) + 1
    profile: dict[str, Any] = {"unique": distinct}
    as_float = values.astype(np.float64, copy=False)
    with np.errstate(all="ignore"):
        mean = float(np.mean(as_float))
        std = float(np.std(as_float, ddof=1)) if values.size > 1 else None
    profile.update(
        {
            "min": _finite_or_none(values[0]),
            "max": _finite_or_none(values[-1]),
            "mean": _finite_or_none(mean),
            "std": _finite_or_none(std),
        }
    )
    finite = as_float[np.isfinite(as_float)] if values.dtype.kind == "f" else as_float
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        if low == high:
            low, high = low - 0.5, high + 0.5
        counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS, range=(low, high))
        edges_text = [float(f"{e:.12g}") for e in edges]  # 39.1, not 39.099999999999994
        profile["histogram"] = {"edges": edges_text, "counts": [int(c) for c in counts]}
    return profile


def _as_strings(array: pa.Array) -> pa.Array:
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in array.to_pylist()], pa.string())


def _top_values(array: pa.Array) -> dict[str, Any]:
    array = array.drop_null()
    if len(array) == 0:
        return {"top": []}
    try:
        counted = pc.value_counts(array)
    except pa.ArrowNotImplementedError:
        counted = pc.value_counts(_as_strings(array))
    counts = counted.field("counts").to_numpy(zero_copy_only=False)
    # The k largest counts in O(n); value_counts lists values in first-seen order, which breaks ties.
    if len(counts) > TOP_VALUES:
        kth = np.partition(counts, -TOP_VALUES)[-TOP_VALUES]
        above = np.flatnonzero(counts > kth)
        tied = np.flatnonzero(counts == kth)[: TOP_VALUES - len(above)]
        chosen = np.concatenate([above, tied])
    else:
        chosen = np.arange(len(counts))
    chosen = chosen[np.lexsort((chosen, -counts[chosen]))]
    values = counted.field("values").take(pa.array(chosen)).to_pylist()
    top = [[_display_value(v), int(counts[i])] for v, i in zip(values, chosen, strict=True)]
    return {"unique": len(counts), "top": top}


def _display_value(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    else:
        text = str(value)
    if len(text) > MAX_TOP_VALUE_CHARS:
        text = text[: MAX_TOP_VALUE_CHARS - 1] + "…"
    return text


# --------------------------------------------------------------------------------------------- datetime


def _datetime_profile(array: pa.Array) -> dict[str, Any]:
    """Time coverage of a datetime column.

    ``datetime`` = {"first", "last", "frequency", "regular", "gaps", "longest_gap", "duplicates"}:

    - ``duplicates``: timestamps that repeat an earlier one (n - distinct, missing excluded).
    - the step is the most common positive interval between sorted distinct timestamps (ties: the shortest).
      Calendar steps whose length varies count as one step: intervals of 28..31 days are "1 month",
      89..92 days "1 quarter", 365..366 days "1 year".
    - ``regular``: the step covers at least half of the positive intervals; otherwise ``frequency`` is None,
      ``gaps`` 0 and ``longest_gap`` None (a gap is not defined without a sampling step).
    - ``frequency``: the step as text ("1 day", "15 minutes", "1 hour 30 minutes", "1 month").
    - ``gaps``: number of intervals longer than the step (for calendar steps: longer than the longest month /
      quarter / year).
    - ``longest_gap``: the missing time inside the longest such interval, i.e. interval - step: a daily series
      that lacks 10 consecutive days has an interval of 11 days and a longest gap of "10 days" (10 missing
      timestamps). None when there is no gap.
    """
    unit, tz, is_date = _time_unit(array.type)
    raw = pc.cast(array.drop_null(), pa.int64() if not pa.types.is_date32(array.type) else pa.int32())
    values = raw.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    info: dict[str, Any] = {
        "first": None,
        "last": None,
        "frequency": None,
        "regular": False,
        "gaps": 0,
        "longest_gap": None,
        "duplicates": 0,
    }
    profile: dict[str, Any] = {"datetime": info}
    if values.size == 0:
        return profile
    first = _iso(int(values.min()), unit, tz, is_date)
    last = _iso(int(values.max()), unit, tz, is_date)
    profile.update(min=first, max=last)
    info.update(first=first, last=last)
    if values.size > 1 and not bool(np.all(values[1:] >= values[:-1])):
        values = np.sort(values)
    diffs = np.diff(values)
    positive = diffs[diffs > 0]
    profile["unique"] = int(positive.size) + 1
    info["duplicates"] = int(values.size - profile["unique"])
    if positive.size == 0:
        return profile
    factor = _UNIT_NS[unit]
    steps, counts = np.unique(positive, return_counts=True)
    best = int(np.argmax(counts))
    step, step_count, step_name, gap_threshold = int(steps[best]), int(counts[best]), None, int(steps[best])
    for name, shortest, longest in _CALENDAR_STEPS:
        low, high = shortest * _DAY_NS // factor, longest * _DAY_NS // factor
        if low <= step <= high:
            in_family = int(counts[(steps >= low) & (steps <= high)].sum())
            if in_family > step_count:
                step_count, step_name, gap_threshold = in_family, name, high
            break
    if step_count < REGULAR_SHARE * positive.size:
        return profile
    longer = positive[positive > gap_threshold]
    info.update(
        regular=True,
        frequency=step_name or _human_duration(step * factor),
        gaps=int(longer.size),
        longest_gap=_human_duration((int(longer.max()) - step) * factor) if longer.size else None,
    )
    return profile


def _time_unit(arrow_type: pa.DataType) -> tuple[str, str | None, bool]:
    """(unit of the integer values, time zone, is a date type) of a timestamp / date type."""
    if pa.types.is_timestamp(arrow_type):
        return arrow_type.unit, arrow_type.tz, False
    if pa.types.is_date32(arrow_type):
        return "D", None, True  # date32 counts days
    return "ms", None, True  # date64 counts milliseconds


def _iso(value: int, unit: str, tz: str | None, is_date: bool) -> str:
    if is_date:
        days = value if unit == "D" else value // 86_400_000
        return (date(1970, 1, 1) + pd.Timedelta(days=days).to_pytimedelta()).isoformat()
    stamp = pd.Timestamp(value, unit=unit)
    if tz:
        stamp = stamp.tz_localize("UTC").tz_convert(tz)
    return stamp.isoformat()


_DURATION_UNITS = (
    ("day", _DAY_NS),
    ("hour", 3_600 * 1_000_000_000),
    ("minute", 60 * 1_000_000_000),
    ("second", 1_000_000_000),
    ("millisecond", 1_000_000),
    ("microsecond", 1_000),
    ("nanosecond", 1),
)


def _human_duration(nanoseconds: int) -> str:
    """ "1 day", "10 days", "1 hour 30 minutes" (at most the two largest units, smaller ones dropped)."""
    parts: list[str] = []
    remaining = int(nanoseconds)
    for name, size in _DURATION_UNITS:
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount} {name}{'' if amount == 1 else 's'}")
        if len(parts) == 2 or (parts and not remaining):
            break
    return " ".join(parts) or "0 seconds"
