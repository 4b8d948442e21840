"""Rows: filter with a condition builder, sort, drop duplicates, drop rows with missing values, keep first/last N,
sample, drop (or keep) a time range.

The condition builder is shared: the grid's view-only filter and other groups reuse ``CONDITION_OPS``,
``check_conditions``, ``condition_mask`` and ``condition_code``.

Values typed into a form arrive as text. They are converted to the type of their column (numbers for numeric
columns, timestamps for datetime columns, True/False for boolean columns), so the generated code carries typed
literals such as ``df['flow'] > 3.5`` or ``df['date'] >= pd.Timestamp('2020-01-01')``. That conversion needs the
column types, which ``code()`` does not receive: operations whose code depends on them remember the schema they last
saw in ``validate`` or ``apply`` (`SchemaAware`). The studio always validates a step before applying it.
"""

from __future__ import annotations

import math
import operator
import re
import warnings
from functools import reduce
from typing import Any

import pandas as pd

from hydroml.services.studio.operations.base import (
    NUMERIC,
    Context,
    Operation,
    OperationError,
    Param,
    ParamError,
    Schema,
    col,
    register,
    schema_of,
)

GROUP = "Rows"

# Operators of one condition rule, as the condition builder offers them.
CONDITION_OPS = (
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "between",
    "in",
    "not in",
    "contains",
    "starts with",
    "regex",
    "is missing",
    "not missing",
)
COMBINE = ("all", "any")
_ORDERED_OPS = ("<", "<=", ">", ">=", "between")
_TEXT_OPS = ("contains", "starts with", "regex")
_NO_VALUE_OPS = ("is missing", "not missing")
_LIST_OPS = ("in", "not in")
_ORDERED_DTYPES = (*NUMERIC, "datetime", "string")
_TEXT_DTYPES = ("string", "category")
_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_COMPARE_FN = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")

# ------------------------------------------------------------------ typed values (shared with columns / missing)


def convert_value(value: Any, dtype: str | None, *, whole: bool = False) -> Any:
    """A JSON value (usually text from a form) as a value of a column of HydroML dtype ``dtype``.

    Raises ValueError with a plain-words reason. ``dtype`` None (unknown) keeps the value as given. ``whole``
    asks for a whole number for integer columns (filling them); comparisons accept any number.
    """
    if dtype in NUMERIC:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        if isinstance(value, int | float):
            number = value
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                raise ValueError(f"{value!r} is not a number (use a dot for decimals, e.g. 3.5)") from None
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        if dtype == "integer" and float(number).is_integer():
            return int(number)
        if dtype == "integer" and whole:
            raise ValueError(f"{value!r} is not a whole number")
        return float(number)
    if dtype == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{value!r} is not true/false (use true, false, yes, no, 1 or 0)")
    if dtype == "datetime":
        if isinstance(value, bool | int | float):
            raise ValueError(f"{value!r} is not a date (write it like 2020-01-31 or 2020-01-31 12:00)")
        try:
            stamp = pd.Timestamp(str(value).strip())
        except (ValueError, TypeError):
            raise ValueError(
                f"{value!r} is not a date (write it like 2020-01-31 or 2020-01-31 12:00)"
            ) from None
        if pd.isna(stamp):
            raise ValueError(f"{value!r} is not a date (write it like 2020-01-31 or 2020-01-31 12:00)")
        return stamp
    if dtype in ("string", "category"):
        return value if isinstance(value, str) else str(value)
    return value


def literal(value: Any) -> str:
    """Python source for a converted value."""
    if isinstance(value, pd.Timestamp):
        if value.tz is None and value == value.normalize():
            return f"pd.Timestamp({value.strftime('%Y-%m-%d')!r})"
        return f"pd.Timestamp({value.isoformat()!r})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return repr(value)


def shown(value: Any) -> str:
    """A value as the history panel shows it."""
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, pd.Timestamp):
        return str(value)
    return str(value)


class SchemaAware(Operation):
    """Remembers the schema seen by the last ``validate``/``apply``: its ``code()`` depends on column types."""

    _schema: Schema | None = None

    def validate(self, schema: Schema) -> list[ParamError]:
        self._schema = dict(schema)
        return super().validate(schema)

    def remember(self, df: pd.DataFrame) -> None:
        self._schema = schema_of(df)

    def dtype(self, column: str) -> str | None:
        return (self._schema or {}).get(column)


