"""Missing data: fill with a constant, a statistic, the previous/next value, interpolation, or a per-group statistic.

Interpolation only fills interior gaps (``limit_area="inside"``): missing values before the first or after the
last known value of a column (of a group) are left alone, because nothing on one side anchors them. Its
"maximum gap" fills whole gaps of at most that many consecutive missing rows and leaves longer gaps completely
untouched (pandas' own ``limit`` would fill the first N values of a long gap instead). With a group column, gaps
are measured and filled within each group only: a gap is never bridged between two stations. Rows whose group
value is missing form one group of their own (pandas' ``dropna=False``), as in every studio operation with a group
column.

Filling a category column with a value adds it as a text label; the column's labels become text too (numbers,
dates or true/false labels of a column changed to category would otherwise mix with it, which Parquet cannot store).
"""

from __future__ import annotations

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
)
from hydroml.services.studio.operations.rows import SchemaAware, convert_value, literal

GROUP = "Missing data"


def _group_by_errors(values: dict) -> list[ParamError]:
    group_by = values.get("group_by")
    if group_by and group_by in values["columns"]:
        return [
            ParamError(
                "group_by", f"Per group of: {group_by!r} is also one of the columns to fill; choose another."
            )
        ]
    return []


def _group_param(help: str) -> Param:
    return Param("group_by", "Per group of", "column", required=False, help=help)


@register
class FillConstant(SchemaAware):
    key = "fill_constant"
    label = "Fill with a value"
    group = GROUP
    summary = (
        "Replace missing values with a fixed value, read as each column's type (a new text label for a category "
        "column, whose labels become text)."
    )
    params = (
        Param("columns", "Columns", "columns"),
        Param(
            "value", "Value", "text", help="e.g. 0, unknown, 2020-01-01 or true, matching the columns' type."
        ),
    )

    def _typed(self, dtype: str | None):
        return convert_value(self.values["value"], dtype, whole=True)

    def check(self, schema: Schema) -> list[ParamError]:
        for column in self.values["columns"]:
            try:
                self._typed(schema[column])
            except ValueError as exc:
                return [ParamError("value", f"Value: {exc}, which {column!r} ({schema[column]}) needs.")]
        return []

    # A category column gets the value as a new text category. Its labels become text first (a no-op for text
    # labels): labels that are numbers, dates or true/false (a column changed to category) would otherwise mix with
    # the text value, which Parquet cannot store.

    def _filled(self, s: pd.Series, value, dtype: str | None) -> pd.Series:
        if dtype == "category":
            s = s.cat.rename_categories(str)
            return s.cat.set_categories(s.cat.categories.append(pd.Index([value])).unique()).fillna(value)
        return s.fillna(value)

    def _lines(self, column: str, value, dtype: str | None) -> list[str]:
        c = col(column)
        if dtype == "category":
            categories = f"{c}.cat.categories.append(pd.Index([{literal(value)}])).unique()"
            return [
                f"{c} = {c}.cat.rename_categories(str)  # labels as text, like the value",
                f"{c} = {c}.cat.set_categories({categories}).fillna({literal(value)})",
            ]
        return [f"{c} = {c}.fillna({literal(value)})"]

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        self.remember(df)
        out = df.copy(deep=False)
        for column in self.values["columns"]:
            dtype = self.dtype(column)
            try:
                out[column] = self._filled(out[column], self._typed(dtype), dtype)
            except (ValueError, TypeError) as exc:
                raise OperationError(f"Cannot fill {column!r} with {self.values['value']!r}: {exc}") from None
        return out

    def describe(self) -> str:
        return f"Fill missing {', '.join(self.values['columns'])} with {self.values['value']}"

    def code(self) -> list[str]:
        lines = []
        for column in self.values["columns"]:
            dtype = self.dtype(column)
            lines += self._lines(column, self._typed(dtype), dtype)
        return lines


