"""Structure operations: reshape the table or combine it with another data source of the project.

- group by + aggregate, pivot (long → wide), melt (wide → long),
- join with another source (inner / left / right / outer, or an as-of join on time),
- append the rows of another source.

Row order of the results (the studio and the exported script agree on it, tests compare both):

- group by / pivot: one row per key combination, sorted by the keys; missing keys form their own group (last).
- melt: the value columns one after the other (all rows for the first value column, then the second, ...).
- join inner / left: the current rows' order; right: the other source's order; outer: sorted by the keys.
  Missing keys match missing keys (pandas' rule).
- as-of join: the current rows sorted by their time column (rows with the same time keep their order).
- append: the current rows, then the other source's rows.
"""

from __future__ import annotations

import keyword
import math
import re
from typing import Any

import pandas as pd
from pandas.errors import MergeError

from hydroml.services.studio.operations.base import (
    NUMERIC,
    Context,
    Operation,
    OperationError,
    Param,
    ParamError,
    Schema,
    dtype_of,
    register,
    source_key,
)

GROUP = "Structure"

AGGREGATIONS = ("sum", "mean", "median", "min", "max", "count", "nunique", "first", "last", "std")
# Which column kinds each aggregation accepts (absent = any kind).
AGG_DTYPES: dict[str, tuple[str, ...]] = {
    "sum": (*NUMERIC, "boolean"),
    "std": (*NUMERIC, "boolean"),
    "mean": (*NUMERIC, "boolean", "datetime"),
    "median": (*NUMERIC, "boolean", "datetime"),
    "min": ("integer", "float", "boolean", "datetime", "string"),
    "max": ("integer", "float", "boolean", "datetime", "string"),
}
AGG_WORDS = {
    "sum": "a sum",
    "std": "a standard deviation",
    "mean": "a mean",
    "median": "a median",
    "min": "a minimum",
    "max": "a maximum",
}

MAX_PIVOT_COLUMNS = 1000
JOIN_HOWS = ("inner", "left", "right", "outer", "asof")
DIRECTIONS = ("backward", "forward", "nearest")

# Plain words for dtypes in messages.
KIND_WORDS = {
    "integer": "number",
    "float": "number",
    "boolean": "yes/no",
    "datetime": "date/time",
    "string": "text",
    "category": "category",
}


def _kind(dtype: str) -> str:
    return KIND_WORDS.get(dtype, dtype)


def _names(names: list[str]) -> str:
    return ", ".join(names)


def _source_name(ref: Any) -> str:
    if isinstance(ref, dict):
        return str(ref.get("name") or ref.get("data_source_id") or "the other source")
    return "the other source"


def _load(ctx: Context, ref: dict) -> pd.DataFrame:
    return ctx.source(ref)


def _read_code(ref: dict) -> str:
    return f"pd.read_parquet(SOURCES[{source_key(ref)!r}])"


def _aggregation_problem(column: str, agg: str, dtype: str) -> str | None:
    allowed = AGG_DTYPES.get(agg)
    if allowed is None or dtype in allowed:
        return None
    return (
        f"{column!r} is {_kind(dtype)} ({dtype}), which has no {agg}. "
        f"Choose count, nunique, first or last{', min or max' if dtype != 'category' else ''} for it, "
        f"or change its type first."
    )


# ---------------------------------------------------------------------------------------------- group by


