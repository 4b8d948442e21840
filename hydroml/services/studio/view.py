"""Read-only views of a materialised Studio frame for the grid: sorted, filtered and searched pages.

A view never changes the frame. Its row order (int64 row positions into the frame, after filter and search, then
a stable sort with missing values last in both directions, as `tables.read_page`) is computed once per
``(frame_key, spec)`` and kept in a small module-level LRU cache, so the first page of a view costs about one sort
of the key columns and every later page is a ``take`` of a few hundred rows of the visible columns only. A view
without sort, filter and search is a plain positional slice and caches nothing.

``frame_key`` must identify the frame's content: a new frame (another recipe step, another version) needs a new key.
`forget` drops the cached entries of keys that start with a prefix (e.g. a session id).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hydroml.services.studio.operations.base import NUMERIC, dtype_of
from hydroml.services.tables import MAX_PAGE_ROWS, display_rows

FILTER_OPS = ("=", "!=", "<", "<=", ">", ">=", "contains", "is missing", "not missing")
MAX_PAGE_COLUMNS = 200  # columns of one page (a page travels to the browser in one message)
ORDER_CACHE_ENTRIES = 8
ORDER_CACHE_BYTES = 512 * 1024 * 1024  # 10M rows of int64 positions are 80 MB
MISSING_CACHE_FRAMES = 32

_TRUE_TEXTS = ("true", "t", "yes", "y", "1")
_FALSE_TEXTS = ("false", "f", "no", "n", "0")


@dataclass(frozen=True)
class ViewSpec:
    """How the grid looks at a frame.

    - ``sort``: ``((column, ascending), ...)``, the first column first; stable, missing values last either way.
    - ``filters``: ``((column, op, value_text), ...)``, all must hold; ``op`` is one of `FILTER_OPS`; the value text
      is converted to the column's type ("1.5" for numbers, "2024-01-31 12:00" for dates, "true"/"false" for
      booleans); comparisons never match missing values; "contains" is a case-insensitive substring test on text
      columns; "is missing" / "not missing" ignore the value.
    - ``search``: case-insensitive substring over every text / category column, or (when it reads as a number) an
      exact match in numeric columns; a row matches when any column does.

    Lists are accepted and stored as tuples, so a spec is hashable (it is the cache key).
    """

    sort: tuple[tuple[str, bool], ...] = ()
    filters: tuple[tuple[str, str, str], ...] = ()
    search: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "sort", tuple((str(column), bool(ascending)) for column, ascending in self.sort)
        )
        object.__setattr__(
            self,
            "filters",
            tuple(
                (str(column), str(op), "" if value is None else str(value))
                for column, op, value in self.filters
            ),
        )
        object.__setattr__(self, "search", "" if self.search is None else str(self.search))

    @property
    def is_plain(self) -> bool:
        """No sort, no filter, no search: the frame's own row order."""
        return not self.sort and not self.filters and not self.search.strip()


@dataclass(frozen=True)
class ViewPage:
    """One page of a view.

    ``columns``: [{"name", "dtype", "missing", "numeric"}] for the visible column window (``missing`` counts the
    whole frame, not the view); ``rows``: display strings (as `tables.read_page`, raw text: the UI escapes it);
    ``total_rows``: rows of the view (after filter and search); ``frame_rows``: rows of the frame;
    ``total_columns``: columns of the frame; ``offset`` / ``column_offset``: the first row / column of the page.
    """

    columns: list[dict]
    rows: list[list[str]]
    total_rows: int
    frame_rows: int
    total_columns: int
    offset: int
    column_offset: int


def column_series(frame: pd.DataFrame, column: str, role: str = "column") -> pd.Series:
    """The column named ``column`` (compared as text; the first one when names repeat); ValueError if unknown."""
    position = _positions(frame).get(str(column))
    if position is None:
        raise ValueError(f"Unknown {role}: {str(column)!r} is not a column of this table.")
    return frame.iloc[:, position]


# ------------------------------------------------------------------------------------------------- caches

_lock = threading.Lock()
_orders: OrderedDict[tuple[str, ViewSpec], tuple[int, np.ndarray]] = OrderedDict()
_missing: OrderedDict[str, tuple[int, int, dict[int, int]]] = OrderedDict()


def forget(frame_key_prefix: str) -> None:
    """Drop the cached row orders and missing counts of every frame key starting with ``frame_key_prefix``."""
    prefix = str(frame_key_prefix)
    with _lock:
        for key in [k for k in _orders if k[0].startswith(prefix)]:
            del _orders[key]
        for key in [k for k in _missing if k.startswith(prefix)]:
            del _missing[key]


def _cached_order(frame_key: str, spec: ViewSpec, rows: int) -> np.ndarray | None:
    with _lock:
        entry = _orders.get((frame_key, spec))
        if entry is None or entry[0] != rows:
            return None
        _orders.move_to_end((frame_key, spec))
        return entry[1]


