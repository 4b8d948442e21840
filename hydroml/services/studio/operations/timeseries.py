"""Time-series operations: parse dates, sort by time, resample, regular steps, lags, windows, calendar features.

Frames keep a default RangeIndex: each operation names its time column (datetime) and, for long tables holding
several series (one per station), an optional group column. Per-group work uses ``groupby`` in the current row
order, so lags and windows assume rows sorted by time within each group ("Set time column" does that).

Rows whose group value is missing form one group of their own (pandas' ``dropna=False``), as everywhere in the
studio (missing data, outliers, hydrology, group and aggregate): lags, windows and differences run over those rows
as one more series, and resample, regular steps and the gap report give that group rows with a missing group
value. Drop or fill those rows first when they do not belong together.
"""

from __future__ import annotations

import numpy as np
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
from hydroml.services.studio.operations.rows import SchemaAware

GROUP = "Time series"
GROUP_DTYPES = ("string", "integer", "category", "boolean")

# Frequency code -> friendly label (pandas offset aliases).
FREQUENCIES = {
    "D": "daily",
    "W": "weekly (weeks ending on Sunday)",
    "MS": "monthly (labelled by the 1st)",
    "ME": "monthly (labelled by the last day)",
    "QS": "quarterly (labelled by the first day)",
    "YS": "yearly (labelled by 1 January)",
    "h": "hourly",
}
FREQUENCY_HELP = "; ".join(f"{code} = {label}" for code, label in FREQUENCIES.items())


def time_param(name: str = "time_column", required: bool = True, help: str = "") -> Param:
    return Param(name, "Time column", "column", required=required, dtypes=("datetime",), help=help)


def group_param(help: str = "") -> Param:
    return Param(
        "group_by",
        "Group by",
        "column",
        required=False,
        dtypes=GROUP_DTYPES,
        help=help or "Optional: one series per value of this column (e.g. station_id).",
    )


def grouped(group: str | None, column: str) -> str:
    """Code for a column, per group when there is one: ``df.groupby('g', dropna=False)['x']`` or ``df['x']``."""
    return f"df.groupby({group!r}, dropna=False)[{column!r}]" if group else col(column)


def by_group(df: pd.DataFrame, group: str | None, column: str):
    """The object `grouped` prints, for `apply`."""
    return df.groupby(group, dropna=False)[column] if group else df[column]


def new_name_errors(param: str, label: str, names: list[str], schema: Schema) -> list[ParamError]:
    """New columns must not exist yet and must not repeat."""
    seen: set[str] = set()
    for name in names:
        if name in schema:
            return [
                ParamError(
                    param, f"{label}: a column named {name!r} already exists; rename or remove it first."
                )
            ]
        if name in seen:
            return [ParamError(param, f"{label}: the new column {name!r} would be created twice.")]
        seen.add(name)
    return []


def group_errors(group: str | None, others: list[str]) -> list[ParamError]:
    if group and group in others:
        return [
            ParamError(
                "group_by", f"Group by: {group!r} is already used by another parameter; choose another."
            )
        ]
    return []


def _frequency_param(required: bool = True, help: str = "") -> Param:
    return Param(
        "frequency",
        "Frequency",
        "choice",
        default="D" if required else None,
        required=required,
        choices=tuple(FREQUENCIES),
        help=help or FREQUENCY_HELP,
    )


# ------------------------------------------------------------------ parse and order


# Text that looks like a date: a year-month(-day), day/month/year (any of - / . or space between), an eight-digit
# date (20200131) or a month name with a four-digit year (31 January 2020, Jan 5 2020). Without a format, other
# text becomes missing before pandas reads the values: pandas would otherwise fall back to reading each value on
# its own and invent the missing parts ("ST01" -> 0001-01-01, "12:00" or "now" -> today). A regular expression
# both Python's and Arrow's (RE2) engines read the same way.
DATE_TEXT = (
    r"\d{4}[-/.]\d{1,2}"
    r"|\d{1,2}[-/. ]\d{1,2}[-/. ]\d{2,4}"
    r"|^\s*\d{8}(?:\D|$)"
    r"|(?i:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\b.*\d{4})"
)