@register
class GroupAggregate(Operation):
    key = "group_aggregate"
    label = "Group and aggregate"
    group = GROUP
    summary = (
        "One row per combination of the group columns, with one summary per chosen column "
        "(named <column>_<aggregation>); rows with missing keys form their own group."
    )
    params = (
        Param(
            "group_by",
            "Group by",
            "columns",
            help="One row per combination of these columns, sorted by them.",
        ),
        Param(
            "aggregations",
            "Aggregations",
            "mapping",
            default={},
            choices=AGGREGATIONS,
            help="For each column, how to summarise it within a group. Missing values are skipped; "
            "count counts the values present, nunique the distinct values present.",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        keys: list[str] = self.values["group_by"]
        aggs: dict[str, str] = self.values["aggregations"]
        errors: list[ParamError] = []
        for column, agg in aggs.items():
            if column in keys:
                errors.append(
                    ParamError(
                        "aggregations", f"Aggregations: {column!r} is a group column; summarise another one."
                    )
                )
            elif problem := _aggregation_problem(column, agg, schema[column]):
                errors.append(ParamError("aggregations", f"Aggregations: {problem}"))
            elif f"{column}_{agg}" in keys:
                errors.append(
                    ParamError(
                        "aggregations",
                        f"Aggregations: the result column {column}_{agg!s} would have the name of a group column; "
                        "rename that column first.",
                    )
                )
        return errors

    def _named(self) -> dict[str, tuple[str, str]]:
        return {f"{column}_{agg}": (column, agg) for column, agg in self.values["aggregations"].items()}

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        return df.groupby(list(self.values["group_by"]), dropna=False).agg(**self._named()).reset_index()

    def describe(self) -> str:
        parts = ", ".join(f"{column} {agg}" for column, agg in self.values["aggregations"].items())
        return f"Group by {_names(self.values['group_by'])}: {parts}"

    def code(self) -> list[str]:
        named = self._named()
        if all(name.isidentifier() and not keyword.iskeyword(name) for name in named):
            agg_args = ", ".join(f"{name}={spec!r}" for name, spec in named.items())
        else:
            agg_args = "**{" + ", ".join(f"{name!r}: {spec!r}" for name, spec in named.items()) + "}"
        return [
            "df = (\n"
            f"    df.groupby({list(self.values['group_by'])!r}, dropna=False)\n"
            f"    .agg({agg_args})\n"
            "    .reset_index()\n"
            ")"
        ]


# ---------------------------------------------------------------------------------------------- pivot


@register
class Pivot(Operation):
    key = "pivot"
    label = "Pivot (long to wide)"
    group = GROUP
    summary = (
        "One row per combination of the row columns and one new column per category, named "
        "<values column>_<category> (for example flow_ST01)."
    )
    params = (
        Param(
            "index",
            "Row columns",
            "columns",
            help="One row per combination of these columns, sorted by them.",
        ),
        Param(
            "columns",
            "Categories column",
            "column",
            help="Each distinct value becomes a column (sorted). Rows where it is missing are left out.",
        ),
        Param("values", "Values column", "column", help="The values placed in the new columns."),
        Param(
            "aggregation",
            "Aggregation",
            "choice",
            default="mean",
            choices=AGGREGATIONS,
            help="How to combine several values that fall in the same cell. Empty cells stay missing.",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        index: list[str] = self.values["index"]
        columns: str = self.values["columns"]
        values: str = self.values["values"]
        errors: list[ParamError] = []
        if columns in index:
            errors.append(
                ParamError(
                    "columns", f"Categories column: {columns!r} is also a row column; choose another one."
                )
            )
        if values in index or values == columns:
            errors.append(
                ParamError(
                    "values", f"Values column: {values!r} is already used as a row or categories column."
                )
            )
        if problem := _aggregation_problem(values, self.values["aggregation"], schema[values]):
            errors.append(ParamError("aggregation", f"Aggregation: {problem}"))
        return errors

    def _prefix(self) -> str:
        return f"{self.values['values']}_"

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        index: list[str] = list(self.values["index"])
        columns: str = self.values["columns"]
        values: str = self.values["values"]
        count = int(df[columns].nunique())
        if count > MAX_PIVOT_COLUMNS:
            raise OperationError(
                f"{columns!r} has {count:,} distinct values: the pivot would create more than "
                f"{MAX_PIVOT_COLUMNS:,} columns. Choose a column with fewer categories, or group the values first."
            )
        prefix = self._prefix()
        names = [f"{prefix}{category}" for category in df[columns].dropna().unique()]
        clashes = sorted({name for name in names if name in index} | {n for n in names if names.count(n) > 1})
        if clashes:
            raise OperationError(
                f"The new column name(s) {_names(clashes)} would appear twice; rename the columns or their values first."
            )
        return (
            df.dropna(subset=[columns])
            .groupby([*index, columns], dropna=False)[values]
            .agg(self.values["aggregation"])
            .unstack(columns)
            .add_prefix(prefix)
            .rename_axis(columns=None)
            .reset_index()
        )

    def describe(self) -> str:
        v = self.values
        return f"Pivot {v['values']} ({v['aggregation']}) by {v['columns']}, one row per {_names(v['index'])}"

    def code(self) -> list[str]:
        v = self.values
        return [
            "df = (\n"
            f"    df.dropna(subset=[{v['columns']!r}])\n"
            f"    .groupby({[*v['index'], v['columns']]!r}, dropna=False)[{v['values']!r}]\n"
            f"    .agg({v['aggregation']!r})\n"
            f"    .unstack({v['columns']!r})\n"
            f"    .add_prefix({self._prefix()!r})\n"
            "    .rename_axis(columns=None)\n"
            "    .reset_index()\n"
            ")"
        ]


# ---------------------------------------------------------------------------------------------- melt


@register
class Melt(Operation):
    key = "melt"
    label = "Melt (wide to long)"
    group = GROUP
    summary = "Stack several columns into two: one naming the original column, one holding its value."
    params = (
        Param(
            "id_columns",
            "Columns to keep",
            "columns",
            default=[],
            required=False,
            help="Repeated on every row.",
        ),
        Param(
            "value_columns",
            "Columns to stack",
            "columns",
            default=[],
            required=False,
            help="Empty = all other columns. Stacked one after the other; they should hold the same kind of data.",
        ),
        Param(
            "variable_name",
            "Name column",
            "text",
            default="variable",
            help="Holds the original column's name.",
        ),
        Param("value_name", "Value column", "text", default="value", help="Holds the value."),
    )

    def _value_columns(self, names: list[str]) -> list[str]:
        ids = self.values["id_columns"] or []
        return list(self.values["value_columns"] or [c for c in names if c not in ids])

    def check(self, schema: Schema) -> list[ParamError]:
        ids: list[str] = self.values["id_columns"] or []
        chosen: list[str] = self.values["value_columns"] or []
        variable: str = self.values["variable_name"]
        value: str = self.values["value_name"]
        errors: list[ParamError] = []
        if both := [c for c in chosen if c in ids]:
            return [ParamError("value_columns", f"Columns to stack: {both[0]!r} is also a column to keep.")]
        stacked = self._value_columns(list(schema))
        if not stacked:
            errors.append(
                ParamError("value_columns", "Columns to stack: nothing left to stack; keep fewer columns.")
            )
        kinds = sorted({_kind(schema[c]) for c in stacked})
        if len(kinds) > 1:
            errors.append(
                ParamError(
                    "value_columns",
                    f"Columns to stack: they mix {' and '.join(kinds)} values. Stack columns of one kind at a time, "
                    "or change their types first.",
                )
            )
        if variable in ids:
            errors.append(
                ParamError("variable_name", f"Name column: {variable!r} is a kept column; choose another.")
            )
        if value in schema:
            errors.append(
                ParamError("value_name", f"Value column: {value!r} is already a column; choose another.")
            )
        elif value == variable:
            errors.append(ParamError("value_name", "Value column: must differ from the name column."))
        return errors

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.values["id_columns"]:
            kwargs["id_vars"] = list(self.values["id_columns"])
        if self.values["value_columns"]:
            kwargs["value_vars"] = list(self.values["value_columns"])
        kwargs["var_name"] = self.values["variable_name"]
        kwargs["value_name"] = self.values["value_name"]
        return kwargs

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        return df.melt(**self._kwargs())

    def describe(self) -> str:
        v = self.values
        stacked = _names(v["value_columns"]) if v["value_columns"] else "all other columns"
        kept = f" (keeping {_names(v['id_columns'])})" if v["id_columns"] else ""
        return f"Melt {stacked} into {v['variable_name']} / {v['value_name']}{kept}"

    def code(self) -> list[str]:
        args = ", ".join(f"{name}={value!r}" for name, value in self._kwargs().items())
        return [f"df = df.melt({args})"]


# ---------------------------------------------------------------------------------------------- join


def _parse_tolerance(text: str) -> int | float | pd.Timedelta:
    """'3' → 3, '2.5' → 2.5, anything else → a duration such as '3D' or '12h' (ValueError if not one)."""
    text = text.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return pd.Timedelta(text)


def _tolerance_code(text: str) -> str:
    value = _parse_tolerance(text)
    return f"pd.Timedelta({text.strip()!r})" if isinstance(value, pd.Timedelta) else repr(value)


def _key_pairs_problem(
    left: pd.DataFrame, right: pd.DataFrame, pairs: list[tuple[str, str]], source: str, strict: bool
) -> str | None:
    """A message when key pairs have different types (strict: integer and float differ too)."""
    bad = []
    for lk, rk in pairs:
        ld, rd = dtype_of(left[lk]), dtype_of(right[rk])
        same = ld == rd if strict else _kind(ld) == _kind(rd)
        if not same:
            bad.append(f"{lk!r} is {_kind(ld)} ({ld}) here but {rk!r} is {_kind(rd)} ({rd}) in {source}")
    if not bad:
        return None
    return (
        f"The key columns have different types: {'; '.join(bad)}. "
        "Add a 'change type' step so that both sides have the same type."
    )


@register
class JoinSource(Operation):
    key = "join_source"
    label = "Join another data source"
    group = GROUP
    summary = (
        "Add the columns of another data source by matching key columns; the as-of join matches each row with the "
        "nearest earlier (or later) time of the other source."
    )
    params = (
        Param("source", "Other data source", "source"),
        Param(
            "how",
            "Join type",
            "choice",
            default="left",
            choices=JOIN_HOWS,
            help="left: keep every current row; inner: only rows with a match; right: every row of the other "
            "source; outer: every row of both; asof: nearest time match (the result is sorted by time).",
        ),
        Param("left_on", "Key columns here", "columns", help="For an as-of join: the single time column."),
        Param(
            "right_on",
            "Key columns in the other source",
            "texts",
            help="Same count and order as the key columns here. For an as-of join: the single time column.",
        ),
        Param(
            "suffix",
            "Suffix",
            "text",
            default="_right",
            help="Added to the other source's columns whose names already exist here.",
        ),
        Param(
            "by",
            "Match exactly on (as-of)",
            "columns",
            default=[],
            required=False,
            help="As-of join only: columns that must be equal too, e.g. the station.",
        ),
        Param(
            "right_by",
            "Match exactly on, other source (as-of)",
            "texts",
            default=[],
            required=False,
            help="As-of join only: the matching columns in the other source; empty = same names.",
        ),
        Param(
            "tolerance",
            "Tolerance (as-of)",
            "text",
            default="",
            required=False,
            help="As-of join only: the largest distance for a match, e.g. 3D, 12h, 30min (or a number for "
            "numeric keys). Empty = no limit.",
        ),
        Param(
            "direction",
            "Direction (as-of)",
            "choice",
            default="backward",
            choices=DIRECTIONS,
            help="As-of join only: backward = latest time at or before; forward = first time at or after; "
            "nearest = closest.",
        ),
    )

    @property
    def _asof(self) -> bool:
        return self.values["how"] == "asof"

    def _right_by(self) -> list[str]:
        return list(self.values["right_by"] or self.values["by"] or [])

    def check(self, schema: Schema) -> list[ParamError]:  # noqa: C901 - one rule after another
        v = self.values
        left_on: list[str] = v["left_on"]
        right_on: list[str] = v["right_on"]
        errors: list[ParamError] = []
        if len(right_on) != len(left_on):
            errors.append(
                ParamError(
                    "right_on",
                    f"Key columns in the other source: give {len(left_on)} column(s), one per key column here "
                    f"(got {len(right_on)}).",
                )
            )
        if not self._asof:
            return errors
        if len(left_on) != 1:
            errors.append(
                ParamError("left_on", "Key columns here: an as-of join uses exactly one time column.")
            )
        elif schema[left_on[0]] not in ("datetime", *NUMERIC):
            errors.append(
                ParamError(
                    "left_on",
                    f"Key columns here: {left_on[0]!r} is {_kind(schema[left_on[0]])}; an as-of join needs a "
                    "date/time or number column.",
                )
            )
        by: list[str] = v["by"] or []
        if both := [c for c in by if c in left_on]:
            errors.append(ParamError("by", f"Match exactly on: {both[0]!r} is already the time column."))
        if v["right_by"] and len(v["right_by"]) != len(by):
            errors.append(
                ParamError(
                    "right_by",
                    f"Match exactly on, other source: give {len(by)} column(s), one per column matched here.",
                )
            )
        tolerance = (v["tolerance"] or "").strip()
        if tolerance and len(left_on) == 1 and schema[left_on[0]] in ("datetime", *NUMERIC):
            try:
                parsed = _parse_tolerance(tolerance)
            except ValueError:
                parsed = None
            dtype = schema[left_on[0]]
            if dtype == "datetime":
                ok = isinstance(parsed, pd.Timedelta) and parsed > pd.Timedelta(0)
                hint = "a positive duration such as 3D, 12h or 30min"
            elif dtype == "integer":
                ok = isinstance(parsed, int) and parsed >= 0
                hint = "a whole number of at least 0"
            else:
                ok = isinstance(parsed, int | float) and math.isfinite(parsed) and parsed >= 0
                hint = "a number of at least 0"
            if not ok:
                errors.append(
                    ParamError("tolerance", f"Tolerance: {tolerance!r} is not {hint} (for {left_on[0]!r}).")
                )
        return errors

    # -------------------------------------------------------------- shared between apply and code

    def _merge_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``df.merge`` (regular joins), in display order."""
        v = self.values
        left_on, right_on = list(v["left_on"]), list(v["right_on"])
        kwargs: dict[str, Any] = {"how": v["how"]}
        if left_on == right_on:
            kwargs["on"] = left_on
        else:
            kwargs["left_on"], kwargs["right_on"] = left_on, right_on
        kwargs["suffixes"] = ("", v["suffix"])
        return kwargs

    def _asof_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``pd.merge_asof`` except tolerance, in display order."""
        v = self.values
        left_time, right_time = v["left_on"][0], v["right_on"][0]
        kwargs: dict[str, Any] = {}
        if left_time == right_time:
            kwargs["on"] = left_time
        else:
            kwargs["left_on"], kwargs["right_on"] = left_time, right_time
        by, right_by = list(v["by"] or []), self._right_by()
        if by and by == right_by:
            kwargs["by"] = by
        elif by:
            kwargs["left_by"], kwargs["right_by"] = by, right_by
        kwargs["direction"] = v["direction"]
        kwargs["suffixes"] = ("", v["suffix"])
        return kwargs

    def _tolerance(self) -> str:
        return (self.values["tolerance"] or "").strip()

    # -------------------------------------------------------------- contract

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        v = self.values
        name = _source_name(v["source"])
        right = _load(ctx, v["source"])
        needed = list(v["right_on"]) + (self._right_by() if self._asof else [])
        if missing := [c for c in needed if c not in right.columns]:
            raise OperationError(
                f"{name} has no column named {missing[0]!r}. Check the key columns in the other source "
                f"(it has: {_names([str(c) for c in right.columns][:20])})."
            )
        pairs = list(zip(v["left_on"], v["right_on"], strict=True))
        if self._asof:
            return self._apply_asof(df, right, name, pairs)
        if problem := _key_pairs_problem(df, right, pairs, name, strict=False):
            raise OperationError(problem)
        try:
            return df.merge(right, **self._merge_kwargs())
        except MergeError as exc:
            raise OperationError(self._merge_error(exc)) from exc

    def _apply_asof(
        self, df: pd.DataFrame, right: pd.DataFrame, name: str, pairs: list[tuple[str, str]]
    ) -> pd.DataFrame:
        left_time, right_time = pairs[0]
        by_pairs = list(zip(self.values["by"] or [], self._right_by(), strict=True))
        if problem := _key_pairs_problem(df, right, pairs, name, strict=True):
            raise OperationError(problem)
        if problem := _key_pairs_problem(df, right, by_pairs, name, strict=False):
            raise OperationError(problem)
        if missing := int(df[left_time].isna().sum()):
            raise OperationError(
                f"{missing:,} row(s) have no value in {left_time!r}; an as-of join needs a time on every row. "
                "Remove or fill those rows first."
            )
        kwargs = self._asof_kwargs()
        if tolerance := self._tolerance():
            kwargs["tolerance"] = _parse_tolerance(tolerance)
        try:
            right = right.dropna(subset=[right_time])
            right[right_time] = right[right_time].astype(df[left_time].dtype)
            return pd.merge_asof(
                df.sort_values(left_time, kind="stable"),
                right.sort_values(right_time, kind="stable"),
                **kwargs,
            )
        except (MergeError, TypeError, ValueError) as exc:
            raise OperationError(self._merge_error(exc)) from exc

    def _merge_error(self, exc: Exception) -> str:
        text = str(exc)
        if "suffixes" in text and "duplicate" in text:
            return (
                f"The suffix {self.values['suffix']!r} would create a column that already exists ({text}). "
                "Choose another suffix."
            )
        return f"The join failed: {text}"

    def describe(self) -> str:
        v = self.values
        name = _source_name(v["source"])
        keys = ", ".join(
            lk if lk == rk else f"{lk} = {rk}" for lk, rk in zip(v["left_on"], v["right_on"], strict=False)
        )
        if not self._asof:
            return f"{v['how'].capitalize()} join {name} on {keys}"
        extra = f" per {_names(v['by'])}" if v["by"] else ""
        within = f", within {self._tolerance()}" if self._tolerance() else ""
        return f"As-of join {name} on {keys}{extra} ({v['direction']}{within})"

    def code(self) -> list[str]:
        v = self.values
        read = _read_code(v["source"])
        if not self._asof:
            args = "".join(f"    {k}={value!r},\n" for k, value in self._merge_kwargs().items())
            return [f"df = df.merge(\n    {read},\n{args})"]
        left_time, right_time = v["left_on"][0], v["right_on"][0]
        kwargs = [f"    {k}={value!r},\n" for k, value in self._asof_kwargs().items()]
        if tolerance := self._tolerance():
            kwargs.insert(-1, f"    tolerance={_tolerance_code(tolerance)},\n")
        return [
            f"_right = {read}.dropna(subset=[{right_time!r}])",
            f"_right[{right_time!r}] = _right[{right_time!r}].astype(df[{left_time!r}].dtype)",
            "df = pd.merge_asof(\n"
            f"    df.sort_values({left_time!r}, kind='stable'),\n"
            f"    _right.sort_values({right_time!r}, kind='stable'),\n" + "".join(kwargs) + ")",
            "del _right",
        ]


# ---------------------------------------------------------------------------------------------- append


@register
class AppendSource(Operation):
    key = "append_source"
    label = "Append rows of another data source"
    group = GROUP
    summary = (
        "Add the rows of another data source below the current ones; columns are matched by name and a column "
        "missing on one side is left empty there."
    )
    params = (
        Param("source", "Other data source", "source"),
        Param(
            "require_same_columns",
            "Require the same columns",
            "boolean",
            default=False,
            help="Refuse the step when the two sources do not have exactly the same column names.",
        ),
    )

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        name = _source_name(self.values["source"])
        other = _load(ctx, self.values["source"])
        mine, theirs = [str(c) for c in df.columns], [str(c) for c in other.columns]
        if self.values["require_same_columns"] and set(mine) != set(theirs):
            only_here = [c for c in mine if c not in theirs]
            only_there = [c for c in theirs if c not in mine]
            parts = []
            if only_here:
                parts.append(f"only here: {_names(only_here)}")
            if only_there:
                parts.append(f"only in {name}: {_names(only_there)}")
            raise OperationError(
                f"The columns differ ({'; '.join(parts)}). Rename or remove columns, or turn off "
                "'Require the same columns'."
            )
        bad = []
        for column in (c for c in df.columns if c in other.columns):
            if df[column].isna().all() or other[column].isna().all():
                continue  # an empty column takes the other side's values
            here, there = dtype_of(df[column]), dtype_of(other[column])
            if _kind(here) != _kind(there):
                bad.append(f"{column!r} is {_kind(here)} here but {_kind(there)} in {name}")
        if bad:
            raise OperationError(
                f"Columns with the same name hold different kinds of data: {'; '.join(bad)}. "
                "Add a 'change type' step so that they match."
            )
        return pd.concat([df, other], ignore_index=True)

    def describe(self) -> str:
        return f"Append rows of {_source_name(self.values['source'])}"

    def code(self) -> list[str]:
        return [f"df = pd.concat([df, {_read_code(self.values['source'])}], ignore_index=True)"]