def _store_order(frame_key: str, spec: ViewSpec, rows: int, order: np.ndarray) -> None:
    with _lock:
        _orders[(frame_key, spec)] = (rows, order)
        _orders.move_to_end((frame_key, spec))
        total = sum(entry[1].nbytes for entry in _orders.values())
        while len(_orders) > 1 and (len(_orders) > ORDER_CACHE_ENTRIES or total > ORDER_CACHE_BYTES):
            _key, (_rows, dropped) = _orders.popitem(last=False)
            total -= dropped.nbytes


def _missing_counts(frame: pd.DataFrame, frame_key: str, positions: range) -> dict[int, int]:
    shape = frame.shape
    with _lock:
        entry = _missing.get(frame_key)
        if entry is None or (entry[0], entry[1]) != shape:
            entry = (shape[0], shape[1], {})
            _missing[frame_key] = entry
        _missing.move_to_end(frame_key)
        while len(_missing) > MISSING_CACHE_FRAMES:
            _missing.popitem(last=False)
        known = dict(entry[2])
    todo = [i for i in positions if i not in known]
    computed = {i: int(frame.iloc[:, i].isna().sum()) for i in todo}
    if computed:
        with _lock:
            entry[2].update(computed)
    known.update(computed)
    return known


# --------------------------------------------------------------------------------------------------- pages


def view_page(
    frame: pd.DataFrame,
    frame_key: str,
    spec: ViewSpec,
    offset: int,
    limit: int,
    column_offset: int = 0,
    column_limit: int = 50,
) -> ViewPage:
    """Rows ``offset .. offset + limit`` (at most `MAX_PAGE_ROWS`) of the view ``spec`` of ``frame``, columns
    ``column_offset .. column_offset + column_limit`` (at most `MAX_PAGE_COLUMNS`).

    An offset at or past the end gives no rows with the true ``total_rows``. Unknown columns, unknown filter
    operators and filter values that do not fit the column's type raise ValueError with a message for the user.
    """
    spec = spec if spec is not None else ViewSpec()
    frame_rows, total_columns = frame.shape
    offset = max(0, int(offset))
    limit = max(0, min(int(limit), MAX_PAGE_ROWS))
    column_offset = max(0, int(column_offset))
    column_limit = max(0, min(int(column_limit), MAX_PAGE_COLUMNS))
    visible = range(min(column_offset, total_columns), min(total_columns, column_offset + column_limit))

    order = None if spec.is_plain else row_order(frame, frame_key, spec)
    total_rows = frame_rows if order is None else len(order)

    missing = _missing_counts(frame, frame_key, visible)
    columns = []
    for i in visible:
        kind = dtype_of(frame.iloc[:, i])
        columns.append(
            {"name": str(frame.columns[i]), "dtype": kind, "missing": missing[i], "numeric": kind in NUMERIC}
        )

    stop = min(total_rows, offset + limit)
    if offset >= stop:
        rows: list[list[str]] = []
    elif not len(visible):
        rows = [[] for _ in range(stop - offset)]
    elif order is None:
        rows = _display(frame.iloc[offset:stop, visible.start : visible.stop])
    else:
        rows = _display(frame.iloc[order[offset:stop], visible.start : visible.stop])
    return ViewPage(
        columns=columns,
        rows=rows,
        total_rows=total_rows,
        frame_rows=frame_rows,
        total_columns=total_columns,
        offset=offset,
        column_offset=column_offset,
    )


def row_order(frame: pd.DataFrame, frame_key: str, spec: ViewSpec) -> np.ndarray:
    """The view's rows as int64 positions into ``frame`` (cached per ``(frame_key, spec)``; do not modify)."""
    cached = _cached_order(frame_key, spec, len(frame))
    if cached is not None:
        return cached
    order = _compute_order(frame, spec)
    order.flags.writeable = False
    _store_order(frame_key, spec, len(frame), order)
    return order


def _display(part: pd.DataFrame) -> list[list[str]]:
    arrays = []
    for j in range(part.shape[1]):
        array = to_arrow(part.iloc[:, j])
        arrays.append(array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array], array.type))
    table = pa.Table.from_arrays(arrays, names=[str(name) for name in part.columns])
    return display_rows(table)