# ------------------------------------------------------------------ conditions


def _is_group(rule: Any) -> bool:
    return isinstance(rule, dict) and "rules" in rule


def _split_list(value: Any) -> list:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]


def _typed_rule(rule: dict, schema: Schema) -> tuple[str, str, Any]:
    """(column, op, typed value) of one rule; ValueError with a plain-words reason when it does not fit."""
    column = rule.get("column")
    op = rule.get("op")
    if not isinstance(column, str) or column not in schema:
        raise ValueError(f"no column named {column!r}")
    if op not in CONDITION_OPS:
        raise ValueError(f"unknown test {op!r} for {column!r}; choose one of {', '.join(CONDITION_OPS)}")
    dtype = schema[column]
    value = rule.get("value")
    if op in _NO_VALUE_OPS:
        return column, op, None
    if op in _ORDERED_OPS and dtype not in _ORDERED_DTYPES:
        raise ValueError(f"{column!r} is {dtype}; '{op}' needs a number, date or text column")
    if op in _TEXT_OPS:
        if dtype not in _TEXT_DTYPES:
            raise ValueError(f"{column!r} is {dtype}; '{op}' needs a text column")
        if not isinstance(value, str) or value == "":
            raise ValueError(f"'{op}' on {column!r} needs a text to look for")
        if op == "regex":
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a valid regular expression ({exc})") from None
        return column, op, value
    if value is None or value == "" or value == []:
        raise ValueError(f"'{op}' on {column!r} needs a value")
    if op == "between":
        parts = _split_list(value)
        if len(parts) != 2:
            raise ValueError(f"'between' on {column!r} needs two values, e.g. 1,5")
        low, high = (convert_value(v, dtype) for v in parts)
        try:
            reversed_range = high < low
        except TypeError:
            raise ValueError(
                f"'between' on {column!r}: give both values with a time zone offset, or neither"
            ) from None
        if reversed_range:
            raise ValueError(f"'between' on {column!r}: the first value must not be larger than the second")
        return column, op, [low, high]
    if op in _LIST_OPS:
        items = [convert_value(v, dtype) for v in _split_list(value)]
        if not items:
            raise ValueError(f"'{op}' on {column!r} needs at least one value")
        return column, op, items
    if isinstance(value, list):
        raise ValueError(f"'{op}' on {column!r} takes one value")
    return column, op, convert_value(value, dtype)


def check_conditions(
    conditions: Any, schema: Schema, param: str = "conditions", label: str = "Conditions"
) -> list:
    """ParamErrors for a condition tree (nested groups allowed); empty when it fits the schema."""

    def walk(node: Any) -> str | None:
        if not isinstance(node, dict) or not isinstance(node.get("rules"), list):
            return "add at least one condition."
        if node.get("combine", "all") not in COMBINE:
            return "combine the conditions with 'all' or 'any'."
        if not node["rules"]:
            return "add at least one condition."
        for rule in node["rules"]:
            if _is_group(rule):
                problem = walk(rule)
                if problem:
                    return problem
                continue
            if not isinstance(rule, dict):
                return "each condition needs a column, a test and a value."
            try:
                _typed_rule(rule, schema)
            except ValueError as exc:
                return f"{exc}."
        return None

    problem = walk(conditions)
    return [ParamError(param, f"{label}: {problem}")] if problem else []


def _rule_mask(df: pd.DataFrame, column: str, op: str, value: Any) -> pd.Series:
    s = df[column]
    if op in _COMPARE_FN:
        return _COMPARE_FN[op](s, value)
    if op == "between":
        return s.between(value[0], value[1])
    if op == "in":
        return s.isin(value)
    if op == "not in":
        return ~s.isin(value)
    if op == "contains":
        return s.astype("str").str.contains(value, regex=False, na=False)
    if op == "starts with":
        return s.astype("str").str.startswith(value, na=False)
    if op == "regex":
        with warnings.catch_warnings():  # pandas warns about groups in the pattern; they are harmless here
            warnings.simplefilter("ignore", UserWarning)
            return s.astype("str").str.contains(value, regex=True, na=False)
    if op == "is missing":
        return s.isna()
    return s.notna()