@register
class ParseDatetime(SchemaAware):
    key = "parse_datetime"
    label = "Parse dates and times"
    group = GROUP
    summary = "Turn a text column into dates and times; values that cannot be read become missing (NaT)."
    params = (
        Param("column", "Column", "column", dtypes=("string", "datetime")),
        Param(
            "format",
            "Format",
            "text",
            required=False,
            help="Optional, e.g. %d/%m/%Y %H:%M. Empty = recognised from the first date (ISO dates such as "
            "2020-01-31 work best): values written another way, and text that is not a date (e.g. ST01, 12:00 "
            "or a year alone), become missing.",
        ),
        Param(
            "dayfirst",
            "Day first",
            "boolean",
            default=False,
            required=False,
            help="Read 03/04/2020 as 3 April (without a format only).",
        ),
        Param(
            "utc",
            "Offsets to UTC",
            "boolean",
            default=False,
            required=False,
            help="Tick when the times carry different UTC offsets (e.g. +01:00 and +02:00): they are read as UTC.",
        ),
        Param(
            "timezone",
            "Time zone",
            "text",
            required=False,
            help="Optional, e.g. Europe/London or UTC: times without a zone are taken as local times there "
            "(times that do not exist or are ambiguous at clock changes become missing); times with a zone are "
            "converted to it.",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        tz = self.values.get("timezone")
        if tz:
            try:
                pd.DatetimeIndex([]).tz_localize(tz)
            except Exception:  # noqa: BLE001 - pytz/zoneinfo raise various types
                return [
                    ParamError(
                        "timezone", f"Time zone: {tz!r} is unknown; use a name like Europe/London or UTC."
                    )
                ]
        return []

    def _kwargs(self) -> dict:
        kwargs: dict = {}
        if self.values.get("format"):
            kwargs["format"] = self.values["format"]
        elif self.values.get("dayfirst"):
            kwargs["dayfirst"] = True
        if self.values.get("utc"):
            kwargs["utc"] = True
        kwargs["errors"] = "coerce"
        return kwargs

    def _filtered(self) -> bool:
        """Without a format, text that does not look like a date becomes missing first (see DATE_TEXT)."""
        return not self.values.get("format") and self.dtype(self.values["column"]) != "datetime"

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        self.remember(df)
        c, tz = self.values["column"], self.values.get("timezone")
        values = df[c]
        if self._filtered():
            text = values.astype("str")
            values = text.where(text.str.contains(DATE_TEXT, na=False))
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        try:
            out[c] = pd.to_datetime(values, **self._kwargs())
        except (ValueError, TypeError) as exc:
            if "Mixed timezones" in str(exc) or "mixed time zones" in str(exc).lower():
                raise OperationError(
                    f"{c!r} holds times with different UTC offsets; tick 'Offsets to UTC' to read them."
                ) from exc
            raise OperationError(f"{c!r} could not be read as dates: {exc}") from exc
        if tz:
            out[c] = (
                out[c].dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
                if out[c].dt.tz is None
                else out[c].dt.tz_convert(tz)
            )
        return out

    def describe(self) -> str:
        extra = f" ({self.values['format']})" if self.values.get("format") else ""
        tz = f" in {self.values['timezone']}" if self.values.get("timezone") else ""
        return f"Parse dates in {self.values['column']}{extra}{tz}"

    def code(self) -> list[str]:
        c, tz = self.values["column"], self.values.get("timezone")
        args = "".join(f", {k}={v!r}" for k, v in self._kwargs().items())
        if self._filtered():
            lines = [
                f"_text = {col(c)}.astype('str')",
                "# text that does not look like a date (e.g. ST01, 12:00, now) becomes missing",
                f"_text = _text.where(_text.str.contains(r'{DATE_TEXT}', na=False))",
                f"{col(c)} = pd.to_datetime(_text{args})",
                "del _text",
            ]
        else:
            lines = [f"{col(c)} = pd.to_datetime({col(c)}{args})"]
        if tz:
            lines.append(
                f"{col(c)} = (\n"
                f"    {col(c)}.dt.tz_localize({tz!r}, ambiguous='NaT', nonexistent='NaT')\n"
                f"    if {col(c)}.dt.tz is None\n"
                f"    else {col(c)}.dt.tz_convert({tz!r})\n"
                ")"
            )
        return lines


@register
class SetTimeColumn(Operation):
    key = "set_time_column"
    label = "Set time column"
    group = GROUP
    summary = (
        "Sort the rows by group, then by time (rows with equal keys keep their order; missing times go last)."
    )
    params = (time_param(), group_param())

    def check(self, schema: Schema) -> list[ParamError]:
        return group_errors(self.values.get("group_by"), [self.values["time_column"]])

    def _keys(self) -> list[str] | str:
        t, g = self.values["time_column"], self.values.get("group_by")
        return [g, t] if g else t

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        return df.sort_values(self._keys(), kind="stable").reset_index(drop=True)

    def describe(self) -> str:
        g = self.values.get("group_by")
        return f"Sort by {self.values['time_column']}" + (f" within {g}" if g else "")

    def code(self) -> list[str]:
        return [f"df = df.sort_values({self._keys()!r}, kind='stable').reset_index(drop=True)"]


# ------------------------------------------------------------------ resample and regular steps

AGGREGATIONS = ("sum", "mean", "min", "max", "median", "first", "last", "count")
_AGG_DTYPES = {
    "sum": (*NUMERIC, "boolean"),
    "mean": (*NUMERIC, "boolean"),
    "median": (*NUMERIC, "boolean"),
    "min": (*NUMERIC, "boolean", "datetime"),
    "max": (*NUMERIC, "boolean", "datetime"),
}


def _aggregate(bins, how: str):
    """One column's resampler (``_bins[c]`` or ``_groups[c].resample(freq)``) summarised by ``how``."""
    return bins.sum(min_count=1) if how == "sum" else getattr(bins, how)()


def _aggregate_code(bins: str, how: str) -> str:
    return f"{bins}.sum(min_count=1)" if how == "sum" else f"{bins}.{how}()"


@register
class Resample(Operation):
    key = "resample"
    label = "Resample"
    group = GROUP
    summary = (
        "One row per period (and group): each listed column is summarised by its aggregation; other columns are "
        "dropped. Periods without data get a row with missing values (a count of 0)."
    )
    params = (
        time_param(),
        group_param(),
        _frequency_param(),
        Param(
            "aggregations",
            "Aggregations",
            "mapping",
            choices=AGGREGATIONS,
            help="Column -> sum, mean, min, max, median, first, last or count. Columns not listed are dropped. "
            "A sum over a period with no values stays missing instead of 0, so a gap is never read as zero "
            "rain; first/last take the first/last non-missing value.",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        t, g, aggs = self.values["time_column"], self.values.get("group_by"), self.values["aggregations"]
        for column, how in aggs.items():
            if column in (t, g):
                return [ParamError("aggregations", f"Aggregations: {column!r} is the time or group column.")]
            allowed = _AGG_DTYPES.get(how)
            if allowed and schema[column] not in allowed:
                return [
                    ParamError(
                        "aggregations",
                        f"Aggregations: {how} needs a number column but {column!r} is {schema[column]}; "
                        "use first, last or count, or convert the column.",
                    )
                ]
        return group_errors(g, [t])

    # With a group, each column is resampled from the grouped column (``_groups[c].resample``): resampling the
    # grouped frame fails on an empty result when the frame has a column called "name" (pandas reads
    # ``frame.name``), and an empty result loses the group column, which ``reindex`` puts back.

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        t, g, freq = self.values["time_column"], self.values.get("group_by"), self.values["frequency"]
        aggs = self.values["aggregations"]
        if not g:
            bins = df.set_index(t).resample(freq)
            return pd.DataFrame({c: _aggregate(bins[c], how) for c, how in aggs.items()}).reset_index()
        groups = df.set_index(t).groupby(g, dropna=False)
        return (
            pd.DataFrame({c: _aggregate(groups[c].resample(freq), how) for c, how in aggs.items()})
            .reset_index()
            .reindex(columns=[g, t, *aggs])
            .astype({g: df[g].dtype})
        )

    def describe(self) -> str:
        g = self.values.get("group_by")
        aggs = ", ".join(f"{c} {how}" for c, how in self.values["aggregations"].items())
        per = f" per {g}" if g else ""
        return f"Resample{per} {FREQUENCIES[self.values['frequency']]}: {aggs}"

    def code(self) -> list[str]:
        t, g, freq = self.values["time_column"], self.values.get("group_by"), self.values["frequency"]
        aggs = self.values["aggregations"]
        if not g:
            body = "".join(
                f"    {c!r}: {_aggregate_code(f'_bins[{c!r}]', how)},\n" for c, how in aggs.items()
            )
            return [
                f"_bins = df.set_index({t!r}).resample({freq!r})",
                f"df = pd.DataFrame({{\n{body}}}).reset_index()",
                "del _bins",
            ]
        body = "".join(
            f"        {c!r}: {_aggregate_code(f'_groups[{c!r}].resample({freq!r})', how)},\n"
            for c, how in aggs.items()
        )
        return [
            f"_groups = df.set_index({t!r}).groupby({g!r}, dropna=False)",
            "df = (\n"
            f"    pd.DataFrame({{\n{body}    }})\n"
            "    .reset_index()\n"
            f"    .reindex(columns={[g, t, *aggs]!r})  # an empty result keeps the group column\n"
            f"    .astype({{{g!r}: df[{g!r}].dtype}})\n"
            ")",
            "del _groups",
        ]


@register
class MakeRegular(Operation):
    key = "make_regular"
    label = "Make time steps regular"
    group = GROUP
    summary = (
        "Insert a row with missing values for every time step absent between the first and last time (of each "
        "group); rows end sorted by group and time."
    )
    params = (
        time_param(help="Existing times should fall on the steps (e.g. midnight for daily, the 1st for MS)."),
        group_param(),
        _frequency_param(),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        return group_errors(self.values.get("group_by"), [self.values["time_column"]])

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        t, g, freq = self.values["time_column"], self.values.get("group_by"), self.values["frequency"]
        if g:
            new = [
                pd.DataFrame(
                    {g: key, t: pd.date_range(times.min(), times.max(), freq=freq).difference(times)}
                )
                for key, times in df[t].dropna().groupby(df[g], dropna=False)
            ]
        else:
            times = df[t].dropna()
            new = (
                [pd.DataFrame({t: pd.date_range(times.min(), times.max(), freq=freq).difference(times)})]
                if len(times)
                else []
            )
        keys = [g, t] if g else t
        regular = pd.concat([df, *[rows for rows in new if len(rows)]])
        if g:  # the new rows hold the group as a plain value: give the column its type back (e.g. category)
            regular = regular.astype({g: df[g].dtype})
        return regular.sort_values(keys, kind="stable").reset_index(drop=True)

    def describe(self) -> str:
        g = self.values.get("group_by")
        return (
            f"Insert missing steps of {self.values['time_column']}"
            + (f" per {g}" if g else "")
            + f": {FREQUENCIES[self.values['frequency']]}"
        )

    def code(self) -> list[str]:
        t, g, freq = self.values["time_column"], self.values.get("group_by"), self.values["frequency"]
        if g:
            first = (
                "_new = [\n"
                f"    pd.DataFrame({{{g!r}: key, {t!r}: pd.date_range(times.min(), times.max(), freq={freq!r})"
                ".difference(times)})\n"
                f"    for key, times in {col(t)}.dropna().groupby({col(g)}, dropna=False)\n"
                "]"
            )
            lines = [first]
            keys: list[str] | str = [g, t]
        else:
            lines = [
                f"_times = {col(t)}.dropna()",
                "_new = (\n"
                f"    [pd.DataFrame({{{t!r}: pd.date_range(_times.min(), _times.max(), freq={freq!r})"
                ".difference(_times)})]\n"
                "    if len(_times)\n"
                "    else []\n"
                ")",
            ]
            keys = t
        astype = f"    .astype({{{g!r}: df[{g!r}].dtype}})\n" if g else ""
        lines.append(
            "df = (\n"
            "    pd.concat([df, *[rows for rows in _new if len(rows)]])\n"
            f"{astype}"
            f"    .sort_values({keys!r}, kind='stable')\n"
            "    .reset_index(drop=True)\n"
            ")"
        )
        lines.append("del _new" if g else "del _times, _new")
        return lines


# ------------------------------------------------------------------ per-row features


def _lag_name(column: str, k: int) -> str:
    return f"{column}_lag{k}" if k > 0 else f"{column}_lead{-k}"


@register
class LagFeatures(Operation):
    key = "lag_features"
    label = "Lag / lead features"
    group = GROUP
    summary = (
        "New columns with the value k rows earlier (lag) or later (lead, negative k), within each group."
    )
    params = (
        Param("columns", "Columns", "columns"),
        Param("lags", "Lags", "integers", default=[1], help="e.g. 1, 2, 3; negative numbers give leads."),
        group_param(),
        time_param(
            required=False,
            help="Optional, for the record: rows are shifted in their current order, so sort them by time first "
            "(Set time column).",
        ),
    )

    def _names(self) -> list[tuple[str, int, str]]:
        return [
            (c, int(k), _lag_name(c, int(k))) for c in self.values["columns"] for k in self.values["lags"]
        ]

    def check(self, schema: Schema) -> list[ParamError]:
        if any(int(k) == 0 for k in self.values["lags"]):
            return [
                ParamError("lags", "Lags: 0 would copy the column; use 1 or more (or -1 and less for leads).")
            ]
        errors = group_errors(self.values.get("group_by"), self.values["columns"])
        return errors or new_name_errors("lags", "Lags", [n for _, _, n in self._names()], schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        g = self.values.get("group_by")
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        series = {}  # one grouping per column, shared by its lags (grouping dominates the cost)
        for c, k, name in self._names():
            series.setdefault(c, by_group(df, g, c))
            out[name] = series[c].shift(k)
        return out

    def describe(self) -> str:
        lags = ", ".join(str(k) for k in self.values["lags"])
        g = self.values.get("group_by")
        return f"Lags {lags} of {', '.join(self.values['columns'])}" + (f" per {g}" if g else "")

    def code(self) -> list[str]:
        g = self.values.get("group_by")
        return [f"{col(name)} = {grouped(g, c)}.shift({k})" for c, k, name in self._names()]


STATS = ("mean", "sum", "min", "max", "std")


def parse_window(text: str) -> int | str | None:
    """A row count (``"7"`` -> 7) or a fixed duration (``"7D"`` -> ``"7D"``, normalised); None if neither."""
    text = str(text).strip()
    if text.isdigit():
        return int(text) if int(text) >= 1 else None
    try:
        offset = pd.tseries.frequencies.to_offset(text)
    except (ValueError, TypeError):
        return None
    if not isinstance(offset, pd.offsets.Tick | pd.offsets.Day) or pd.Timedelta(offset) <= pd.Timedelta(0):
        return None
    return offset.freqstr


def _window_options(min_periods: int | None, closed: str | None) -> dict:
    options: dict = {} if min_periods is None else {"min_periods": min_periods}
    if closed is not None:
        options["closed"] = closed
    return options


def _window_groups(group: str, categorical: bool) -> str:
    """The arguments of ``groupby`` for a rolling window per group.

    pandas' rolling per group silently leaves out the rows whose category is missing (and fails when no row has
    one), so a category column groups by its codes, where a missing value is the code -1: a group like any other.
    """
    return f"df[{group!r}].cat.codes" if categorical else f"{group!r}, dropna=False"


def window_code(
    window: int | str,
    group: str | None,
    time: str | None,
    column: str,
    stat: str,
    min_periods: int | None = None,
    closed: str | None = None,
    categorical: bool = False,
) -> str:
    """Code for a statistic over a moving window of one column, aligned with the frame's rows.

    A row count uses the rows in their order; a duration uses the (sorted) time column. ``categorical``: the group
    column is a category column.
    """
    options = "".join(f", {k}={v!r}" for k, v in _window_options(min_periods, closed).items())
    if isinstance(window, int):
        if group:
            return (
                f"df.groupby({_window_groups(group, categorical)})[{column!r}]"
                f".rolling({window}{options}).{stat}().droplevel(0)"
            )
        return f"{col(column)}.rolling({window}{options}).{stat}()"
    if group:
        return (
            f"df.groupby({_window_groups(group, categorical)})[[{time!r}, {column!r}]]"
            f".rolling({window!r}, on={time!r}{options}).{stat}()[{column!r}].droplevel(0)"
        )
    return f"df.rolling({window!r}, on={time!r}{options})[{column!r}].{stat}()"


def window_stat(
    df: pd.DataFrame,
    window: int | str,
    group: str | None,
    time: str | None,
    column: str,
    stat: str,
    min_periods: int | None = None,
    closed: str | None = None,
) -> pd.Series:
    """What `window_code` prints (with ``categorical`` read from the frame), computed."""
    options = _window_options(min_periods, closed)
    if isinstance(window, str):
        _check_window_times(df, group, time)
    groups = None
    if group:
        categorical = isinstance(df[group].dtype, pd.CategoricalDtype)
        groups = df.groupby(df[group].cat.codes) if categorical else df.groupby(group, dropna=False)
    try:
        if isinstance(window, int):
            if groups is not None:
                return getattr(groups[column].rolling(window, **options), stat)().droplevel(0)
            return getattr(df[column].rolling(window, **options), stat)()
        if groups is not None:
            rolling = groups[[time, column]].rolling(window, on=time, **options)
            return getattr(rolling, stat)()[column].droplevel(0)
        return getattr(df.rolling(window, on=time, **options)[column], stat)()
    except (ValueError, TypeError) as exc:
        raise OperationError(f"Cannot compute the rolling {stat} of {column!r} over {window}: {exc}") from exc


def _check_window_times(df: pd.DataFrame, group: str | None, time: str) -> None:
    """A duration window needs every time present and sorted (within each group): say which one is wrong."""
    times = df[time]
    if missing := int(times.isna().sum()):
        raise OperationError(
            f"{time!r} has {missing:,} missing time(s); a time window needs a time on every row. Drop or fill "
            "those rows first."
        )
    steps = times.groupby(df[group], dropna=False).diff() if group else times.diff()
    if (steps < pd.Timedelta(0)).any():
        raise OperationError(
            f"Rows are not sorted by {time!r}"
            + (f" within each {group}" if group else "")
            + "; a time window needs them in time order. Use Set time column first."
        )


@register
class RollingWindow(SchemaAware):
    key = "rolling_window"
    label = "Rolling window statistics"
    group = GROUP
    summary = (
        "New columns with the mean, sum, min, max or std over a moving window ending at each row (the row "
        "included), within each group; rows must be sorted by time."
    )
    params = (
        Param("columns", "Columns", "columns", dtypes=NUMERIC),
        Param(
            "window",
            "Window",
            "text",
            default="7",
            help="A number of rows (e.g. 7) or a duration with a time column (e.g. 7D, 12h, 30min).",
        ),
        Param("stats", "Statistics", "texts", default=["mean"], choices=STATS),
        time_param(required=False, help="Needed for a duration window; sorted within each group."),
        Param(
            "min_periods",
            "Minimum values",
            "integer",
            required=False,
            minimum=1,
            help="Fewest non-missing values for a result. Empty = the whole window for a row count, 1 for a "
            "duration.",
        ),
        group_param(),
    )

    def _window(self) -> int | str | None:
        return parse_window(self.values["window"])

    def _names(self) -> list[tuple[str, str, str]]:
        w = self._window()
        return [(c, s, f"{c}_roll{w}_{s}") for c in self.values["columns"] for s in self.values["stats"]]

    def check(self, schema: Schema) -> list[ParamError]:
        w, stats = self._window(), self.values["stats"]
        if w is None:
            return [
                ParamError("window", "Window: write a number of rows (7) or a duration (7D, 12h, 30min).")
            ]
        if bad := [s for s in stats if s not in STATS]:
            return [ParamError("stats", f"Statistics: {bad[0]!r} is not one of {', '.join(STATS)}.")]
        if len(set(stats)) != len(stats):
            return [ParamError("stats", "Statistics: a statistic is listed twice.")]
        t, mp = self.values.get("time_column"), self.values.get("min_periods")
        if isinstance(w, str) and not t:
            return [ParamError("time_column", "Time column: a duration window needs the time column.")]
        if isinstance(w, int) and mp is not None and mp > w:
            return [ParamError("min_periods", f"Minimum values: at most the window ({w} rows).")]
        errors = group_errors(self.values.get("group_by"), [*self.values["columns"], *([t] if t else [])])
        return errors or new_name_errors("window", "Window", [n for _, _, n in self._names()], schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        self.remember(df)
        w, g = self._window(), self.values.get("group_by")
        t = self.values.get("time_column") if isinstance(w, str) else None
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        for c, s, name in self._names():
            out[name] = window_stat(df, w, g, t, c, s, self.values.get("min_periods"))
        return out

    def describe(self) -> str:
        g = self.values.get("group_by")
        return (
            f"Rolling {', '.join(self.values['stats'])} over {self._window()} of {', '.join(self.values['columns'])}"
            + (f" per {g}" if g else "")
        )

    def code(self) -> list[str]:
        w, g = self._window(), self.values.get("group_by")
        t = self.values.get("time_column") if isinstance(w, str) else None
        mp, categorical = self.values.get("min_periods"), bool(g) and self.dtype(g) == "category"
        return [
            f"{col(name)} = {window_code(w, g, t, c, s, mp, categorical=categorical)}"
            for c, s, name in self._names()
        ]


@register
class Difference(Operation):
    key = "difference"
    label = "Difference / percent change"
    group = GROUP
    summary = "New columns with the change since k rows earlier within each group (x - previous, or x / previous - 1)."
    params = (
        Param("columns", "Columns", "columns", dtypes=NUMERIC),
        Param("periods", "Rows back", "integer", default=1, minimum=1),
        Param(
            "kind",
            "Kind",
            "choice",
            default="diff",
            choices=("diff", "pct_change"),
            help="diff = difference; pct_change = relative change (0.1 = +10 %; missing values are not filled, "
            "a change from 0 gives infinity).",
        ),
        group_param(),
    )

    def _names(self) -> list[tuple[str, str]]:
        suffix = "diff" if self.values["kind"] == "diff" else "pct_change"
        p = int(self.values["periods"])
        return [(c, f"{c}_{suffix}{p}") for c in self.values["columns"]]

    def check(self, schema: Schema) -> list[ParamError]:
        errors = group_errors(self.values.get("group_by"), self.values["columns"])
        return errors or new_name_errors("columns", "Columns", [n for _, n in self._names()], schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        g, p = self.values.get("group_by"), int(self.values["periods"])
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        for c, name in self._names():
            s = by_group(df, g, c)
            out[name] = s.diff(p) if self.values["kind"] == "diff" else s.pct_change(p, fill_method=None)
        return out

    def describe(self) -> str:
        what = "Difference" if self.values["kind"] == "diff" else "Percent change"
        g = self.values.get("group_by")
        return f"{what} over {self.values['periods']} row(s) of {', '.join(self.values['columns'])}" + (
            f" per {g}" if g else ""
        )

    def code(self) -> list[str]:
        g, p = self.values.get("group_by"), int(self.values["periods"])
        call = f"diff({p})" if self.values["kind"] == "diff" else f"pct_change({p}, fill_method=None)"
        return [f"{col(name)} = {grouped(g, c)}.{call}" for c, name in self._names()]


@register
class CumulativeSum(Operation):
    key = "cumulative_sum"
    label = "Cumulative sum"
    group = GROUP
    summary = (
        "New columns <column>_cumsum with the running total within each group (missing values are skipped)."
    )
    params = (Param("columns", "Columns", "columns", dtypes=NUMERIC), group_param())

    def _names(self) -> list[tuple[str, str]]:
        return [(c, f"{c}_cumsum") for c in self.values["columns"]]

    def check(self, schema: Schema) -> list[ParamError]:
        errors = group_errors(self.values.get("group_by"), self.values["columns"])
        return errors or new_name_errors("columns", "Columns", [n for _, n in self._names()], schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        for c, name in self._names():
            out[name] = by_group(df, self.values.get("group_by"), c).cumsum()
        return out

    def describe(self) -> str:
        g = self.values.get("group_by")
        return f"Cumulative sum of {', '.join(self.values['columns'])}" + (f" per {g}" if g else "")

    def code(self) -> list[str]:
        return [
            f"{col(name)} = {grouped(self.values.get('group_by'), c)}.cumsum()" for c, name in self._names()
        ]


CALENDAR = ("year", "month", "day", "dayofyear", "weekday", "quarter", "hydro_year")
_CALENDAR_ATTR = {"dayofyear": "day_of_year", "weekday": "day_of_week"}


@register
class CalendarFeatures(Operation):
    key = "calendar_features"
    label = "Calendar features"
    group = GROUP
    summary = (
        "New columns named after the features: year, month, day, dayofyear, weekday (0 = Monday), quarter, "
        "hydro_year (the water year, named by the calendar year in which it ends)."
    )
    params = (
        time_param(),
        Param("features", "Features", "texts", default=["year", "month"], choices=CALENDAR),
        Param(
            "hydro_year_start",
            "Water year starts in month",
            "integer",
            default=10,
            required=False,
            minimum=1,
            maximum=12,
            help="10 = October: 1 Oct 2020 - 30 Sep 2021 is water year 2021. 1 = the calendar year.",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        features = self.values["features"]
        if bad := [f for f in features if f not in CALENDAR]:
            return [ParamError("features", f"Features: {bad[0]!r} is not one of {', '.join(CALENDAR)}.")]
        return new_name_errors("features", "Features", features, schema)

    def _start(self) -> int:
        start = self.values.get("hydro_year_start")
        return 10 if start is None else int(start)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        dt = df[self.values["time_column"]].dt
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        for f in self.values["features"]:
            if f == "hydro_year":
                start = self._start()
                out[f] = dt.year + (dt.month >= start) if start > 1 else dt.year
            else:
                out[f] = getattr(dt, _CALENDAR_ATTR.get(f, f))
        return out

    def describe(self) -> str:
        return f"Calendar features of {self.values['time_column']}: {', '.join(self.values['features'])}"

    def code(self) -> list[str]:
        t = col(self.values["time_column"])
        lines = []
        for f in self.values["features"]:
            if f == "hydro_year":
                start = self._start()
                expr = f"{t}.dt.year + ({t}.dt.month >= {start})" if start > 1 else f"{t}.dt.year"
            else:
                expr = f"{t}.dt.{_CALENDAR_ATTR.get(f, f)}"
            lines.append(f"{col(f)} = {expr}")
        return lines


# period -> (datetime attribute, cycle length)
SEASONS = {"day_of_year": ("day_of_year", 365.25), "month": ("month", 12), "hour": ("hour", 24)}


@register
class SeasonalFeatures(Operation):
    key = "seasonal_features"
    label = "Seasonal sin/cos"
    group = GROUP
    summary = (
        "Two new columns <period>_sin and <period>_cos placing each time on a circle (angle = 2π · value / cycle: "
        "day of year / 365.25, month / 12, hour / 24), so December sits next to January."
    )
    params = (
        time_param(),
        Param("period", "Period", "choice", default="day_of_year", choices=tuple(SEASONS)),
    )

    def _names(self) -> tuple[str, str]:
        p = self.values["period"]
        return f"{p}_sin", f"{p}_cos"

    def check(self, schema: Schema) -> list[ParamError]:
        return new_name_errors("period", "Period", list(self._names()), schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        attr, cycle = SEASONS[self.values["period"]]
        angle = 2 * np.pi * getattr(df[self.values["time_column"]].dt, attr) / cycle
        sin, cos = self._names()
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        out[sin] = np.sin(angle)
        out[cos] = np.cos(angle)
        return out

    def describe(self) -> str:
        return f"Seasonal sin/cos of {self.values['time_column']} ({self.values['period'].replace('_', ' ')})"

    def code(self) -> list[str]:
        attr, cycle = SEASONS[self.values["period"]]
        sin, cos = self._names()
        return [
            f"_angle = 2 * np.pi * {col(self.values['time_column'])}.dt.{attr} / {cycle!r}",
            f"{col(sin)} = np.sin(_angle)",
            f"{col(cos)} = np.cos(_angle)",
            "del _angle",
        ]


# ------------------------------------------------------------------ reporting


@register
class GapReport(Operation):
    key = "gap_report"
    label = "Gap report"
    group = GROUP
    summary = (
        "A reporting step: REPLACES the table with one row per gap (group, gap_start, gap_end, missing_steps), "
        "i.e. each run of time steps between the first and last time without a row (or, if value columns are "
        "chosen, without a value in each of them). Put it last or export its result."
    )
    params = (
        time_param(),
        group_param(),
        _frequency_param(
            required=False,
            help="Optional. Empty = the most common step between consecutive times (fine for hourly or daily "
            "data; for monthly, quarterly or yearly data choose the frequency). " + FREQUENCY_HELP,
        ),
        Param(
            "columns",
            "Value columns",
            "columns",
            required=False,
            help="Optional: a step also counts as missing when any of these columns is empty in its rows.",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        t, g = self.values["time_column"], self.values.get("group_by")
        errors = group_errors(g, [t, *(self.values.get("columns") or [])])
        if not errors and t in (self.values.get("columns") or []):
            errors = [ParamError("columns", f"Value columns: {t!r} is the time column.")]
        return errors

    def _present_code(self) -> str:
        cols = self.values.get("columns")
        return f"df[{list(cols)!r}].notna().all(axis=1)" if cols else "True"

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        t, g, freq = self.values["time_column"], self.values.get("group_by"), self.values.get("frequency")
        cols = self.values.get("columns")
        if not freq:
            diffs = (
                df.sort_values([g, t]).groupby(g, dropna=False)[t].diff() if g else df[t].sort_values().diff()
            )
            modes = diffs[diffs > pd.Timedelta(0)].mode()
            if modes.empty:
                raise OperationError(
                    "Too few distinct times to find the usual step; choose the expected frequency."
                )
            freq = modes.iloc[0]
        present = df[list(cols)].notna().all(axis=1) if cols else True
        frame = pd.DataFrame(
            {"group": df[g], "time": df[t], "present": present} if g else {"time": df[t], "present": present}
        )
        bins = (
            frame.set_index("time").groupby("group", dropna=False).resample(freq)
            if g
            else frame.set_index("time").resample(freq)
        )
        steps = bins["present"].sum().reset_index()
        if g:  # grouped resampling of an empty frame loses the group column
            steps = steps.reindex(columns=["group", "time", "present"])
        steps["missing"] = steps["present"].eq(0)
        steps["run"] = steps["missing"].ne(steps["missing"].shift()).cumsum()
        keys = ["group", "run"] if g else "run"
        report = (
            steps[steps["missing"]]
            .groupby(keys, dropna=False)
            .agg(gap_start=("time", "first"), gap_end=("time", "last"), missing_steps=("time", "size"))
            .reset_index()
            .drop(columns="run")
        )
        return report.rename(columns={"group": g}) if g else report

    def describe(self) -> str:
        freq = self.values.get("frequency")
        g = self.values.get("group_by")
        return (
            f"Gap report of {self.values['time_column']}"
            + (f" per {g}" if g else "")
            + (f": {FREQUENCIES[freq]}" if freq else "")
        )

    def code(self) -> list[str]:
        t, g, freq = self.values["time_column"], self.values.get("group_by"), self.values.get("frequency")
        lines = []
        if freq:
            step = repr(freq)
        else:
            diffs = (
                f"df.sort_values({[g, t]!r}).groupby({g!r}, dropna=False)[{t!r}].diff()"
                if g
                else f"{col(t)}.sort_values().diff()"
            )
            lines += [f"_diffs = {diffs}", "_step = _diffs[_diffs > pd.Timedelta(0)].mode().iloc[0]"]
            step = "_step"
        fields = (
            f"'group': {col(g)}, " if g else ""
        ) + f"'time': {col(t)}, 'present': {self._present_code()}"
        grouping = ".groupby('group', dropna=False)" if g else ""
        # grouped resampling of an empty frame loses the group column: reindex keeps it
        reindex = ".reindex(columns=['group', 'time', 'present'])" if g else ""
        keys = "['group', 'run']" if g else "'run'"
        rename = f"\n    .rename(columns={{'group': {g!r}}})" if g else ""
        lines += [
            "_steps = (\n"
            f"    pd.DataFrame({{{fields}}})\n"
            f"    .set_index('time'){grouping}.resample({step})['present'].sum()\n"
            f"    .reset_index(){reindex}\n"
            ")",
            "_steps['missing'] = _steps['present'].eq(0)",
            "_steps['run'] = _steps['missing'].ne(_steps['missing'].shift()).cumsum()",
            "df = (\n"
            "    _steps[_steps['missing']]\n"
            f"    .groupby({keys}, dropna=False)\n"
            "    .agg(gap_start=('time', 'first'), gap_end=('time', 'last'), missing_steps=('time', 'size'))\n"
            "    .reset_index()\n"
            "    .drop(columns='run')"
            f"{rename}\n"
            ")",
            "del _steps" if freq else "del _diffs, _step, _steps",
        ]
        return lines