@register
class FillStatistic(Operation):
    key = "fill_statistic"
    label = "Fill with mean, median or mode"
    group = GROUP
    summary = "Replace missing values with the column's mean, median or most frequent value."
    params = (
        Param("columns", "Columns", "columns"),
        Param(
            "statistic",
            "Statistic",
            "choice",
            default="median",
            choices=("mean", "median", "mode"),
            help="mean and median need numeric columns; mode works for any column (the smallest when tied).",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        if self.values["statistic"] in ("mean", "median"):
            for column in self.values["columns"]:
                if schema[column] not in NUMERIC:
                    return [
                        ParamError(
                            "columns",
                            f"Columns: {column!r} is {schema[column]}; the {self.values['statistic']} needs numbers "
                            "(use mode for other columns).",
                        )
                    ]
        return []

    def _fill_value(self, s: pd.Series):
        statistic = self.values["statistic"]
        if statistic == "mean":
            return s.mean()
        if statistic == "median":
            return s.median()
        return s.mode().get(0, float("nan"))

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        out = df.copy(deep=False)
        for column in self.values["columns"]:
            s = out[column]
            try:
                out[column] = s.fillna(self._fill_value(s))
            except (ValueError, TypeError) as exc:
                raise OperationError(
                    f"Cannot fill {column!r} with its {self.values['statistic']}: {exc}. "
                    "For whole-number columns, change the type to float first."
                ) from None
        return out

    def describe(self) -> str:
        return f"Fill missing {', '.join(self.values['columns'])} with the {self.values['statistic']}"

    def code(self) -> list[str]:
        statistic = self.values["statistic"]
        lines = []
        for column in self.values["columns"]:
            c = col(column)
            value = f"{c}.mode().get(0, np.nan)" if statistic == "mode" else f"{c}.{statistic}()"
            lines.append(f"{c} = {c}.fillna({value})")
        return lines


@register
class FillDirection(Operation):
    key = "fill_direction"
    label = "Fill forward or backward"
    group = GROUP
    summary = "Replace missing values with the previous (forward) or next (backward) known value."
    params = (
        Param("columns", "Columns", "columns"),
        Param("direction", "Direction", "choice", default="forward", choices=("forward", "backward")),
        Param(
            "limit",
            "At most",
            "integer",
            required=False,
            minimum=1,
            help="Optional: fill at most this many missing values in a row after (or before) a known value; the "
            "rest of a longer gap stays missing.",
        ),
        _group_param("Optional, e.g. station_id: fill within each group only, never from another group."),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        return _group_by_errors(self.values)

    def _call(self) -> str:
        method = "ffill" if self.values["direction"] == "forward" else "bfill"
        limit = self.values.get("limit")
        return f"{method}(limit={int(limit)})" if limit is not None else f"{method}()"

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        columns = list(self.values["columns"])
        limit = self.values.get("limit")
        limit = int(limit) if limit is not None else None
        group_by = self.values.get("group_by")
        source = df.groupby(group_by, dropna=False, sort=False)[columns] if group_by else df[columns]
        filled = (
            source.ffill(limit=limit) if self.values["direction"] == "forward" else source.bfill(limit=limit)
        )
        out = df.copy(deep=False)
        out[columns] = filled
        return out

    def describe(self) -> str:
        limit = self.values.get("limit")
        extras = [f"at most {int(limit)} in a row"] if limit is not None else []
        if self.values.get("group_by"):
            extras.append(f"per {self.values['group_by']}")
        suffix = f" ({', '.join(extras)})" if extras else ""
        return f"Fill missing {', '.join(self.values['columns'])} {self.values['direction']}{suffix}"

    def code(self) -> list[str]:
        columns = list(self.values["columns"])
        group_by = self.values.get("group_by")
        source = (
            f"df.groupby({group_by!r}, dropna=False, sort=False)[{columns!r}]"
            if group_by
            else f"df[{columns!r}]"
        )
        return [f"df[{columns!r}] = {source}.{self._call()}"]


@register
class Interpolate(Operation):
    key = "interpolate"
    label = "Interpolate"
    group = GROUP
    summary = (
        "Fill gaps between known values by interpolation; missing values before the first or after the last "
        "known value stay missing."
    )
    params = (
        Param("columns", "Columns", "columns", dtypes=NUMERIC),
        Param(
            "method",
            "Method",
            "choice",
            default="linear",
            choices=("linear", "time", "nearest"),
            help="linear: a straight line, rows equally spaced; time: a straight line over the time column; "
            "nearest: the closest known value.",
        ),
        Param(
            "max_gap",
            "Longest gap to fill",
            "integer",
            required=False,
            minimum=1,
            help="Optional: only fill gaps of at most this many missing rows in a row; longer gaps stay "
            "completely missing (e.g. 3 on daily data = gaps up to 3 days).",
        ),
        Param(
            "time_column",
            "Time column",
            "column",
            required=False,
            dtypes=("datetime",),
            help="Needed for the time method; rows must be in time order (within each group).",
        ),
        _group_param(
            "Optional, e.g. station_id: interpolate within each group; a gap is never bridged between groups."
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        if self.values["method"] == "time" and not self.values.get("time_column"):
            return [ParamError("time_column", "Time column: the time method needs a time column.")]
        return _group_by_errors(self.values)

    def _time_column(self) -> str | None:
        return self.values.get("time_column") if self.values["method"] == "time" else None

    def _fill(self, s: pd.Series, times: pd.Series | None) -> pd.Series:
        """Mirror of the `_interpolate` function in `code`: one column of one group."""
        # unnamed: pandas names each group's values by the group value and compares names, which fails on <NA>
        s = s.rename(None)
        method = self.values["method"]
        if method == "time":
            filled = (
                s.set_axis(pd.DatetimeIndex(times.loc[s.index]))
                .interpolate(method="time", limit_area="inside")
                .set_axis(s.index)
            )
        elif method == "nearest":
            filled = (
                s.reset_index(drop=True).interpolate(method="nearest", limit_area="inside").set_axis(s.index)
            )
        else:
            filled = s.interpolate(method="linear", limit_area="inside")
        max_gap = self.values.get("max_gap")
        if max_gap is not None:
            gap = s.isna()
            gap_length = gap.groupby(gap.ne(gap.shift()).cumsum()).transform("sum")
            filled = filled.where(~gap | (gap_length <= int(max_gap)))
        return filled

    def _check_times(self, df: pd.DataFrame) -> None:
        time_column = self._time_column()
        if time_column is None:
            return
        times = df[time_column]
        if times.isna().any():
            raise OperationError(
                f"Time column {time_column!r} has missing values; drop those rows first (Rows → Drop rows with "
                "missing values)."
            )
        group_by = self.values.get("group_by")
        steps = times.groupby(df[group_by], dropna=False, sort=False).diff() if group_by else times.diff()
        if (steps < pd.Timedelta(0)).any():
            where = " within each group" if group_by else ""
            raise OperationError(
                f"Rows are not in time order{where}; sort by {group_by + ', ' if group_by else ''}{time_column} "
                "first (Rows → Sort rows)."
            )

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        self._check_times(df)
        time_column = self._time_column()
        times = df[time_column] if time_column else None
        group_by = self.values.get("group_by")
        out = df.copy(deep=False)
        for column in self.values["columns"]:
            if group_by:
                grouped = df.groupby(group_by, dropna=False, sort=False)[column]
                out[column] = grouped.transform(lambda s: self._fill(s, times))
            else:
                out[column] = self._fill(df[column], times)
        return out

    def describe(self) -> str:
        extras = []
        if self.values.get("max_gap") is not None:
            extras.append(f"gaps up to {int(self.values['max_gap'])} rows")
        if self.values.get("group_by"):
            extras.append(f"per {self.values['group_by']}")
        if self._time_column():
            extras.append(f"over {self._time_column()}")
        suffix = f" ({', '.join(extras)})" if extras else ""
        return f"Interpolate {', '.join(self.values['columns'])} {self.values['method']}{suffix}"

    def code(self) -> list[str]:
        method = self.values["method"]
        if method == "time":
            body = (
                f"    filled = s.set_axis(pd.DatetimeIndex(df.loc[s.index, {self._time_column()!r}]))"
                ".interpolate(method='time', limit_area='inside').set_axis(s.index)"
            )
        elif method == "nearest":
            body = (
                "    filled = s.reset_index(drop=True).interpolate(method='nearest', limit_area='inside')"
                ".set_axis(s.index)"
            )
        else:
            body = "    filled = s.interpolate(method='linear', limit_area='inside')"
        function = [
            "def _interpolate(s):",
            "    s = s.rename(None)  # unnamed: a missing group value (<NA>) is no name",
            body,
        ]
        max_gap = self.values.get("max_gap")
        if max_gap is not None:
            function += [
                "    gap = s.isna()",
                "    gap_length = gap.groupby(gap.ne(gap.shift()).cumsum()).transform('sum')",
                f"    filled = filled.where(~gap | (gap_length <= {int(max_gap)}))",
            ]
        function.append("    return filled")
        lines = ["\n".join(function)]
        group_by = self.values.get("group_by")
        for column in self.values["columns"]:
            c = col(column)
            if group_by:
                lines.append(
                    f"{c} = df.groupby({group_by!r}, dropna=False, sort=False)[{column!r}].transform(_interpolate)"
                )
            else:
                lines.append(f"{c} = _interpolate({c})")
        lines.append("del _interpolate")
        return lines


@register
class FillGroupStatistic(Operation):
    key = "fill_group_statistic"
    label = "Fill with a per-group statistic"
    group = GROUP
    summary = "Replace missing values with the mean or median of their group (e.g. of their station)."
    params = (
        Param("columns", "Columns", "columns", dtypes=NUMERIC),
        Param("group_by", "Per group of", "column", help="e.g. station_id"),
        Param("statistic", "Statistic", "choice", default="median", choices=("mean", "median")),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        return _group_by_errors(self.values)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        columns = list(self.values["columns"])
        statistic = df.groupby(self.values["group_by"], dropna=False, sort=False)[columns].transform(
            self.values["statistic"]
        )
        out = df.copy(deep=False)
        try:
            out[columns] = df[columns].fillna(statistic)
        except (ValueError, TypeError) as exc:
            raise OperationError(
                f"Cannot fill with the group {self.values['statistic']}: {exc}. "
                "For whole-number columns, change the type to float first."
            ) from None
        return out

    def describe(self) -> str:
        return (
            f"Fill missing {', '.join(self.values['columns'])} with the {self.values['statistic']} "
            f"per {self.values['group_by']}"
        )

    def code(self) -> list[str]:
        columns = list(self.values["columns"])
        statistic = (
            f"df.groupby({self.values['group_by']!r}, dropna=False, sort=False)[{columns!r}]"
            f".transform({self.values['statistic']!r})"
        )
        return [f"df[{columns!r}] = df[{columns!r}].fillna({statistic})"]
