"""Columns: select/reorder, rename, drop, duplicate, cast type, split by delimiter, combine.

Casting never fails on bad values: a value that cannot become the new type becomes missing, and the count of such
values per column is kept in ``CastColumn.invalid_counts`` after ``apply`` (the step's description cannot know it).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from hydroml.services.studio.operations.base import (
    Context,
    Operation,
    OperationError,
    Param,
    ParamError,
    Schema,
    col,
    register,
)
from hydroml.services.studio.operations.rows import SchemaAware

GROUP = "Columns"
# A table without columns cannot keep its rows (Parquet stores none), so selecting or dropping keeps one at least.
KEEP_ONE = "keep at least one column (a table without columns loses its rows when saved)."


def _new_name_error(
    param: str, label: str, name: object, schema: Schema, allowed: tuple[str, ...] = ()
) -> list:
    if not isinstance(name, str) or not name.strip():
        return [ParamError(param, f"{label}: give the new column a name.")]
    if name in schema and name not in allowed:
        return [ParamError(param, f"{label}: a column named {name!r} already exists; choose another name.")]
    return []


@register
class SelectColumns(Operation):
    key = "select_columns"
    label = "Select and reorder columns"
    group = GROUP
    summary = "Keep only the chosen columns, in the order you list them."
    params = (Param("columns", "Columns", "columns", help="The columns to keep, in their new order."),)

    def validate(self, schema: Schema) -> list[ParamError]:
        if self.values.get("columns") in (None, []):
            return [ParamError("columns", f"Columns: {KEEP_ONE}")]
        return super().validate(schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        return df[list(self.values["columns"])]

    def describe(self) -> str:
        return "Keep columns " + ", ".join(self.values["columns"])

    def code(self) -> list[str]:
        return [f"df = df[{list(self.values['columns'])!r}]"]


@register
class RenameColumns(Operation):
    key = "rename_columns"
    label = "Rename columns"
    group = GROUP
    summary = "Give columns new names."
    params = (Param("mapping", "New names", "mapping", help="For each column to rename: its new name."),)

    def check(self, schema: Schema) -> list[ParamError]:
        mapping: dict = self.values["mapping"]
        for old, new in mapping.items():
            if not new.strip():
                return [
                    ParamError("mapping", f"New names: give {old!r} a new name (or remove it from the list).")
                ]
        final = [mapping.get(name, name) for name in schema]
        seen: set[str] = set()
        for name in final:
            if name in seen:
                return [
                    ParamError(
                        "mapping", f"New names: two columns would be called {name!r}; choose another name."
                    )
                ]
            seen.add(name)
        return []

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        return df.rename(columns=dict(self.values["mapping"]))

    def describe(self) -> str:
        return "Rename " + ", ".join(f"{old} → {new}" for old, new in self.values["mapping"].items())

    def code(self) -> list[str]:
        return [f"df = df.rename(columns={dict(self.values['mapping'])!r})"]


@register
class DropColumns(Operation):
    key = "drop_columns"
    label = "Drop columns"
    group = GROUP
    summary = "Remove columns (at least one column stays)."
    params = (Param("columns", "Columns", "columns"),)

    def check(self, schema: Schema) -> list[ParamError]:
        if set(schema) <= set(self.values["columns"]):
            return [ParamError("columns", f"Columns: {KEEP_ONE}")]
        return []

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        return df.drop(columns=list(self.values["columns"]))

    def describe(self) -> str:
        return "Drop " + ", ".join(self.values["columns"])

    def code(self) -> list[str]:
        return [f"df = df.drop(columns={list(self.values['columns'])!r})"]


@register
class DuplicateColumn(Operation):
    key = "duplicate_column"
    label = "Duplicate a column"
    group = GROUP
    summary = "Copy a column under a new name, right after the original."
    params = (
        Param("column", "Column", "column"),
        Param("new_name", "New name", "text"),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        return _new_name_error("new_name", "New name", self.values["new_name"], schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        out = df.copy(deep=False)
        out.insert(
            out.columns.get_loc(self.values["column"]) + 1,
            self.values["new_name"],
            out[self.values["column"]],
        )
        return out

    def describe(self) -> str:
        return f"Duplicate {self.values['column']} as {self.values['new_name']}"

    def code(self) -> list[str]:
        column, new = self.values["column"], self.values["new_name"]
        return [f"df.insert(df.columns.get_loc({column!r}) + 1, {new!r}, {col(column)})"]


# ------------------------------------------------------------------ cast

_TARGETS = ("int", "float", "string", "bool", "category", "datetime")
# Text read as true/false (after trimming and lower-casing); "1.0"/"0.0" are how category columns of numbers read.
_BOOL_WORDS = {
    "true": True,
    "yes": True,
    "1": True,
    "1.0": True,
    "false": False,
    "no": False,
    "0": False,
    "0.0": False,
}
# (source dtype, target) pairs that make no sense; the message says what to do instead.
_REFUSED = {
    ("datetime", "int"): "a date cannot become a whole number",
    ("datetime", "float"): "a date cannot become a number",
    ("datetime", "bool"): "a date cannot become true/false",
    ("integer", "datetime"): "a number cannot become a date; cast text columns to datetime",
    ("float", "datetime"): "a number cannot become a date; cast text columns to datetime",
    ("boolean", "datetime"): "true/false cannot become a date",
}


def _valid_timezone(tz: str) -> bool:
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception:  # noqa: BLE001 - pytz/zoneinfo raise several unrelated types for unknown names
        return False
    return True


@register
class CastColumn(SchemaAware):
    key = "cast_column"
    label = "Change column type"
    group = GROUP
    summary = (
        "Convert columns to another type; values that cannot be converted become missing (and are counted)."
    )
    params = (
        Param("columns", "Columns", "columns"),
        Param(
            "to",
            "New type",
            "choice",
            default="float",
            choices=_TARGETS,
            help="int drops decimals (2.7 → 2) and uses a type that allows missing values when some are missing; "
            "bool reads true/false, yes/no, 1/0 in any case.",
        ),
        Param(
            "format",
            "Date format",
            "text",
            required=False,
            help="Optional, e.g. %d/%m/%Y %H:%M: how dates are written (text → datetime, datetime → string).",
        ),
        Param(
            "timezone",
            "Time zone",
            "text",
            required=False,
            help="Optional, e.g. UTC or Europe/Paris (datetime only): times without a zone are taken to be in "
            "it; times with a zone are converted to it.",
        ),
    )

    def __init__(self, values: dict | None = None) -> None:
        super().__init__(values)
        self.invalid_counts: dict[str, int] = {}  # column -> values that became missing, set by `apply`

    def check(self, schema: Schema) -> list[ParamError]:
        to = self.values["to"]
        for column in self.values["columns"]:
            reason = _REFUSED.get((schema[column], to))
            if reason:
                return [ParamError("to", f"New type: {column!r} is {schema[column]}; {reason}.")]
        tz = self.values.get("timezone")
        if tz and to == "datetime" and not _valid_timezone(tz.strip()):
            return [
                ParamError(
                    "timezone", f"Time zone: {tz!r} is not a known time zone; use e.g. UTC or Europe/Paris."
                )
            ]
        return []

    def _format(self) -> str | None:
        return self.values.get("format") or None

    def _timezone(self) -> str | None:
        tz = self.values.get("timezone")
        return tz.strip() if tz and self.values["to"] == "datetime" else None

    def _cast(self, s: pd.Series, source: str | None) -> pd.Series:  # noqa: C901 - one branch per type pair
        """Mirror of `_lines`: the same pandas calls in the same order."""
        to, fmt, tz = self.values["to"], self._format(), self._timezone()
        if to == "int":
            if source in ("integer", "boolean"):
                return s.astype("Int64") if s.isna().any() else s.astype("int64")
            x = np.trunc(s if source == "float" else pd.to_numeric(s, errors="coerce"))
            x = x.where(x.abs() < 2**63)
            return x.astype("Int64") if x.isna().any() else x.astype("int64")
        if to == "float":
            if source in ("integer", "float", "boolean"):
                return s.astype("float64")
            return pd.to_numeric(s, errors="coerce").astype("float64")
        if to == "string":
            if source == "datetime" and fmt:
                return s.dt.strftime(fmt)
            return s.astype("str")
        if to == "bool":
            if source == "boolean":
                return s
            if source in ("integer", "float"):
                x = s.map({1: True, 0: False})
            else:
                x = s.astype("str").str.strip().str.lower().map(_BOOL_WORDS)
            return x.astype("boolean") if x.isna().any() else x.astype("bool")
        if to == "category":
            return s.astype("category")
        # datetime
        x = s if source == "datetime" else pd.to_datetime(s, errors="coerce", format=fmt)
        if tz:
            x = (
                x.dt.tz_convert(tz)
                if x.dt.tz is not None
                else x.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            )
        return x

    def _lines(self, column: str, source: str | None) -> list[str]:
        to, fmt, tz = self.values["to"], self._format(), self._timezone()
        c = col(column)
        if to == "int":
            if source in ("integer", "boolean"):
                return [f"{c} = {c}.astype('Int64') if {c}.isna().any() else {c}.astype('int64')"]
            numeric = c if source == "float" else f"pd.to_numeric({c}, errors='coerce')"
            return [
                f"_x = np.trunc({numeric})",
                "_x = _x.where(_x.abs() < 2**63)",
                f"{c} = _x.astype('Int64') if _x.isna().any() else _x.astype('int64')",
            ]
        if to == "float":
            if source in ("integer", "float", "boolean"):
                return [f"{c} = {c}.astype('float64')"]
            return [f"{c} = pd.to_numeric({c}, errors='coerce').astype('float64')"]
        if to == "string":
            if source == "datetime" and fmt:
                return [f"{c} = {c}.dt.strftime({fmt!r})"]
            return [f"{c} = {c}.astype('str')"]
        if to == "bool":
            if source == "boolean":
                return []
            if source in ("integer", "float"):
                mapped = f"{c}.map({{1: True, 0: False}})"
            else:
                mapped = f"{c}.astype('str').str.strip().str.lower().map({_BOOL_WORDS!r})"
            return [f"_x = {mapped}", f"{c} = _x.astype('boolean') if _x.isna().any() else _x.astype('bool')"]
        if to == "category":
            return [f"{c} = {c}.astype('category')"]
        lines = []
        if source != "datetime":
            fmt_arg = f", format={fmt!r}" if fmt else ""
            lines.append(f"{c} = pd.to_datetime({c}, errors='coerce'{fmt_arg})")
        if tz:
            lines.append(
                f"{c} = {c}.dt.tz_convert({tz!r}) if {c}.dt.tz is not None "
                f"else {c}.dt.tz_localize({tz!r}, ambiguous='NaT', nonexistent='NaT')"
            )
        return lines

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        self.remember(df)
        out = df.copy(deep=False)
        self.invalid_counts = {}
        for column in self.values["columns"]:
            before = out[column]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    after = self._cast(before, self.dtype(column))
            except (ValueError, TypeError, OverflowError) as exc:
                raise OperationError(_cast_failure(column, self.values["to"], exc)) from None
            self.invalid_counts[column] = int((after.isna() & before.notna()).sum())
            out[column] = after
        return out

    def note(self) -> str:
        lost = {column: n for column, n in self.invalid_counts.items() if n}
        if not lost:
            return ""
        return "Became missing (could not be converted): " + ", ".join(f"{c} {n:,}" for c, n in lost.items())

    def describe(self) -> str:
        extras = []
        if self._format() and self.values["to"] in ("datetime", "string"):
            extras.append(f"format {self._format()}")
        if self._timezone():
            extras.append(f"time zone {self._timezone()}")
        suffix = f" ({', '.join(extras)})" if extras else ""
        return f"Change {', '.join(self.values['columns'])} to {self.values['to']}{suffix}"

    def code(self) -> list[str]:
        lines = [
            line for column in self.values["columns"] for line in self._lines(column, self.dtype(column))
        ]
        if any(line.startswith("_x = ") for line in lines):
            lines.append("del _x")
        return lines


def _cast_failure(column: str, to: str, exc: Exception) -> str:
    text = str(exc)
    if "Mixed timezones" in text or "mixed time" in text.lower():
        return (
            f"{column!r} mixes several time zone offsets (e.g. summer and winter time), so it cannot become one "
            "datetime column as it is."
        )
    return f"{column!r} cannot be changed to {to}: {text}"


# ------------------------------------------------------------------ split / combine


@register
class SplitColumn(Operation):
    key = "split_column"
    label = "Split a column"
    group = GROUP
    summary = "Split a text column at a delimiter into several new columns (the original stays)."
    params = (
        Param("column", "Column", "column", dtypes=("string", "category")),
        Param(
            "delimiter",
            "Delimiter",
            "text",
            default=",",
            help="Plain text, e.g. , or ; or - (not a pattern).",
        ),
        Param(
            "parts",
            "Number of parts",
            "integer",
            default=2,
            minimum=2,
            maximum=50,
            help="The new columns; the last part keeps the rest of the text, missing parts stay empty.",
        ),
        Param("prefix", "New column prefix", "text", required=False, help="Empty: the column name and _."),
    )

    def _names(self) -> list[str]:
        prefix = self.values.get("prefix") or f"{self.values['column']}_"
        return [f"{prefix}{i}" for i in range(1, int(self.values["parts"]) + 1)]

    def check(self, schema: Schema) -> list[ParamError]:
        taken = [name for name in self._names() if name in schema]
        if taken:
            return [ParamError("prefix", f"New column prefix: a column named {taken[0]!r} already exists.")]
        return []

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        parts = int(self.values["parts"])
        text = df[self.values["column"]].astype("str")  # category columns of numbers or dates split as text
        pieces = text.str.split(self.values["delimiter"], n=parts - 1, expand=True, regex=False)
        out = df.copy(deep=False)
        out[self._names()] = pieces.reindex(columns=range(parts)).astype("str")
        return out

    def describe(self) -> str:
        names = self._names()
        return f"Split {self.values['column']} at {self.values['delimiter']!r} into {names[0]} … {names[-1]}"

    def code(self) -> list[str]:
        parts = int(self.values["parts"])
        c = col(self.values["column"])
        return [
            f"df[{self._names()!r}] = {c}.astype('str').str.split({self.values['delimiter']!r}, n={parts - 1}, "
            f"expand=True, regex=False).reindex(columns=range({parts})).astype('str')"
        ]


@register
class CombineColumns(Operation):
    key = "combine_columns"
    label = "Combine columns"
    group = GROUP
    summary = (
        "Join the text of several columns into a new column, with a separator; missing values count as empty."
    )
    params = (
        Param("columns", "Columns", "columns", help="In the order they are joined."),
        Param("separator", "Separator", "text", default="_", required=False, help="Empty: no separator."),
        Param("new_name", "New column name", "text"),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        if len(self.values["columns"]) < 2:
            return [ParamError("columns", "Columns: choose at least two columns to combine.")]
        return _new_name_error("new_name", "New column name", self.values["new_name"], schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        sep = self.values.get("separator") or ""
        columns = self.values["columns"]
        combined = df[columns[0]].astype("str").fillna("")
        for column in columns[1:]:
            combined = combined + sep + df[column].astype("str").fillna("")
        out = df.copy(deep=False)
        out[self.values["new_name"]] = combined
        return out

    def describe(self) -> str:
        sep = self.values.get("separator") or ""
        return (
            f"Combine {', '.join(self.values['columns'])} into {self.values['new_name']} (separator {sep!r})"
        )

    def code(self) -> list[str]:
        sep = self.values.get("separator") or ""
        pieces = [f"{col(c)}.astype('str').fillna('')" for c in self.values["columns"]]
        return [f"df[{self.values['new_name']!r}] = " + f" + {sep!r} + ".join(pieces)]