def to_arrow(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The column as Arrow (NaN / NaT / None become nulls); columns Arrow cannot type become their texts."""
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        values = series.to_numpy(dtype=object)
        return pa.array([None if _missing_value(v) else _text(v) for v in values], pa.string())


def _missing_value(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-likes
        return False


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


# ------------------------------------------------------------------------------------------------- order


def _positions(frame: pd.DataFrame) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, name in enumerate(frame.columns):
        positions.setdefault(str(name), i)
    return positions


def _compute_order(frame: pd.DataFrame, spec: ViewSpec) -> np.ndarray:
    positions = _positions(frame)
    for column, _ascending in spec.sort:
        if column not in positions:
            raise ValueError(f"Unknown sort column: {column!r} is not a column of this table.")
    for column, op, _value in spec.filters:
        if column not in positions:
            raise ValueError(f"Unknown filter column: {column!r} is not a column of this table.")
        if op not in FILTER_OPS:
            raise ValueError(
                f"Unknown filter operator {op!r} for {column!r}; use one of: {', '.join(FILTER_OPS)}."
            )

    mask: np.ndarray | None = None
    for column, op, value in spec.filters:
        matches = filter_mask(frame.iloc[:, positions[column]], column, op, value)
        mask = matches if mask is None else (mask & matches)
    search = spec.search.strip()
    if search:
        matches = search_mask(frame, search)
        mask = matches if mask is None else (mask & matches)
    rows = None if mask is None else np.flatnonzero(mask).astype(np.int64, copy=False)

    if not spec.sort:
        return rows if rows is not None else np.arange(len(frame), dtype=np.int64)
    if rows is not None and len(rows) == 0:
        return rows
    if len(spec.sort) == 1:
        column, ascending = spec.sort[0]
        presorted = _presorted(frame.iloc[:, positions[column]], ascending, rows)
        if presorted is not None:
            return presorted
    keys = {}
    for index, (column, _ascending) in enumerate(spec.sort):
        key = _sort_key(frame.iloc[:, positions[column]])
        if rows is not None:
            key = key.take(pa.array(rows))
        keys[f"k{index}"] = key
    directions = [(f"k{i}", "ascending" if asc else "descending") for i, (_c, asc) in enumerate(spec.sort)]
    indices = (
        _sort_indices(pa.table(keys), directions).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    )
    return indices if rows is None else rows[indices]


def _presorted(series: pd.Series, ascending: bool, rows: np.ndarray | None) -> np.ndarray | None:
    """The order of a plain numpy column that is already sorted (time columns often are) in O(n), else None."""
    dtype = series.dtype
    if not isinstance(dtype, np.dtype) or dtype.kind not in "iufM":
        return None
    values = series.to_numpy()
    if rows is not None:
        values = values[rows]
    identity = rows if rows is not None else np.arange(len(values), dtype=np.int64)
    # comparisons with NaN / NaT are false, so a column with missing values is never taken as sorted
    with np.errstate(invalid="ignore"):
        if ascending and bool(np.all(values[1:] >= values[:-1])):
            return identity
        if not ascending and bool(np.all(values[1:] <= values[:-1])):
            return identity
        if not ascending and bool(np.all(values[1:] > values[:-1])):
            return identity[::-1].copy()
    return None


def _sort_key(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """An Arrow array that sorts like the column, with every missing value (NaN included) a null."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        if series.cat.ordered:
            rank = np.arange(len(categories), dtype=np.int64)
        else:  # unordered categories sort by their values, as in a file
            try:
                by_value = np.asarray(categories.argsort(), dtype=np.int64)
            except TypeError:
                by_value = np.asarray(categories.astype(str).argsort(), dtype=np.int64)
            rank = np.empty(len(categories), dtype=np.int64)
            rank[by_value] = np.arange(len(categories), dtype=np.int64)
        codes = series.cat.codes.to_numpy()
        return pa.array(
            np.append(rank, 0)[codes], mask=codes < 0
        )  # code -1 (missing) -> the appended 0, masked
    array = to_arrow(series)
    if (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)) and _few_distinct(array):
        return _text_ranks(array)
    if pa.types.is_floating(array.type) and not isinstance(series.dtype, np.dtype):
        array = pc.if_else(
            pc.is_nan(array), pa.scalar(None, array.type), array
        )  # Arrow-backed floats keep NaN
    return array


def _few_distinct(array: pa.Array | pa.ChunkedArray, sample: int = 10_000) -> bool:
    """Whether a column seems to repeat its values (station names, flags), judged on evenly spaced values."""
    if len(array) <= sample:
        return True
    picked = array.take(pa.array(np.linspace(0, len(array) - 1, sample).astype(np.int64)))
    return pc.count_distinct(picked).as_py() <= sample // 5


