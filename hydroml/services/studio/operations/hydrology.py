"""Hydrology operations: unit conversion, non-positive flows, baseflow separation, flow exceedance, antecedent rain.

Per-series work (baseflow, exceedance, antecedent precipitation) runs within each group (e.g. station_id) in the
current row order: sort rows by time first ("Set time column"). Rows whose group value is missing form one group of
their own (pandas' ``dropna=False``, as in every studio operation with a group column).
"""

from __future__ import annotations

import inspect
from fractions import Fraction

import numpy as np
import pandas as pd

from hydroml.services.studio.operations.base import (
    NUMERIC,
    Context,
    Operation,
    Param,
    ParamError,
    Schema,
    col,
    register,
)
from hydroml.services.studio.operations.rows import (
    SchemaAware,
    check_conditions,
    condition_code,
    condition_mask,
    condition_text,
)
from hydroml.services.studio.operations.timeseries import (
    by_group,
    group_errors,
    group_param,
    grouped,
    new_name_errors,
    time_param,
    window_code,
    window_stat,
)

GROUP = "Hydrology"

# ------------------------------------------------------------------ unit conversion

# unit -> (quantity, size in the quantity's base unit) for the multiplicative units; exact decimal factors
_SCALED = {
    "m3/s": ("flow", Fraction(1)),
    "L/s": ("flow", Fraction("0.001")),
    "ft3/s": ("flow", Fraction("0.028316846592")),
    "mm": ("depth", Fraction(1)),
    "in": ("depth", Fraction("25.4")),
}
_TEMPERATURE = ("C", "F")
UNITS = (*_SCALED, *_TEMPERATURE)


def _quantity(unit: str) -> str:
    return "temperature" if unit in _TEMPERATURE else _SCALED[unit][0]


def conversion_code(x: str, from_unit: str, to_unit: str) -> str:
    """The conversion of the values ``x`` (code) as an expression; `convert` computes exactly this."""
    if from_unit == "C":
        return f"{x} * 9 / 5 + 32"
    if from_unit == "F":
        return f"({x} - 32) * 5 / 9"
    return f"{x} * {_factor(from_unit, to_unit)!r}"


def convert(s: pd.Series, from_unit: str, to_unit: str) -> pd.Series:
    if from_unit == "C":
        return s * 9 / 5 + 32
    if from_unit == "F":
        return (s - 32) * 5 / 9
    return s * _factor(from_unit, to_unit)


def _factor(from_unit: str, to_unit: str) -> float:
    """The multiplier, correctly rounded from the exact decimal ratio (e.g. L/s -> m3/s: 0.001)."""
    return float(_SCALED[from_unit][1] / _SCALED[to_unit][1])


