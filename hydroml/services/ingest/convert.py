"""Column types: infer a type from a sample and convert whole Arrow arrays to it, counting invalid values.

Every conversion is vectorised (pyarrow.compute) with a fast path for clean data; a value that cannot be
converted becomes missing and is counted, never silently dropped. Inference runs the very same converters on
the sample, so the preview and the import agree on every value.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Spellings of "no value" (compared trimmed and lower-cased) for numbers, booleans and dates.
# Text columns keep them verbatim: only an empty cell is missing there.
NA_TOKENS = (
    "",
    "na",
    "n/a",
    "nan",
    "-nan",
    "null",
    "none",
    "nat",
    "#n/a",
    "#na",
    "<na>",
    "#n/a n/a",
    "-1.#ind",
    "1.#ind",
    "-1.#qnan",
    "1.#qnan",
)
TRUE_TOKENS = ("true", "yes", "y", "t", "1", "1.0", "on")
FALSE_TOKENS = ("false", "no", "n", "f", "0", "0.0", "off")
BOOLEAN_WORDS = ("true", "false", "yes", "no")  # what makes a column look boolean
# Spreadsheet error results: ignored when guessing a column's type, counted as invalid when converting.
SPREADSHEET_ERRORS = ("#div/0!", "#value!", "#ref!", "#name?", "#num!", "#null!", "#spill!", "#calc!")

_NA_SET = pa.array(NA_TOKENS, pa.string())
_TRUE_SET = pa.array(TRUE_TOKENS, pa.string())
_FALSE_SET = pa.array(FALSE_TOKENS, pa.string())
_BOOLEAN_WORDS_SET = pa.array(BOOLEAN_WORDS, pa.string())
_ERRORS_SET = pa.array(SPREADSHEET_ERRORS, pa.string())

_FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^(?i)[+-]?(inf|infinity)$"
_INT_RE = r"^-?\d+$"
_LEADING_ZERO_RE = r"^[+-]?0\d"
_ISO_RE = r"^\s*\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}(:\d{1,2}(:\d{1,2}([.,]\d+)?)?)?)?\s*$"
_ISO_TZ_RE = (
    r"^\s*\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{1,2}(:\d{1,2}([.,]\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)\s*$"
)
_MIN_YEAR = 100  # '%Y' also accepts two digits ('31/12/20' -> year 20): those belong to the '%y' formats
GROUP_BELOW_ROWS = 2048  # batches shorter than this convert same-typed columns in one call

ISO = "ISO8601"
ISO_TZ = "ISO8601 with time zone"


@dataclass(frozen=True)
class NumberStyle:
    decimal: str = "."
    thousands: str | None = None


PLAIN_NUMBERS = NumberStyle()


@functools.lru_cache(maxsize=32)
def arrow_type(dtype: str, tz: bool = False) -> pa.DataType:
    return {
        "integer": pa.int64(),
        "float": pa.float64(),
        "string": pa.string(),
        "boolean": pa.bool_(),
        "datetime": pa.timestamp("us", "UTC" if tz else None),
        "category": pa.dictionary(pa.int32(), pa.string()),
    }[dtype]


def naive_formats(dayfirst: bool) -> tuple[str, ...]:
    """Date formats tried for a naive datetime column, day-first or month-first (never both)."""
    first, second = ("%d", "%m") if dayfirst else ("%m", "%d")
    formats = [ISO]
    for sep in ("/", ".", "-"):
        for year in ("%Y", "%y"):
            date = f"{first}{sep}{second}{sep}{year}"
            formats += [date, f"{date} %H:%M", f"{date} %H:%M:%S"]
    for sep in ("/", "."):
        date = f"%Y{sep}%m{sep}%d"
        formats += [date, f"{date} %H:%M", f"{date} %H:%M:%S"]
    formats += ["%d-%b-%Y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y %H:%M"]
    return tuple(formats)


def aware_formats() -> tuple[str, ...]:
    return (ISO_TZ,)


# ---------------------------------------------------------------------------------------------- helpers


def _valid(arr: pa.Array) -> int:
    return len(arr) - arr.null_count


def _null_where(mask: pa.Array, arr: pa.Array) -> pa.Array:
    return pc.if_else(mask, pa.scalar(None, arr.type), arr)


def _as_string(arr: pa.Array) -> pa.Array:
    """Any Arrow array as strings (numbers, dates, booleans via Arrow; nested values as JSON)."""
    if pa.types.is_string(arr.type):
        return arr
    if pa.types.is_large_string(arr.type) or pa.types.is_dictionary(arr.type):
        return pc.cast(arr, pa.string())
    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    try:
        return pc.cast(arr, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pa.array([_plain_text(value) for value in arr.to_pylist()], pa.string())


def _plain_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def clean_missing(arr: pa.Array) -> pa.Array:
    """Trimmed strings with every spelling of 'no value' as null."""
    trimmed = pc.utf8_trim_whitespace(arr)
    return _null_where(pc.is_in(pc.utf8_lower(trimmed), value_set=_NA_SET), trimmed)


def _remove_thousands(arr: pa.Array, style: NumberStyle) -> pa.Array:
    """Drop thousands separators from correctly grouped numbers only ('1.234,5'); a value such as
    '31.12.2020' keeps its separators, so it is not silently read as the number 31122020."""
    if not style.thousands or not pc.any(pc.match_substring(arr, style.thousands)).as_py():
        return arr
    sep, dec = re.escape(style.thousands), re.escape(style.decimal)
    grouped = pc.match_substring_regex(arr, rf"^\s*[+-]?\d{{1,3}}({sep}\d{{3}})+({dec}\d*)?\s*$")
    return pc.if_else(pc.fill_null(grouped, False), pc.replace_substring(arr, style.thousands, ""), arr)


def _normalize_number_text(arr: pa.Array, style: NumberStyle) -> pa.Array:
    arr = _remove_thousands(arr, style)
    if style.decimal != ".":
        arr = pc.replace_substring(arr, style.decimal, ".")
    return arr


def _cast_each(arr: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast value by value semantics at array speed: split the array where a cast fails, down to single values."""
    try:
        return pc.cast(arr, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        if len(arr) <= 1:
            return pa.nulls(len(arr), target)
        middle = len(arr) // 2
        return pa.concat_arrays(
            [_cast_each(arr.slice(0, middle), target), _cast_each(arr.slice(middle), target)]
        )


def _cast_tolerant(arr: pa.Array, target: pa.DataType, pattern: str | None = None) -> pa.Array:
    if pattern is not None and _valid(arr):
        arr = _null_where(pc.invert(pc.fill_null(pc.match_substring_regex(arr, pattern), False)), arr)
    if _valid(arr) == 0:
        return pa.nulls(len(arr), target)
    return _cast_each(arr, target)


def _nan_to_null(arr: pa.Array) -> pa.Array:
    nan = pc.is_nan(arr)
    return _null_where(nan, arr) if pc.any(nan).as_py() else arr


# ---------------------------------------------------------------------------------------------- text -> type


# `speculative`: first try one cast of the whole array, which is fastest when every value converts (the usual
# case for a column) but slow when many values fail (Arrow builds an error for each), as when guessing types.


def text_to_float(arr: pa.Array, style: NumberStyle, speculative: bool = True) -> tuple[pa.Array, int]:
    if speculative:
        try:
            return _nan_to_null(pc.cast(_normalize_number_text(arr, style), pa.float64())), 0
        except pa.ArrowInvalid:
            pass
    cleaned = clean_missing(arr)
    out = _cast_tolerant(_normalize_number_text(cleaned, style), pa.float64(), _FLOAT_RE)
    return _nan_to_null(out), _valid(cleaned) - _valid(out)


def text_to_integer(
    arr: pa.Array, style: NumberStyle, strict: bool = False, speculative: bool = True
) -> tuple[pa.Array, int]:
    """Whole numbers; '5.0' is accepted as 5 unless `strict` (used to infer the type)."""
    if speculative:
        try:
            return pc.cast(_remove_thousands(arr, style), pa.int64()), 0
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    cleaned = clean_missing(arr)
    text = _remove_thousands(pc.replace_substring_regex(cleaned, r"^\+", ""), style)
    out = _cast_tolerant(text, pa.int64(), _INT_RE)
    if not strict:
        rest = pc.and_(pc.is_valid(cleaned), pc.is_null(out))
        if pc.any(rest).as_py():
            floats, _ = text_to_float(_null_where(pc.invert(rest), cleaned), style)
            whole = pc.and_(pc.equal(floats, pc.floor(floats)), pc.less_equal(pc.abs(floats), 2.0**53))
            whole = pc.fill_null(whole, False)
            out = pc.coalesce(out, pc.cast(_null_where(pc.invert(whole), floats), pa.int64()))
    return out, _valid(cleaned) - _valid(out)


def text_to_boolean(arr: pa.Array) -> tuple[pa.Array, int]:
    cleaned = clean_missing(arr)
    lower = pc.utf8_lower(cleaned)
    out = pc.if_else(
        pc.is_in(lower, value_set=_TRUE_SET),
        True,
        pc.if_else(pc.is_in(lower, value_set=_FALSE_SET), False, pa.scalar(None, pa.bool_())),
    )
    return out, _valid(cleaned) - _valid(out)


def _parse_dates(arr: pa.Array, fmt: str, target: pa.DataType, speculative: bool = True) -> pa.Array:
    if fmt in (ISO, ISO_TZ):
        if speculative:
            try:
                return pc.cast(arr, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        return _cast_tolerant(pc.utf8_trim_whitespace(arr), target, _ISO_TZ_RE if fmt == ISO_TZ else _ISO_RE)
    out = pc.strptime(arr, format=fmt, unit="us", error_is_null=True)
    if out.type != target:
        try:
            out = pc.cast(out, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return pa.nulls(len(arr), target)
    if "%Y" in fmt and _valid(out):
        out = _null_where(pc.fill_null(pc.less(pc.year(out), _MIN_YEAR), False), out)
    return out


def text_to_datetime(arr: pa.Array, formats: tuple[str, ...], tz: bool) -> tuple[pa.Array, int]:
    """Try each format on the values still unparsed; the formats never overlap, so their order only matters
    for speed (the plan puts the format seen most often in the sample first)."""
    target = arrow_type("datetime", tz)
    text = arr
    need = _valid(text)
    out = pa.nulls(len(arr), target)
    for cleaned_pass in (False, True):
        if cleaned_pass:
            text = clean_missing(arr)
            need = _valid(text)
        for fmt in formats:
            if _valid(out) >= need:
                break
            remaining = _null_where(pc.is_valid(out), text) if _valid(out) else text
            out = pc.coalesce(out, _parse_dates(remaining, fmt, target))
        if _valid(out) >= need:
            break
    return out, need - _valid(out)


def text_to_category(arr: pa.Array) -> pa.Array:
    return pc.cast(pc.dictionary_encode(arr), arrow_type("category"))


# ---------------------------------------------------------------------------------------------- any -> type


@dataclass(frozen=True)
class ColumnRule:
    """How one column is converted: the confirmed type plus what the sample taught us about it."""

    dtype: str
    formats: tuple[str, ...] = ()
    tz: bool = False


def convert(arr: pa.Array, rule: ColumnRule, style: NumberStyle) -> tuple[pa.Array, int]:
    """Convert `arr` (strings from text files, or native Parquet types) to the rule's type.

    Returns the converted array and how many present values could not be converted (now missing).
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    target = arrow_type(rule.dtype, rule.tz)
    native = arr.type
    if native == target:
        return arr, 0
    if rule.dtype == "string":
        return _as_string(arr), 0
    if rule.dtype == "category":
        return text_to_category(_as_string(arr)), 0
    if pa.types.is_null(native):
        return pa.nulls(len(arr), target), 0
    if rule.dtype == "datetime" and (pa.types.is_timestamp(native) or pa.types.is_date(native)):
        if pa.types.is_timestamp(native) and native.tz and not rule.tz:
            return _cast_each(pc.cast(arr, pa.timestamp("us", "UTC")), pa.timestamp("us")), 0
        out = _cast_each(arr, target)
        return out, _valid(arr) - _valid(out)
    numeric = pa.types.is_integer(native) or pa.types.is_floating(native) or pa.types.is_decimal(native)
    if rule.dtype in ("integer", "float") and (numeric or pa.types.is_boolean(native)):
        out = _cast_each(arr, target)
        if rule.dtype == "float":
            out = _nan_to_null(out)
        return out, _valid(arr) - _valid(out) - _nan_count(arr)
    if rule.dtype == "boolean" and pa.types.is_integer(native):
        text = _as_string(arr)
        return text_to_boolean(text)
    text = _as_string(arr)
    if rule.dtype == "integer":
        return text_to_integer(text, style)
    if rule.dtype == "float":
        return text_to_float(text, style)
    if rule.dtype == "boolean":
        return text_to_boolean(text)
    if rule.dtype == "datetime":
        return text_to_datetime(text, rule.formats or naive_formats(False), rule.tz)
    raise ValueError(f"unknown column type {rule.dtype!r}")


def _nan_count(arr: pa.Array) -> int:
    if pa.types.is_floating(arr.type):
        return int(pc.sum(pc.cast(pc.fill_null(pc.is_nan(arr), False), pa.int64())).as_py() or 0)
    return 0


def _present(arr: pa.Array) -> pa.Array:
    """Values that count as given (so failing to convert them is an invalid value, not a missing one)."""
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return pc.is_valid(clean_missing(arr))
    if pa.types.is_floating(arr.type):
        return pc.and_(pc.is_valid(arr), pc.invert(pc.fill_null(pc.is_nan(arr), False)))
    return pc.is_valid(arr)


def convert_columns(
    arrays: list[pa.Array], rules: list[ColumnRule], style: NumberStyle
) -> tuple[list[pa.Array], list[int]]:
    """convert() for a batch of columns. In short batches (wide tables) columns with the same rule are
    converted together: every conversion works value by value, so this gives the same values in far fewer
    calls; long batches are converted column by column (no copy)."""
    arrays = [arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr for arr in arrays]
    out: list[pa.Array | None] = [None] * len(arrays)
    invalid = [0] * len(arrays)
    groups: dict[tuple, list[int]] = {}
    short = bool(arrays) and len(arrays[0]) < GROUP_BELOW_ROWS
    for index, (arr, rule) in enumerate(zip(arrays, rules, strict=True)):
        if not short or rule.dtype == "category" or arr.type == arrow_type(rule.dtype, rule.tz):
            out[index], invalid[index] = convert(arr, rule, style)
        else:
            groups.setdefault((rule, arr.type), []).append(index)
    for (rule, _), members in groups.items():
        if len(members) == 1:
            index = members[0]
            out[index], invalid[index] = convert(arrays[index], rule, style)
            continue
        lengths = [len(arrays[index]) for index in members]
        joined = pa.concat_arrays([arrays[index] for index in members])
        converted, bad = convert(joined, rule, style)
        start = 0
        for index, length in zip(members, lengths, strict=True):
            out[index] = converted.slice(start, length)
            start += length
        if bad:
            failed = pc.and_(_present(joined), pc.is_null(converted))
            for index, count in zip(members, _Segments(lengths).count(failed), strict=True):
                invalid[index] = int(count)
    return out, invalid  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------- inference


def native_dtype(arrow: pa.DataType) -> str | None:
    """The HydroML type of a typed (Parquet) column, or None when it holds text to infer from."""
    if pa.types.is_integer(arrow):
        return "integer"
    if pa.types.is_floating(arrow) or pa.types.is_decimal(arrow):
        return "float"
    if pa.types.is_boolean(arrow):
        return "boolean"
    if pa.types.is_timestamp(arrow) or pa.types.is_date(arrow):
        return "datetime"
    if pa.types.is_dictionary(arrow):
        return "category"
    return "string"


def _rank_formats(text: pa.Array, candidates: tuple[str, ...], tz: bool) -> tuple[tuple[str, ...], bool]:
    """Order candidates by how many sample values each parses; True when every present value parses."""
    target = arrow_type("datetime", tz)
    cleaned = clean_missing(text)
    hits: dict[str, int] = {}
    parsed = pa.nulls(len(cleaned), target)
    for fmt in candidates:
        remaining = _null_where(pc.is_valid(parsed), cleaned) if _valid(parsed) else cleaned
        if _valid(remaining) == 0:
            break
        out = _parse_dates(remaining, fmt, target)
        if _valid(out):
            hits[fmt] = _valid(out)
            parsed = pc.coalesce(parsed, out)
    ranked = sorted(hits, key=lambda fmt: -hits[fmt])
    ordered = tuple(ranked) + tuple(fmt for fmt in candidates if fmt not in hits)
    return ordered, bool(hits) and _valid(parsed) == _valid(cleaned)


def datetime_rule(text: pa.Array, dayfirst: bool) -> tuple[ColumnRule, bool]:
    """The datetime rule for a text sample and whether every present value fits it."""
    naive, all_naive = _rank_formats(text, naive_formats(dayfirst), tz=False)
    if all_naive:
        return ColumnRule("datetime", naive, False), True
    aware, all_aware = _rank_formats(text, aware_formats(), tz=True)
    if all_aware:
        return ColumnRule("datetime", aware, True), True
    return ColumnRule("datetime", naive, False), False


def _is_text(arr: pa.Array) -> bool:
    return pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) or pa.types.is_null(arr.type)


def _native_rule(arr: pa.Array, dayfirst: bool) -> ColumnRule:
    native = native_dtype(arr.type)
    if native == "datetime":
        tz = pa.types.is_timestamp(arr.type) and bool(arr.type.tz)
        return ColumnRule("datetime", naive_formats(dayfirst), tz)
    return ColumnRule(native or "string")


class _Segments:
    """Per-column reductions over the concatenation of several columns (one Arrow call for all columns:
    a sample of 10,000 columns is typed as fast as one of ten)."""

    def __init__(self, lengths: list[int]) -> None:
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)

    @staticmethod
    def _mask(values: pa.Array) -> np.ndarray:
        return pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(bool)

    def all(self, values: pa.Array) -> np.ndarray:
        return np.logical_and.reduceat(self._mask(values), self.offsets)

    def any(self, values: pa.Array) -> np.ndarray:
        return np.logical_or.reduceat(self._mask(values), self.offsets)

    def count(self, values: pa.Array) -> np.ndarray:
        return np.add.reduceat(self._mask(values).astype(np.int64), self.offsets)


def infer_rules(columns: list[pa.Array], style: NumberStyle, dayfirst: bool) -> list[ColumnRule]:
    """The type each column's sample suggests; text that fits nothing else stays text.

    Order of preference: boolean (true/false/yes/no), integer (no leading zeros: station codes such as
    01646500 stay text), float, datetime (naive, else with a time zone), string. Spreadsheet errors such as
    #DIV/0! do not prevent a numeric type (they are counted as invalid on import).
    """
    columns = [arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr for arr in columns]
    rules: list[ColumnRule | None] = [None] * len(columns)
    texts: list[int] = []
    for index, arr in enumerate(columns):
        if not _is_text(arr):
            rules[index] = _native_rule(arr, dayfirst)
        elif len(arr) == arr.null_count:
            rules[index] = ColumnRule("string")  # nothing to learn from
        else:
            texts.append(index)
    if not texts:
        return rules  # type: ignore[return-value]
    parts = [
        columns[i] if pa.types.is_string(columns[i].type) else pc.cast(columns[i], pa.string()) for i in texts
    ]
    segments = _Segments([len(part) for part in parts])
    text = pa.concat_arrays(parts)
    cleaned = clean_missing(text)
    lower = pc.utf8_lower(cleaned)
    errors = pc.fill_null(pc.is_in(lower, value_set=_ERRORS_SET), False)
    if pc.any(errors).as_py():
        text, cleaned, lower = (_null_where(errors, arr) for arr in (text, cleaned, lower))
    absent = pc.is_null(cleaned)
    has_values = segments.any(pc.invert(absent))

    boolean = segments.all(pc.or_(absent, pc.is_in(lower, value_set=_BOOLEAN_WORDS_SET)))
    integers, _ = text_to_integer(text, style, strict=True, speculative=False)
    integer = segments.all(pc.or_(absent, pc.is_valid(integers)))
    leading_zero = segments.any(pc.match_substring_regex(cleaned, _LEADING_ZERO_RE))
    floats, _ = text_to_float(text, style, speculative=False)
    floating = segments.all(pc.or_(absent, pc.is_valid(floats)))
    decided = ~has_values | boolean | integer | floating

    dates: dict[int, ColumnRule] = {}
    undecided = [position for position in range(len(texts)) if not decided[position]]
    if undecided:
        keep = np.repeat(~decided, [len(part) for part in parts])
        candidates = _null_where(pc.invert(pa.array(keep)), cleaned)
        for tz, formats in ((False, naive_formats(dayfirst)), (True, aware_formats())):
            fits, ranked = _rank_formats_by_column(candidates, formats, tz, segments)
            for position in undecided:
                if position not in dates and fits[position]:
                    dates[position] = ColumnRule("datetime", ranked[position], tz)
            if len(dates) == len(undecided):
                break
            keep_undecided = np.repeat(
                [position in undecided and position not in dates for position in range(len(texts))],
                [len(part) for part in parts],
            )
            candidates = _null_where(pc.invert(pa.array(keep_undecided)), candidates)

    for position, index in enumerate(texts):
        if not has_values[position]:
            rules[index] = ColumnRule("string")
        elif boolean[position]:
            rules[index] = ColumnRule("boolean")
        elif integer[position]:
            rules[index] = ColumnRule("string" if leading_zero[position] else "integer")
        elif floating[position]:
            rules[index] = ColumnRule("float")
        else:
            rules[index] = dates.get(position, ColumnRule("string"))
    return rules  # type: ignore[return-value]


def _rank_formats_by_column(
    cleaned: pa.Array, candidates: tuple[str, ...], tz: bool, segments: _Segments
) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Per column: do all present values parse with some candidate, and the candidates by hits."""
    target = arrow_type("datetime", tz)
    remaining = _null_where(pc.invert(pc.fill_null(pc.match_substring_regex(cleaned, r"\d"), False)), cleaned)
    present = pc.is_valid(cleaned)
    parsed = pa.nulls(len(cleaned), target)
    hits: list[np.ndarray] = []
    used: list[str] = []
    for fmt in candidates:
        if _valid(remaining) == 0:
            break
        out = _parse_dates(remaining, fmt, target, speculative=False)
        if _valid(out):
            hits.append(segments.count(pc.is_valid(out)))
            used.append(fmt)
            parsed = pc.coalesce(parsed, out)
            remaining = _null_where(pc.is_valid(out), remaining)
    fits = segments.all(pc.or_(pc.invert(present), pc.is_valid(parsed))) & segments.any(present)
    ranked: list[tuple[str, ...]] = []
    for position in range(len(segments.offsets)):
        scored = sorted(
            (
                (int(counts[position]), fmt)
                for counts, fmt in zip(hits, used, strict=True)
                if counts[position]
            ),
            key=lambda item: -item[0],
        )
        first = tuple(fmt for _, fmt in scored)
        ranked.append(first + tuple(fmt for fmt in candidates if fmt not in first))
    return fits, ranked


def infer_rule(arr: pa.Array, style: NumberStyle, dayfirst: bool) -> ColumnRule:
    """The type one column's sample suggests (see infer_rules)."""
    return infer_rules([arr], style, dayfirst)[0]


# ---------------------------------------------------------------------------------------------- display


def _format_float(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") and "e" not in text else text


def display_strings(arr: pa.Array, dtype: str) -> list[str]:
    """Values as the preview grid shows them ('' for missing)."""
    values = arr.to_pylist() if dtype != "datetime" else _datetimes(arr)
    if dtype == "float":
        return ["" if v is None else _format_float(v) for v in values]
    if dtype == "boolean":
        return ["" if v is None else ("true" if v else "false") for v in values]
    return ["" if v is None else str(v) for v in values]


def _datetimes(arr: pa.Array) -> list[str | None]:
    try:
        values = arr.to_pylist()
    except (ValueError, OverflowError, pa.ArrowInvalid):
        return pc.cast(arr, pa.string()).to_pylist()
    dates_only = all(
        v is None or (v.hour == v.minute == v.second == v.microsecond == 0 and v.tzinfo is None)
        for v in values
    )
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
        elif dates_only:
            out.append(v.strftime("%Y-%m-%d"))
        else:
            out.append(v.isoformat(sep=" ", timespec="microseconds" if v.microsecond else "seconds"))
    return out


__all__ = [
    "ColumnRule",
    "NumberStyle",
    "PLAIN_NUMBERS",
    "arrow_type",
    "convert",
    "convert_columns",
    "infer_rules",
    "display_strings",
    "infer_rule",
    "native_dtype",
]