def _rule_code(column: str, op: str, value: Any) -> str:
    c = col(column)
    if op in _COMPARE:
        return f"({c} {_COMPARE[op]} {literal(value)})"
    if op == "between":
        return f"{c}.between({literal(value[0])}, {literal(value[1])})"
    if op == "in":
        return f"{c}.isin({literal(value)})"
    if op == "not in":
        return f"~{c}.isin({literal(value)})"
    if op == "contains":
        return f"{c}.astype('str').str.contains({value!r}, regex=False, na=False)"
    if op == "starts with":
        return f"{c}.astype('str').str.startswith({value!r}, na=False)"
    if op == "regex":
        return f"{c}.astype('str').str.contains({value!r}, regex=True, na=False)"
    if op == "is missing":
        return f"{c}.isna()"
    return f"{c}.notna()"


def condition_mask(df: pd.DataFrame, conditions: dict) -> pd.Series:
    """The rows matching ``conditions`` as a boolean Series aligned with ``df``.

    Missing values never match a test except 'is missing', '!=' and 'not in' (pandas semantics: a missing value
    is "not equal" to anything). Nullable columns (Int64, boolean) may give a nullable mask whose <NA> counts as
    no match when used to select rows. The text tests (contains, starts with, regex) look at the text of the values
    (``.astype('str')``, missing values stay missing), so category columns of numbers or dates work too. Raises
    OperationError when a rule does not fit the frame.
    """
    schema = schema_of(df)

    def walk(node: dict) -> pd.Series:
        masks = [walk(rule) if _is_group(rule) else leaf(rule) for rule in node["rules"]]
        if node.get("combine", "all") == "any":
            return reduce(operator.or_, masks) if masks else pd.Series(False, index=df.index)
        return reduce(operator.and_, masks) if masks else pd.Series(True, index=df.index)

    def leaf(rule: dict) -> pd.Series:
        try:
            column, op, value = _typed_rule(rule, schema)
        except ValueError as exc:
            raise OperationError(f"Conditions: {exc}.") from None
        try:
            return _rule_mask(df, column, op, value)
        except (TypeError, ValueError) as exc:
            raise OperationError(
                f"Conditions: cannot test {column!r} {op} {shown(rule.get('value'))} ({exc}). "
                "For columns with a time zone, write dates with their offset, e.g. 2020-01-31T00:00+00:00."
            ) from None

    return walk(conditions)


def condition_code(conditions: dict, schema: Schema | None = None) -> str:
    """A pandas boolean expression over ``df`` equal to ``condition_mask(df, conditions)``.

    Pass the schema the conditions run on so text values become typed literals exactly as ``condition_mask``
    converts them; without it, values are written as given (right for text columns and JSON-typed values).
    """

    def walk(node: dict, top: bool) -> str:
        parts = [walk(rule, False) if _is_group(rule) else leaf(rule) for rule in node["rules"]]
        if not parts:
            return "pd.Series(" + ("False" if node.get("combine") == "any" else "True") + ", index=df.index)"
        joined = (" | " if node.get("combine", "all") == "any" else " & ").join(parts)
        return joined if top or len(parts) == 1 else f"({joined})"

    def leaf(rule: dict) -> str:
        if schema is not None:
            return _rule_code(*_typed_rule(rule, schema))
        op = rule.get("op")
        value = rule.get("value")
        if op == "between" or op in _LIST_OPS:
            value = _split_list(value)
        return _rule_code(rule.get("column"), op, value)

    return walk(conditions, True)


def condition_text(conditions: dict) -> str:
    """The conditions in words, e.g. "flow > 3 and station_id in ST01, ST02"."""

    def walk(node: dict, top: bool) -> str:
        parts = [walk(rule, False) if _is_group(rule) else leaf(rule) for rule in node.get("rules", [])]
        joined = (" or " if node.get("combine", "all") == "any" else " and ").join(parts)
        return joined if top or len(parts) < 2 else f"({joined})"

    def leaf(rule: dict) -> str:
        op = rule.get("op")
        if op in _NO_VALUE_OPS:
            return f"{rule.get('column')} {op}"
        value = rule.get("value")
        if op == "between":
            low_high = _split_list(value)
            return f"{rule.get('column')} between {' and '.join(shown(v) for v in low_high)}"
        return f"{rule.get('column')} {op} {shown(_split_list(value) if op in _LIST_OPS else value)}"

    return walk(conditions, True)