@register
class ConvertUnits(SchemaAware):
    key = "convert_units"
    label = "Convert units"
    group = GROUP
    summary = (
        "Convert columns between units of flow (m3/s, L/s, ft3/s), depth (mm, in) or temperature (C, F), "
        "optionally only in the rows matching conditions (e.g. one station reporting in L/s)."
    )
    params = (
        Param("columns", "Columns", "columns", dtypes=NUMERIC),
        Param(
            "from_unit",
            "From",
            "choice",
            default="L/s",
            choices=UNITS,
            help="1 L/s = 0.001 m3/s; 1 ft3/s = 0.028316846592 m3/s; 1 in = 25.4 mm; F = C × 9/5 + 32.",
        ),
        Param("to_unit", "To", "choice", default="m3/s", choices=UNITS),
        Param(
            "only_where",
            "Only where",
            "conditions",
            required=False,
            help="Optional: convert only the rows matching these conditions (e.g. station_id = ST04); the other "
            "rows keep their values.",
        ),
    )

    def __init__(self, values: dict | None = None) -> None:
        super().__init__(values)
        if not self._where():  # an empty condition builder means: every row
            self.values["only_where"] = None

    def _where(self) -> dict | None:
        where = self.values.get("only_where")
        return where if isinstance(where, dict) and where.get("rules") else None

    def validate(self, schema: Schema) -> list[ParamError]:
        self._schema = dict(schema)
        errors = super().validate(schema)
        # the generic check of "conditions" knows flat rules only; this one walks nested groups and value types
        if not errors and self._where():
            errors = check_conditions(self._where(), schema, "only_where", "Only where")
        return errors

    def check(self, schema: Schema) -> list[ParamError]:
        a, b = self.values["from_unit"], self.values["to_unit"]
        if a == b:
            return [ParamError("to_unit", "To: choose a unit different from the current one.")]
        if _quantity(a) != _quantity(b):
            return [
                ParamError(
                    "to_unit",
                    f"To: {a} is a {_quantity(a)} unit and {b} a {_quantity(b)} unit; pick a {_quantity(a)} unit.",
                )
            ]
        return []

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        self.remember(df)
        a, b, where = self.values["from_unit"], self.values["to_unit"], self._where()
        mask = condition_mask(df, where) if where else None
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        for c in self.values["columns"]:
            converted = convert(df[c], a, b)
            out[c] = converted if mask is None else df[c].mask(mask, converted)
        return out

    def describe(self) -> str:
        where = f" where {condition_text(self._where())}" if self._where() else ""
        columns = ", ".join(self.values["columns"])
        return f"Convert {columns} from {self.values['from_unit']} to {self.values['to_unit']}{where}"

    def code(self) -> list[str]:
        a, b, where = self.values["from_unit"], self.values["to_unit"], self._where()
        if not where:
            return [f"{col(c)} = {conversion_code(col(c), a, b)}" for c in self.values["columns"]]
        lines = [f"_where = {condition_code(where, self._schema)}"]
        lines += [
            f"{col(c)} = {col(c)}.mask(_where, {conversion_code(col(c), a, b)})"
            for c in self.values["columns"]
        ]
        return [*lines, "del _where"]


# ------------------------------------------------------------------ non-positive flow

_TESTS = {"negative": "<", "nonpositive": "<="}


@register
class FlagNonpositiveFlow(Operation):
    key = "flag_nonpositive_flow"
    label = "Negative / zero flow"
    group = GROUP
    summary = (
        "Set negative (or zero and negative) flows missing, or mark them in a new yes/no column "
        "<column>_negative / <column>_nonpositive."
    )
    params = (
        Param("column", "Flow column", "column", dtypes=NUMERIC),
        Param(
            "which",
            "Which values",
            "choice",
            default="negative",
            choices=tuple(_TESTS),
            help="negative = below 0; nonpositive = 0 or below.",
        ),
        Param(
            "action",
            "Action",
            "choice",
            default="set_missing",
            choices=("set_missing", "flag"),
            help="set_missing = replace them with missing values; flag = add a yes/no column (missing flows = no).",
        ),
    )

    def _flag_name(self) -> str:
        return f"{self.values['column']}_{self.values['which']}"

    def check(self, schema: Schema) -> list[ParamError]:
        if self.values["action"] == "flag":
            return new_name_errors("action", "Action", [self._flag_name()], schema)
        return []

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        c = self.values["column"]
        hit = df[c] < 0 if self.values["which"] == "negative" else df[c] <= 0
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        if self.values["action"] == "flag":
            out[self._flag_name()] = hit
        else:
            out[c] = df[c].mask(hit)
        return out

    def describe(self) -> str:
        which = "negative" if self.values["which"] == "negative" else "zero or negative"
        if self.values["action"] == "flag":
            return f"Flag {which} {self.values['column']} in {self._flag_name()}"
        return f"Set {which} {self.values['column']} missing"

    def code(self) -> list[str]:
        c = self.values["column"]
        test = f"{col(c)} {_TESTS[self.values['which']]} 0"
        if self.values["action"] == "flag":
            return [f"{col(self._flag_name())} = {test}"]
        return [f"{col(c)} = {col(c)}.mask({test})"]