def _text_ranks(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The rank of each text among the column's distinct texts (nulls stay null): hashing the texts and sorting
    only the distinct ones, then sorting integers, is several times faster than sorting the texts themselves."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    encoded = pc.dictionary_encode(array)
    by_value = pc.sort_indices(encoded.dictionary).to_numpy(zero_copy_only=False)
    rank = np.empty(len(by_value), dtype=np.int64)
    rank[by_value] = np.arange(len(by_value), dtype=np.int64)
    indices = encoded.indices
    codes = (
        pc.fill_null(indices, 0).to_numpy(zero_copy_only=False) if indices.null_count else indices.to_numpy()
    )
    mask = indices.is_null().to_numpy(zero_copy_only=False) if indices.null_count else None
    return pa.array(rank[codes] if len(rank) else np.zeros(len(codes), dtype=np.int64), mask=mask)


def _sort_indices(table: pa.Table, directions: list[tuple[str, str]]) -> pa.Array:
    try:
        options = pc.SortOptions(sort_keys=[(name, order, "at_end") for name, order in directions])
        return pc.sort_indices(table, options=options)
    except (TypeError, ValueError, pa.ArrowException):  # pyarrow < 20: one null placement for all keys
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return pc.sort_indices(table, sort_keys=directions, null_placement="at_end")


# ---------------------------------------------------------------------------------------- filter / search


def filter_mask(series: pd.Series, column: str, op: str, value: str) -> np.ndarray:
    """Boolean numpy mask of the rows where ``column op value`` holds (see `ViewSpec`)."""
    if op not in FILTER_OPS:
        raise ValueError(
            f"Unknown filter operator {op!r} for {column!r}; use one of: {', '.join(FILTER_OPS)}."
        )
    missing = series.isna().to_numpy(dtype=bool)
    if op == "is missing":
        return missing
    if op == "not missing":
        return ~missing
    kind = dtype_of(series)
    if kind == "category":  # test each category once, then look the codes up
        categories = pd.Series(series.cat.categories)
        by_category = filter_mask(categories, column, op, value)
        return np.append(by_category, False)[series.cat.codes.to_numpy()]
    if op == "contains":
        if kind != "string":
            raise ValueError(
                f"Filter on {column!r}: “contains” works on text columns only; use = or < / > instead."
            )
        return _bools(series.str.contains(value, case=False, regex=False, na=False))
    target = _filter_value(series, kind, column, value)
    try:
        result = _compare(series, op, target)
    except TypeError:  # a column of mixed Python objects: compare the texts
        result = _compare(series.astype(str), op, str(target))
    return _bools(result) & ~missing


def _compare(series: pd.Series, op: str, target: object) -> pd.Series:
    if op == "=":
        return series == target
    if op == "!=":
        return series != target
    if op == "<":
        return series < target
    if op == "<=":
        return series <= target
    if op == ">":
        return series > target
    return series >= target


def _bools(result: pd.Series | np.ndarray) -> np.ndarray:
    if isinstance(result, pd.Series):
        return result.to_numpy(dtype=bool, na_value=False)
    return np.asarray(result, dtype=bool)


def parse_number(text: str) -> int | float | None:
    """``text`` as a number (an int when it is written as one), or None."""
    text = str(text).strip().replace("_", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def _filter_value(series: pd.Series, kind: str, column: str, text: str) -> object:
    if kind in NUMERIC:
        number = parse_number(text)
        if number is None:
            raise ValueError(f"Filter on {column!r}: {text!r} is not a number.")
        return number
    if kind == "boolean":
        word = text.strip().lower()
        if word in _TRUE_TEXTS:
            return True
        if word in _FALSE_TEXTS:
            return False
        raise ValueError(f"Filter on {column!r}: {text!r} is not a yes/no value; use true or false.")
    if kind == "datetime":
        try:
            stamp = pd.Timestamp(text.strip())
        except (ValueError, TypeError, OverflowError):
            stamp = pd.NaT
        if stamp is pd.NaT or pd.isna(stamp):
            raise ValueError(
                f"Filter on {column!r}: {text!r} is not a date or time; write it like 2024-01-31 or 2024-01-31 12:00."
            )
        zone = getattr(series.dtype, "tz", None)
        if zone is not None and stamp.tz is None:
            stamp = stamp.tz_localize(zone)
        elif zone is None and stamp.tz is not None:
            stamp = stamp.tz_localize(None)
        return stamp
    return text


def search_mask(frame: pd.DataFrame, text: str) -> np.ndarray:
    """Rows where any text / category column contains ``text`` (ignoring case) or, when ``text`` is a number,
    any numeric column equals it."""
    needle = str(text).strip()
    mask = np.zeros(len(frame), dtype=bool)
    if not needle:
        return mask
    number = parse_number(needle)
    if isinstance(number, float) and math.isnan(number):
        number = None
    for i in range(frame.shape[1]):
        series = frame.iloc[:, i]
        kind = dtype_of(series)
        if kind == "string":
            mask |= _bools(series.str.contains(needle, case=False, regex=False, na=False))
        elif kind == "category":
            categories = pd.Series(series.cat.categories).astype(str)
            by_category = _bools(categories.str.contains(needle, case=False, regex=False, na=False))
            mask |= np.append(by_category, False)[series.cat.codes.to_numpy()]
        elif kind in NUMERIC and number is not None:
            mask |= _bools(series == number)
    return mask