# ------------------------------------------------------------------ operations


@register
class FilterRows(SchemaAware):
    key = "filter_rows"
    label = "Filter rows"
    group = GROUP
    summary = "Keep only the rows that match the conditions (all of them, or any of them)."
    params = (
        Param(
            "conditions",
            "Conditions",
            "conditions",
            default={"combine": "all", "rules": []},
            help="Text values are read as the column's type: numbers, dates (2020-01-31) or true/false. "
            "'between' includes both ends; 'in' takes a comma-separated list.",
        ),
    )

    def validate(self, schema: Schema) -> list[ParamError]:
        # The generic check of the "conditions" kind only knows flat rules; this one walks nested groups too.
        self._schema = dict(schema)
        return check_conditions(self.values.get("conditions"), schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        self.remember(df)
        mask = condition_mask(df, self.values["conditions"])
        return df[mask].reset_index(drop=True)

    def describe(self) -> str:
        return f"Keep rows where {condition_text(self.values['conditions'])}"

    def code(self) -> list[str]:
        return [f"df = df[{condition_code(self.values['conditions'], self._schema)}].reset_index(drop=True)"]


@register
class SortRows(Operation):
    key = "sort_rows"
    label = "Sort rows"
    group = GROUP
    summary = "Sort the rows by one or more columns; ties keep their order and missing values go last."
    params = (
        Param("columns", "Sort by", "columns", help="The first column decides; the next ones break ties."),
        Param("ascending", "Smallest first", "boolean", default=True, help="Off: largest / latest first."),
        Param(
            "directions",
            "Direction per column",
            "mapping",
            required=False,
            choices=("ascending", "descending"),
            help="Optional: a direction for some columns, overriding 'Smallest first' for them.",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        extra = [c for c in self.values.get("directions") or {} if c not in self.values["columns"]]
        if extra:
            return [
                ParamError(
                    "directions", f"Direction per column: {extra[0]!r} is not one of the sort columns."
                )
            ]
        return []

    def _ascending(self) -> list[bool]:
        directions = self.values.get("directions") or {}
        default = bool(self.values["ascending"])
        return [directions[c] == "ascending" if c in directions else default for c in self.values["columns"]]

    def _args(self) -> tuple[list[str], bool | list[bool]]:
        ascending = self._ascending()
        return self.values["columns"], ascending[0] if len(set(ascending)) == 1 else ascending

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        columns, ascending = self._args()
        try:
            return df.sort_values(
                columns, ascending=ascending, kind="stable", na_position="last", ignore_index=True
            )
        except TypeError as exc:
            raise OperationError(
                f"Cannot sort: a column mixes values that cannot be compared ({exc})."
            ) from None

    def describe(self) -> str:
        parts = [
            f"{c} {'↑' if up else '↓'}"
            for c, up in zip(self.values["columns"], self._ascending(), strict=True)
        ]
        return "Sort by " + ", ".join(parts)

    def code(self) -> list[str]:
        columns, ascending = self._args()
        return [
            f"df = df.sort_values({columns!r}, ascending={ascending!r}, kind='stable', na_position='last', "
            "ignore_index=True)"
        ]


@register
class DropDuplicates(Operation):
    key = "drop_duplicates"
    label = "Drop duplicate rows"
    group = GROUP
    summary = "Remove rows that repeat an earlier (or later) row, comparing all columns or only some."
    params = (
        Param("subset", "Compare columns", "columns", required=False, help="Empty: compare whole rows."),
        Param(
            "keep",
            "Keep",
            "choice",
            default="first",
            choices=("first", "last", "none"),
            help="Which copy to keep: the first, the last, or none of the repeated rows.",
        ),
    )

    def _kwargs(self) -> str:
        keep = False if self.values["keep"] == "none" else self.values["keep"]
        subset = self.values.get("subset") or None
        return (f"subset={subset!r}, " if subset else "") + f"keep={keep!r}, ignore_index=True"

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        keep = False if self.values["keep"] == "none" else self.values["keep"]
        return df.drop_duplicates(subset=self.values.get("subset") or None, keep=keep, ignore_index=True)

    def describe(self) -> str:
        subset = self.values.get("subset")
        scope = f" by {', '.join(subset)}" if subset else ""
        keep = {"first": "keep first", "last": "keep last", "none": "drop every copy"}[self.values["keep"]]
        return f"Drop duplicate rows{scope} ({keep})"

    def code(self) -> list[str]:
        return [f"df = df.drop_duplicates({self._kwargs()})"]


@register
class DropMissing(Operation):
    key = "drop_missing"
    label = "Drop rows with missing values"
    group = GROUP
    summary = "Remove rows with missing values in the chosen columns (or in any column)."
    params = (
        Param("subset", "Look at columns", "columns", required=False, help="Empty: look at every column."),
        Param(
            "how",
            "Drop a row when",
            "choice",
            default="any",
            choices=("any", "all"),
            help="any: one of the columns is missing; all: every one of them is missing.",
        ),
        Param(
            "threshold",
            "Keep rows with at least",
            "integer",
            required=False,
            minimum=1,
            help="Optional: keep rows with at least this many values present (replaces 'Drop a row when').",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        threshold = self.values.get("threshold")
        width = len(self.values.get("subset") or schema)
        if threshold is not None and threshold > width:
            return [
                ParamError("threshold", f"Keep rows with at least: at most {width} (the columns looked at).")
            ]
        return []

    def _kwargs(self) -> dict:
        kwargs: dict = {}
        if self.values.get("subset"):
            kwargs["subset"] = self.values["subset"]
        if self.values.get("threshold") is not None:
            kwargs["thresh"] = int(self.values["threshold"])
        else:
            kwargs["how"] = self.values["how"]
        return kwargs

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        return df.dropna(**self._kwargs(), ignore_index=True)

    def describe(self) -> str:
        subset = self.values.get("subset")
        scope = ", ".join(subset) if subset else "any column"
        if self.values.get("threshold") is not None:
            return f"Keep rows with at least {int(self.values['threshold'])} values present in {scope}"
        if self.values["how"] == "all":
            return (
                f"Drop rows where all of {scope} are missing"
                if subset
                else "Drop rows where every value is missing"
            )
        return f"Drop rows with missing values in {scope}"

    def code(self) -> list[str]:
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs().items())
        return [f"df = df.dropna({args}, ignore_index=True)"]


@register
class KeepRows(Operation):
    key = "keep_rows"
    label = "Keep first or last rows"
    group = GROUP
    summary = "Keep only the first or the last N rows in the current order."
    params = (
        Param("which", "Keep", "choice", default="first", choices=("first", "last")),
        Param("n", "Number of rows", "integer", default=100, minimum=1),
    )

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        n = int(self.values["n"])
        part = df.head(n) if self.values["which"] == "first" else df.tail(n)
        return part.reset_index(drop=True)

    def describe(self) -> str:
        return f"Keep the {self.values['which']} {int(self.values['n'])} rows"

    def code(self) -> list[str]:
        method = "head" if self.values["which"] == "first" else "tail"
        return [f"df = df.{method}({int(self.values['n'])}).reset_index(drop=True)"]


@register
class SampleRows(Operation):
    key = "sample_rows"
    label = "Sample rows"
    group = GROUP
    summary = (
        "Keep a random sample of rows (without replacement); the sampled rows keep their original order, "
        "so time series stay in time order."
    )
    params = (
        Param(
            "n",
            "Number of rows",
            "integer",
            required=False,
            minimum=1,
            help="Fewer rows than this: keep all.",
        ),
        Param(
            "fraction", "Fraction of rows", "number", required=False, minimum=0, maximum=1, help="e.g. 0.1"
        ),
        Param(
            "seed",
            "Random seed",
            "integer",
            default=0,
            minimum=0,
            help="The same seed gives the same sample.",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        n, fraction = self.values.get("n"), self.values.get("fraction")
        if (n is None) == (fraction is None):
            return [ParamError("n", "Number of rows: give either a number of rows or a fraction, not both.")]
        if fraction is not None and fraction <= 0:
            return [ParamError("fraction", "Fraction of rows: must be more than 0.")]
        return []

    def _seed(self) -> int:
        return int(self.values.get("seed") or 0)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        if self.values.get("n") is not None:
            sample = df.sample(n=min(int(self.values["n"]), len(df)), random_state=self._seed())
        else:
            sample = df.sample(frac=float(self.values["fraction"]), random_state=self._seed())
        return sample.sort_index().reset_index(drop=True)

    def describe(self) -> str:
        if self.values.get("n") is not None:
            return f"Sample {int(self.values['n'])} rows (seed {self._seed()})"
        return f"Sample {float(self.values['fraction']):g} of the rows (seed {self._seed()})"

    def code(self) -> list[str]:
        if self.values.get("n") is not None:
            size = f"n=min({int(self.values['n'])}, len(df))"
        else:
            size = f"frac={float(self.values['fraction'])!r}"
        return [f"df = df.sample({size}, random_state={self._seed()}).sort_index().reset_index(drop=True)"]


@register
class DropTimeRange(Operation):
    key = "drop_time_range"
    label = "Drop or keep a time range"
    group = GROUP
    summary = "Drop the rows whose time falls in a range (or keep only those rows)."
    params = (
        Param("column", "Time column", "column", dtypes=("datetime",)),
        Param(
            "start", "From", "text", required=False, help="e.g. 2020-01-01 or 2020-01-01 06:00; empty: open."
        ),
        Param("end", "To", "text", required=False, help="A date without a time means midnight at its start."),
        Param("inclusive", "Include the ends", "boolean", default=True),
        Param(
            "mode",
            "Rows in the range",
            "choice",
            default="drop",
            choices=("drop", "keep"),
            help="drop: remove them; keep: keep only them. Rows with a missing time are never in the range.",
        ),
    )

    def _bounds(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        start, end = self.values.get("start"), self.values.get("end")
        return (
            convert_value(start, "datetime") if start else None,
            convert_value(end, "datetime") if end else None,
        )

    def check(self, schema: Schema) -> list[ParamError]:
        if not self.values.get("start") and not self.values.get("end"):
            return [ParamError("start", "From: give a start, an end, or both.")]
        errors = []
        for name, label in (("start", "From"), ("end", "To")):
            if self.values.get(name):
                try:
                    convert_value(self.values[name], "datetime")
                except ValueError as exc:
                    errors.append(ParamError(name, f"{label}: {exc}."))
        if errors:
            return errors
        start, end = self._bounds()
        if start is not None and end is not None:
            try:
                reversed_range = end < start
            except TypeError:
                return [ParamError("end", "To: give both ends with a time zone offset, or neither.")]
            if reversed_range:
                return [ParamError("end", "To: must not be before From.")]
        return []

    def _mask_code(self) -> str:
        c = col(self.values["column"])
        start, end = self._bounds()
        both = bool(self.values["inclusive"])
        if start is not None and end is not None:
            return (
                f"{c}.between({literal(start)}, {literal(end)}, inclusive={'both' if both else 'neither'!r})"
            )
        if start is not None:
            return f"({c} {'>=' if both else '>'} {literal(start)})"
        return f"({c} {'<=' if both else '<'} {literal(end)})"

    def _mask(self, df: pd.DataFrame) -> pd.Series:
        s = df[self.values["column"]]
        start, end = self._bounds()
        both = bool(self.values["inclusive"])
        if start is not None and end is not None:
            return s.between(start, end, inclusive="both" if both else "neither")
        if start is not None:
            return s >= start if both else s > start
        return s <= end if both else s < end

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        try:
            mask = self._mask(df)
        except TypeError:
            raise OperationError(
                f"Time column {self.values['column']!r} and the range disagree about time zones: write the range "
                "with an offset (e.g. 2020-01-01T00:00+00:00) when the column has a time zone, without one otherwise."
            ) from None
        return df[~mask if self.values["mode"] == "drop" else mask].reset_index(drop=True)

    def describe(self) -> str:
        start, end = self.values.get("start"), self.values.get("end")
        if start and end:
            span = f"{start} to {end}"
        elif start:
            span = f"from {start} on"
        else:
            span = f"up to {end}"
        ends = "" if self.values["inclusive"] else " (ends excluded)"
        verb = "Drop" if self.values["mode"] == "drop" else "Keep only"
        return f"{verb} rows with {self.values['column']} {span}{ends}"

    def code(self) -> list[str]:
        mask = self._mask_code()
        selector = f"~{mask}" if self.values["mode"] == "drop" else mask
        return [f"df = df[{selector}].reset_index(drop=True)"]