# ------------------------------------------------------------------ baseflow


def _lyne_hollick(q, alpha, passes):
    """Baseflow by the Lyne-Hollick digital filter (Ladson et al. 2013), passes alternating forward and backward.

    Each run of consecutive non-missing flows is filtered on its own; missing flows stay missing. Every pass
    starts with a quickflow of 0 and keeps the baseflow between 0 and the flow it filters.
    """
    q = np.asarray(q, dtype=float)
    out = np.full(q.shape, np.nan)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], (~np.isnan(q)).astype(int), [0]))))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        b = q[start:stop].tolist()
        for i in range(passes):
            y = b if i % 2 == 0 else b[::-1]
            quick = 0.0
            filtered = [y[0]]
            for k in range(1, len(y)):
                quick = alpha * quick + (1 + alpha) / 2 * (y[k] - y[k - 1])
                filtered.append(min(max(y[k] - quick, 0.0), y[k]))
            b = filtered if i % 2 == 0 else filtered[::-1]
        out[start:stop] = b
    return out


@register
class BaseflowLyneHollick(Operation):
    key = "baseflow_lyne_hollick"
    label = "Baseflow separation (Lyne-Hollick)"
    group = GROUP
    summary = (
        "A new column with the baseflow from the Lyne-Hollick digital filter, run forward, backward, forward... "
        "within each group on rows sorted by time; each stretch without missing flow is filtered on its own "
        "and missing flows give missing baseflow."
    )
    params = (
        Param("column", "Flow column", "column", dtypes=NUMERIC),
        Param(
            "alpha",
            "Filter parameter α",
            "number",
            default=0.925,
            minimum=0,
            maximum=1,
            help="Between 0 and 1; 0.925 is usual for daily flow (higher = smoother baseflow).",
        ),
        Param(
            "passes",
            "Passes",
            "integer",
            default=3,
            minimum=1,
            maximum=9,
            help="An odd number (forward, backward, forward...); 3 is usual for daily flow.",
        ),
        group_param(),
        Param("new_name", "New column", "text", default="baseflow"),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        if not 0 < self.values["alpha"] < 1:
            return [ParamError("alpha", "Filter parameter α: must be between 0 and 1 (e.g. 0.925).")]
        if int(self.values["passes"]) % 2 == 0:
            return [
                ParamError("passes", "Passes: use an odd number (1, 3, 5...) so the last pass runs forward.")
            ]
        errors = group_errors(self.values.get("group_by"), [self.values["column"]])
        return errors or new_name_errors("new_name", "New column", [self.values["new_name"]], schema)

    def _args(self) -> tuple[float, int]:
        return float(self.values["alpha"]), int(self.values["passes"])

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        c, g, (alpha, passes) = self.values["column"], self.values.get("group_by"), self._args()
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        if g:
            out[self.values["new_name"]] = df.groupby(g, dropna=False)[c].transform(
                _lyne_hollick, alpha, passes
            )
        else:
            out[self.values["new_name"]] = _lyne_hollick(df[c], alpha, passes)
        return out

    def describe(self) -> str:
        alpha, passes = self._args()
        g = self.values.get("group_by")
        return (
            f"Baseflow of {self.values['column']} → {self.values['new_name']} (α = {alpha:g}, {passes} passes)"
            + (f" per {g}" if g else "")
        )

    def code(self) -> list[str]:
        c, g, (alpha, passes) = self.values["column"], self.values.get("group_by"), self._args()
        call = (
            f"df.groupby({g!r}, dropna=False)[{c!r}].transform(_lyne_hollick, {alpha!r}, {passes!r})"
            if g
            else f"_lyne_hollick({col(c)}, {alpha!r}, {passes!r})"
        )
        return [
            inspect.getsource(_lyne_hollick).rstrip() + "\n",
            f"{col(self.values['new_name'])} = {call}",
            "del _lyne_hollick",
        ]


# ------------------------------------------------------------------ flow duration


@register
class FlowExceedance(Operation):
    key = "flow_exceedance"
    label = "Flow exceedance probability"
    group = GROUP
    summary = (
        "A new column with the probability (0-1) that the flow is equalled or exceeded, within each group: "
        "Weibull plotting position rank / (n + 1), rank 1 = highest flow, n = number of non-missing flows; "
        "tied flows share the largest rank. Missing flows stay missing."
    )
    params = (
        Param("column", "Flow column", "column", dtypes=NUMERIC),
        group_param(),
        Param("new_name", "New column", "text", required=False, help="Empty = <column>_exceedance."),
    )

    def _name(self) -> str:
        return self.values.get("new_name") or f"{self.values['column']}_exceedance"

    def check(self, schema: Schema) -> list[ParamError]:
        errors = group_errors(self.values.get("group_by"), [self.values["column"]])
        return errors or new_name_errors("new_name", "New column", [self._name()], schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        c, g = self.values["column"], self.values.get("group_by")
        s = by_group(df, g, c)
        n = s.transform("count") if g else s.count()
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        out[self._name()] = s.rank(ascending=False, method="max") / (n + 1)
        return out

    def describe(self) -> str:
        g = self.values.get("group_by")
        return f"Exceedance probability of {self.values['column']} → {self._name()}" + (
            f" per {g}" if g else ""
        )

    def code(self) -> list[str]:
        c, g = self.values["column"], self.values.get("group_by")
        s = grouped(g, c)
        n = f"{s}.transform('count')" if g else f"{s}.count()"
        return [f"{col(self._name())} = {s}.rank(ascending=False, method='max') / ({n} + 1)"]


# ------------------------------------------------------------------ antecedent precipitation


@register
class AntecedentPrecipitation(SchemaAware):
    key = "antecedent_precipitation"
    label = "Antecedent precipitation"
    group = GROUP
    summary = (
        "A new column with the precipitation summed over the N days before each row's time, the row's own day "
        "excluded (time window [t - N days, t)), within each group; rows must be sorted by time."
    )
    params = (
        Param("column", "Precipitation column", "column", dtypes=NUMERIC),
        Param("days", "Days", "integer", default=5, minimum=1, maximum=3660),
        time_param(),
        group_param(),
        Param(
            "min_periods",
            "Minimum values",
            "integer",
            required=False,
            minimum=1,
            help="Fewest non-missing values in the window for a result (e.g. N for complete daily data, so a "
            "gap is not read as no rain). Empty = 1: missing values are skipped.",
        ),
        Param("new_name", "New column", "text", required=False, help="Empty = <column>_prev<N>d."),
    )

    def _name(self) -> str:
        return self.values.get("new_name") or f"{self.values['column']}_prev{int(self.values['days'])}d"

    def _window(self) -> str:
        return f"{int(self.values['days'])}D"

    def check(self, schema: Schema) -> list[ParamError]:
        c, t = self.values["column"], self.values["time_column"]
        errors = group_errors(self.values.get("group_by"), [c, t])
        return errors or new_name_errors("new_name", "New column", [self._name()], schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        self.remember(df)
        c, t, g = self.values["column"], self.values["time_column"], self.values.get("group_by")
        out = df.copy(deep=False)  # copy-on-write: only the columns this step writes are new
        out[self._name()] = window_stat(
            df, self._window(), g, t, c, "sum", self.values.get("min_periods"), "left"
        )
        return out

    def describe(self) -> str:
        g = self.values.get("group_by")
        return (
            f"{self.values['column']} over the previous {int(self.values['days'])} days → {self._name()}"
            + (f" per {g}" if g else "")
        )

    def code(self) -> list[str]:
        c, t, g = self.values["column"], self.values["time_column"], self.values.get("group_by")
        categorical = bool(g) and self.dtype(g) == "category"
        expr = window_code(
            self._window(), g, t, c, "sum", self.values.get("min_periods"), "left", categorical=categorical
        )
        return [f"{col(self._name())} = {expr}"]
