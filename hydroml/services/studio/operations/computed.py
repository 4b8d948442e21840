"""Computed columns: formulas, math transforms, binning, scaling, encoding and outlier handling.

Each operation's ``apply`` performs the very pandas calls its ``code`` prints (same order, same arguments), so the
exported script reproduces the studio's frame bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hydroml.services.studio.expressions import FormulaError, compile_formula
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

GROUP = "Computed columns"


def _names(columns: list[str]) -> str:
    shown = ", ".join(columns[:4])
    return shown + (f" and {len(columns) - 4} more" if len(columns) > 4 else "")


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _taken(param: str, label: str, names: list[str], schema: Schema) -> list[ParamError]:
    """An error when a column the step would create already exists."""
    clash = [n for n in names if n in schema]
    if not clash:
        return []
    return [ParamError(param, f"{label}: a column named {clash[0]!r} already exists; choose another name.")]


# ---------------------------------------------------------------------------------------------- formula


@register
class FormulaColumn(Operation):
    key = "formula_column"
    label = "Formula"
    group = GROUP
    summary = "Compute a column from a formula, such as flow * 1000 or where(flow < 0, nan, flow)."
    params = (
        Param(
            "new_name",
            "New column",
            "text",
            help="Name of the result. An existing name replaces that column.",
        ),
        Param(
            "formula",
            "Formula",
            "text",
            help=(
                "Columns by name (names with spaces or symbols in backticks: `flow (m3/s)`), numbers, 'text', "
                "+ - * / // % **, comparisons, and/or/not, x if condition else y, and the functions abs, sqrt, "
                "log, log10, log1p, exp, round(x, digits), floor, ceil, clip(x, low, high), min(a, b), max(a, b), "
                "where(condition, a, b), isna(x), notna(x), fillna(x, value), year(d), month(d), day(d), "
                "dayofyear(d). nan is a missing number."
            ),
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        try:
            compile_formula(self.values["formula"], schema)
        except FormulaError as exc:
            return [ParamError("formula", f"Formula: {exc.message}")]
        return []

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        try:
            values = compile_formula(self.values["formula"], schema_of(df)).evaluate(df)
        except FormulaError as exc:
            raise OperationError(exc.message) from None
        out = df.copy(deep=False)
        out[self.values["new_name"]] = values
        return out

    def describe(self) -> str:
        return f"Formula {self.values['new_name']} = {_short(self.values['formula'])}"

    def code(self) -> list[str]:
        return [f"df[{self.values['new_name']!r}] = {compile_formula(self.values['formula'], None).code()}"]


# ---------------------------------------------------------------------------------------------- math


@register
class MathTransform(Operation):
    key = "math_transform"
    label = "Math transform"
    group = GROUP
    summary = "Apply log, square root, power, rounding, clipping and similar functions to numeric columns."
    params = (
        Param("columns", "Columns", "columns", dtypes=NUMERIC),
        Param(
            "function",
            "Function",
            "choice",
            default="log",
            choices=("log", "log1p", "sqrt", "exp", "abs", "power", "clip", "round"),
            help=(
                "log: natural log, values ≤ 0 become missing. log1p: log(1 + x), values ≤ -1 become missing. "
                "sqrt: negative values become missing. power: x to the given exponent. round: to the given "
                "number of decimals. clip: limit to lower/upper."
            ),
        ),
        Param(
            "argument",
            "Exponent / decimals",
            "number",
            required=False,
            help="The exponent for power; the number of decimals for round (default 0, negative rounds to tens…).",
        ),
        Param(
            "lower",
            "Lower limit",
            "number",
            required=False,
            help="For clip: smaller values are raised to it.",
        ),
        Param(
            "upper",
            "Upper limit",
            "number",
            required=False,
            help="For clip: larger values are lowered to it.",
        ),
        Param(
            "suffix",
            "New column suffix",
            "text",
            default="",
            required=False,
            help="Empty: replace the columns. Otherwise new columns named column + suffix, e.g. flow_log.",
        ),
    )

    def _targets(self) -> list[tuple[str, str]]:
        suffix = self.values["suffix"] or ""
        return [(c, c + suffix) for c in self.values["columns"]]

    def check(self, schema: Schema) -> list[ParamError]:
        function, argument = self.values["function"], self.values["argument"]
        lower, upper = self.values["lower"], self.values["upper"]
        if function == "power" and argument is None:
            return [
                ParamError("argument", "Exponent / decimals: enter the exponent for power, e.g. 2 or 0.5.")
            ]
        if function == "round" and argument is not None and int(argument) != argument:
            return [
                ParamError("argument", "Exponent / decimals: the number of decimals must be a whole number.")
            ]
        if function == "clip":
            if lower is None and upper is None:
                return [ParamError("lower", "Lower limit: enter a lower limit, an upper limit, or both.")]
            if lower is not None and upper is not None and lower > upper:
                return [ParamError("upper", "Upper limit: must not be smaller than the lower limit.")]
        if self.values["suffix"]:
            return _taken("suffix", "New column suffix", [t for _, t in self._targets()], schema)
        return []

    def _expression(self, x: str) -> str:
        """The pandas expression for one column, where ``x`` is the code of that column."""
        function, argument = self.values["function"], self.values["argument"]
        if function == "log":
            return f"np.log({x}.where({x} > 0))"
        if function == "log1p":
            return f"np.log1p({x}.where({x} > -1))"
        if function == "sqrt":
            return f"np.sqrt({x}.where({x} >= 0))"
        if function == "exp":
            return f"np.exp({x})"
        if function == "abs":
            return f"{x}.abs()"
        if function == "power":
            return f"{x} ** {self._exponent()!r}"
        if function == "round":
            return f"{x}.round({int(argument or 0)!r})"
        bounds = [f"{k}={self.values[k]!r}" for k in ("lower", "upper") if self.values[k] is not None]
        return f"{x}.clip({', '.join(bounds)})"

    def _exponent(self) -> int | float:
        argument = self.values["argument"]
        # integers cannot be raised to negative integer powers in numpy; a float exponent gives floats instead
        return float(argument) if argument < 0 else argument

    def _compute(self, x: pd.Series) -> pd.Series:
        """Exactly the calls `_expression` prints."""
        function, argument = self.values["function"], self.values["argument"]
        if function == "log":
            return np.log(x.where(x > 0))
        if function == "log1p":
            return np.log1p(x.where(x > -1))
        if function == "sqrt":
            return np.sqrt(x.where(x >= 0))
        if function == "exp":
            return np.exp(x)
        if function == "abs":
            return x.abs()
        if function == "power":
            return x ** self._exponent()
        if function == "round":
            return x.round(int(argument or 0))
        bounds = {k: self.values[k] for k in ("lower", "upper") if self.values[k] is not None}
        return x.clip(**bounds)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        out = df.copy(deep=False)
        with np.errstate(all="ignore"):
            for source, target in self._targets():
                try:
                    out[target] = self._compute(df[source])
                except (TypeError, ValueError, OverflowError) as exc:
                    raise OperationError(
                        f"Cannot apply {self.values['function']} to {source!r}: {exc}"
                    ) from None
        return out

    def describe(self) -> str:
        function = self.values["function"]
        detail = ""
        if function == "power":
            detail = f" {self.values['argument']:g}"
        elif function == "round":
            detail = f" to {int(self.values['argument'] or 0)} decimals"
        elif function == "clip":
            detail = f" to [{self.values['lower'] if self.values['lower'] is not None else '−∞'}, "
            detail += f"{self.values['upper'] if self.values['upper'] is not None else '∞'}]"
        where = f" → new columns *{self.values['suffix']}" if self.values["suffix"] else ""
        return f"{function.capitalize()}{detail} of {_names(self.values['columns'])}{where}"

    def code(self) -> list[str]:
        return [f"df[{target!r}] = {self._expression(col(source))}" for source, target in self._targets()]


# ---------------------------------------------------------------------------------------------- binning


@register
class BinColumn(Operation):
    """Cut a numeric column into bins.

    Labels: "intervals" gives an ordered category column whose values are interval texts such as "(0.5, 1.0]"
    (left end open, right end closed); "codes" gives bin numbers 0, 1, 2, … (the lowest bin is 0). Missing values,
    and values outside custom edges, stay missing.
    """

    key = "bin_column"
    label = "Bin values"
    group = GROUP
    summary = "Group a numeric column into ranges (bins) of equal width, equal counts or your own edges."
    params = (
        Param("column", "Column", "column", dtypes=NUMERIC),
        Param(
            "method",
            "Bins",
            "choice",
            default="equal_width",
            choices=("equal_width", "quantile", "custom"),
            help="equal_width: ranges of equal size; quantile: about as many rows in every bin; custom: your edges.",
        ),
        Param("bins", "Number of bins", "integer", default=5, minimum=2, maximum=100),
        Param(
            "edges",
            "Edges",
            "numbers",
            required=False,
            help="For custom: increasing bin edges, e.g. 0, 10, 50, 100. Values outside them become missing.",
        ),
        Param(
            "labels",
            "Labels",
            "choice",
            default="intervals",
            choices=("intervals", "codes"),
            help="intervals: text such as (0.5, 1.0] in an ordered category column; codes: bin numbers 0, 1, 2…",
        ),
        Param(
            "new_name", "New column", "text", default="", required=False, help="Empty: column name + _bin."
        ),
    )

    def _target(self) -> str:
        return self.values["new_name"] or f"{self.values['column']}_bin"

    def check(self, schema: Schema) -> list[ParamError]:
        if self.values["method"] == "custom":
            edges = self.values["edges"] or []
            if len(edges) < 2:
                return [ParamError("edges", "Edges: enter at least two edges, e.g. 0, 10, 100.")]
            if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
                return [ParamError("edges", "Edges: each edge must be larger than the one before.")]
        return _taken("new_name", "New column", [self._target()], schema)

    def _arguments(self) -> tuple[str, dict]:
        """The function (pd.cut or pd.qcut) and its keyword arguments after the column."""
        method = self.values["method"]
        if method == "equal_width":
            kwargs: dict = {"bins": self.values["bins"]}
        elif method == "quantile":
            kwargs = {"q": self.values["bins"], "duplicates": "drop"}
        else:
            kwargs = {"bins": list(self.values["edges"]), "include_lowest": True}
        if self.values["labels"] == "codes":
            kwargs["labels"] = False
        return ("qcut" if method == "quantile" else "cut"), kwargs

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        name, kwargs = self._arguments()
        column = self.values["column"]
        try:
            binned = getattr(pd, name)(df[column], **kwargs)
        except (ValueError, TypeError, IndexError) as exc:
            reason = "it has no values" if df[column].notna().sum() == 0 else str(exc).split("\n")[0]
            raise OperationError(f"Cannot bin {column!r}: {reason}.") from None
        if self.values["labels"] == "intervals":
            binned = binned.cat.rename_categories(str)
        out = df.copy(deep=False)
        out[self._target()] = binned
        return out

    def describe(self) -> str:
        method = self.values["method"]
        how = {
            "equal_width": f"{self.values['bins']} equal-width bins",
            "quantile": f"{self.values['bins']} quantile bins",
            "custom": f"bins at {', '.join(f'{e:g}' for e in self.values['edges'] or [])}",
        }[method]
        return f"Bin {self.values['column']} into {how} → {self._target()}"

    def code(self) -> list[str]:
        name, kwargs = self._arguments()
        args = ", ".join([col(self.values["column"])] + [f"{k}={v!r}" for k, v in kwargs.items()])
        expression = f"pd.{name}({args})"
        if self.values["labels"] == "intervals":
            expression += ".cat.rename_categories(str)"
        return [f"df[{self._target()!r}] = {expression}"]


# ---------------------------------------------------------------------------------------------- scaling

_SCALE_STATS = {
    # method: (centre, scale) as code over the column expression x
    "standard": ("{x}.mean()", "{x}.std()"),
    "minmax": ("{x}.min()", "{x}.max() - {x}.min()"),
    "robust": ("{x}.median()", "{x}.quantile(0.75) - {x}.quantile(0.25)"),
}


@register
class ScaleColumns(Operation):
    """Rescale numeric columns in place.

    standard: (x - mean) / standard deviation; minmax: (x - min) / (max - min); robust: (x - median) / IQR. The
    statistics come from the whole column (missing values ignored); a constant column is divided by 1 instead of 0.
    This is not leakage-safe: the statistics include rows that may later be test data. For modelling, prefer the
    experiment wizard's preprocessing, which fits the scaler on the training rows only.
    """

    key = "scale_columns"
    label = "Scale"
    group = GROUP
    summary = (
        "Rescale numeric columns (standardise, min-max or robust) using statistics of the whole column; "
        "for models, the experiment wizard's preprocessing scales without leaking test data."
    )
    params = (
        Param("columns", "Columns", "columns", dtypes=NUMERIC),
        Param(
            "method",
            "Method",
            "choice",
            default="standard",
            choices=("standard", "minmax", "robust"),
            help="standard: mean 0, standard deviation 1; minmax: from 0 to 1; robust: median 0, IQR 1.",
        ),
    )

    @staticmethod
    def _stats(x: pd.Series, method: str) -> tuple:
        if method == "standard":
            return x.mean(), x.std()
        if method == "minmax":
            return x.min(), x.max() - x.min()
        return x.median(), x.quantile(0.75) - x.quantile(0.25)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        out = df.copy(deep=False)
        for column in self.values["columns"]:
            x = df[column]
            center, scale = self._stats(x, self.values["method"])
            out[column] = (x - center) / (scale if scale > 0 else 1.0)
        return out

    def describe(self) -> str:
        method = {"standard": "Standardise", "minmax": "Min-max scale", "robust": "Robust scale"}
        return f"{method[self.values['method']]} {_names(self.values['columns'])}"

    def code(self) -> list[str]:
        center, scale = _SCALE_STATS[self.values["method"]]
        lines = []
        for column in self.values["columns"]:
            x = col(column)
            lines.append(f"_center, _scale = {center.format(x=x)}, {scale.format(x=x)}")
            lines.append(f"{x} = ({x} - _center) / (_scale if _scale > 0 else 1.0)")
        return [*lines, "del _center, _scale"]


# ---------------------------------------------------------------------------------------------- encoding

MAX_ONEHOT = 100


@register
class EncodeColumn(Operation):
    """Turn a categorical column into numbers.

    onehot: one true/false column per value, named column_value (missing values: all false). ordinal: the value's
    position in sorted order (category columns: in category order) as a number; missing stays missing. rare_label:
    values whose share of the non-missing rows is below the minimum share become "Other"; the result is text.
    Without "drop original", ordinal writes column_code and rare_label writes column_grouped.
    """

    key = "encode_column"
    label = "Encode categories"
    group = GROUP
    summary = (
        "Encode a categorical column: one-hot columns, ordinal codes, or rare values grouped into Other."
    )
    params = (
        Param("column", "Column", "column", dtypes=("string", "category", "boolean", "integer")),
        Param(
            "method",
            "Method",
            "choice",
            default="onehot",
            choices=("onehot", "ordinal", "rare_label"),
            help="onehot: a true/false column per value; ordinal: a number per value; rare_label: rare values → Other.",
        ),
        Param(
            "min_share",
            "Minimum share",
            "number",
            default=0.05,
            required=False,
            minimum=0,
            maximum=1,
            help="For rare_label: values found in fewer than this share of the rows (0.05 = 5 %) become Other.",
        ),
        Param(
            "drop_original",
            "Drop original",
            "boolean",
            default=False,
            help="onehot: remove the column; ordinal and rare_label: replace it instead of adding a new column.",
        ),
    )

    def _target(self) -> str:
        column, method = self.values["column"], self.values["method"]
        if self.values["drop_original"]:
            return column
        return f"{column}_code" if method == "ordinal" else f"{column}_grouped"

    def _min_share(self) -> float:
        share = self.values["min_share"]
        return 0.05 if share is None else share

    def check(self, schema: Schema) -> list[ParamError]:
        method = self.values["method"]
        if method == "rare_label" and schema[self.values["column"]] not in ("string", "category"):
            return [ParamError("column", "Column: grouping rare values needs a text or category column.")]
        if method != "onehot" and not self.values["drop_original"]:
            return _taken("drop_original", "Drop original", [self._target()], schema)
        return []

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        column, method = self.values["column"], self.values["method"]
        x = df[column]
        if method == "onehot":
            count = x.nunique() if not isinstance(x.dtype, pd.CategoricalDtype) else len(x.cat.categories)
            if count > MAX_ONEHOT:
                raise OperationError(
                    f"{column!r} has {count} different values; one-hot encoding makes a column per value (at most "
                    f"{MAX_ONEHOT}). Group rare values first (method rare_label)."
                )
            dummies = pd.get_dummies(x, prefix=column)
            base = df.drop(columns=[column]) if self.values["drop_original"] else df
            clash = [c for c in dummies.columns if c in base.columns]
            if clash:
                raise OperationError(f"One-hot encoding would create {clash[0]!r}, which already exists.")
            return pd.concat([base, dummies], axis=1)
        out = df.copy(deep=False)
        if method == "ordinal":
            out[self._target()] = x.astype("category").cat.codes.astype("int64").replace(-1, np.nan)
        else:
            share = x.value_counts(normalize=True)
            out[self._target()] = x.astype("str").mask(
                x.isin(share.index[share < self._min_share()]), "Other"
            )
        return out

    def describe(self) -> str:
        column, method = self.values["column"], self.values["method"]
        if method == "onehot":
            return f"One-hot encode {column}" + (" (drop original)" if self.values["drop_original"] else "")
        if method == "ordinal":
            return f"Ordinal codes of {column} → {self._target()}"
        return f"Group values of {column} under {self._min_share():.0%} into Other → {self._target()}"

    def code(self) -> list[str]:
        column, method = self.values["column"], self.values["method"]
        x = col(column)
        if method == "onehot":
            base = f"df.drop(columns=[{column!r}])" if self.values["drop_original"] else "df"
            return [f"df = pd.concat([{base}, pd.get_dummies({x}, prefix={column!r})], axis=1)"]
        target = self._target()
        if method == "ordinal":
            return [f"df[{target!r}] = {x}.astype('category').cat.codes.astype('int64').replace(-1, np.nan)"]
        return [
            f"_share = {x}.value_counts(normalize=True)",
            f"df[{target!r}] = {x}.astype('str').mask({x}.isin(_share.index[_share < {self._min_share()!r}]), 'Other')",
            "del _share",
        ]


# ---------------------------------------------------------------------------------------------- outliers

_DEFAULT_THRESHOLD = {"iqr": 1.5, "zscore": 3.0}


@register
class Outliers(Operation):
    """Find values outside fences and flag, clip, blank or remove them.

    iqr: outside [Q1 - k·IQR, Q3 + k·IQR] (k = threshold, default 1.5); zscore: farther than z standard deviations
    from the mean (default 3); quantile: below the lower or above the upper quantile. Statistics ignore missing
    values; with "group by" they are computed per group (missing group values form their own group). Missing values
    are never outliers.
    """

    key = "outliers"
    label = "Outliers"
    group = GROUP
    summary = "Detect outliers (IQR, z-score or quantiles), optionally per group, and flag, clip, blank or drop them."
    params = (
        Param("columns", "Columns", "columns", dtypes=NUMERIC),
        Param(
            "method",
            "Method",
            "choice",
            default="iqr",
            choices=("iqr", "zscore", "quantile"),
            help="iqr: beyond the quartiles ± threshold × IQR; zscore: beyond threshold standard deviations; "
            "quantile: below the lower or above the upper quantile.",
        ),
        Param(
            "threshold",
            "Threshold",
            "number",
            required=False,
            minimum=0,
            help="iqr: factor k (default 1.5); zscore: number of standard deviations (default 3).",
        ),
        Param("lower", "Lower quantile", "number", default=0.01, required=False, minimum=0, maximum=1),
        Param("upper", "Upper quantile", "number", default=0.99, required=False, minimum=0, maximum=1),
        Param(
            "action",
            "Action",
            "choice",
            default="flag",
            choices=("flag", "clip", "set_missing", "remove_rows"),
            help="flag: add a true/false column <column>_outlier; clip: move to the nearest fence; set_missing: "
            "blank them; remove_rows: drop rows with an outlier in any chosen column.",
        ),
        Param(
            "group_by",
            "Group by",
            "column",
            required=False,
            help="Compute the fences per group, e.g. station.",
        ),
    )

    def _threshold(self) -> float:
        value = self.values["threshold"]
        return _DEFAULT_THRESHOLD.get(self.values["method"], 0.0) if value is None else value

    def _quantiles(self) -> tuple[float, float]:
        lower, upper = self.values["lower"], self.values["upper"]
        return (0.01 if lower is None else lower), (0.99 if upper is None else upper)

    def check(self, schema: Schema) -> list[ParamError]:
        if self.values["group_by"] in self.values["columns"]:
            return [
                ParamError("group_by", "Group by: choose a column that is not one of the checked columns.")
            ]
        if self.values["method"] == "quantile":
            lower, upper = self._quantiles()
            if lower >= upper:
                return [ParamError("upper", "Upper quantile: must be larger than the lower quantile.")]
        elif self.values["threshold"] is not None and self.values["threshold"] <= 0:
            return [ParamError("threshold", "Threshold: must be larger than 0.")]
        if self.values["action"] == "flag":
            return _taken("action", "Action", [f"{c}_outlier" for c in self.values["columns"]], schema)
        return []

    # The fences of one column, as code lines and as values; both follow the same steps.

    def _fence_code(self, column: str) -> list[str]:
        method, k = self.values["method"], self._threshold()
        group = self.values["group_by"]
        lines = []
        if group:
            lines.append(f"_g = df.groupby({group!r}, dropna=False)[{column!r}]")

        def stat(name: str, *args: float) -> str:
            if group:
                return f"_g.transform({', '.join([repr(name), *map(repr, args)])})"
            return f"{col(column)}.{name}({', '.join(map(repr, args))})"

        if method == "iqr":
            lines.append(f"_q1, _q3 = {stat('quantile', 0.25)}, {stat('quantile', 0.75)}")
            lines.append(f"_low, _high = _q1 - {k!r} * (_q3 - _q1), _q3 + {k!r} * (_q3 - _q1)")
        elif method == "zscore":
            lines.append(f"_mean, _std = {stat('mean')}, {stat('std')}")
            lines.append(f"_low, _high = _mean - {k!r} * _std, _mean + {k!r} * _std")
        else:
            lower, upper = self._quantiles()
            lines.append(f"_low, _high = {stat('quantile', lower)}, {stat('quantile', upper)}")
        return lines

    def _fences(self, df: pd.DataFrame, column: str) -> tuple:
        method, k = self.values["method"], self._threshold()
        group = self.values["group_by"]
        g = df.groupby(group, dropna=False)[column] if group else None
        x = df[column]

        def stat(name: str, *args: float):
            return g.transform(name, *args) if g is not None else getattr(x, name)(*args)

        if method == "iqr":
            q1, q3 = stat("quantile", 0.25), stat("quantile", 0.75)
            return q1 - k * (q3 - q1), q3 + k * (q3 - q1)
        if method == "zscore":
            mean, std = stat("mean"), stat("std")
            return mean - k * std, mean + k * std
        lower, upper = self._quantiles()
        return stat("quantile", lower), stat("quantile", upper)

    def _temporaries(self) -> str:
        names = ["_low", "_high"]
        names += {"iqr": ["_q1", "_q3"], "zscore": ["_mean", "_std"], "quantile": []}[self.values["method"]]
        names += ["_g"] if self.values["group_by"] else []
        names += ["_outlier"] if self.values["action"] == "remove_rows" else []
        return "del " + ", ".join(names)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        action = self.values["action"]
        out = df.copy(deep=False)
        outlier = None
        for column in self.values["columns"]:
            low, high = self._fences(df, column)
            x = df[column]
            if action == "flag":
                out[f"{column}_outlier"] = (x < low) | (x > high)
            elif action == "clip":
                out[column] = x.clip(low, high)
            elif action == "set_missing":
                out[column] = x.mask((x < low) | (x > high))
            else:
                found = (x < low) | (x > high)
                outlier = found if outlier is None else outlier | found
        if action == "remove_rows":
            return df[~outlier].reset_index(drop=True)
        return out

    def describe(self) -> str:
        method = self.values["method"]
        if method == "quantile":
            lower, upper = self._quantiles()
            how = f"outside quantiles {lower:g}–{upper:g}"
        else:
            how = f"{'IQR' if method == 'iqr' else 'z-score'} {self._threshold():g}"
        action = {"flag": "Flag", "clip": "Clip", "set_missing": "Blank", "remove_rows": "Remove rows with"}
        group = f" per {self.values['group_by']}" if self.values["group_by"] else ""
        return f"{action[self.values['action']]} outliers in {_names(self.values['columns'])} ({how}{group})"

    def code(self) -> list[str]:
        action = self.values["action"]
        lines: list[str] = []
        for i, column in enumerate(self.values["columns"]):
            x = col(column)
            lines += self._fence_code(column)
            if action == "flag":
                lines.append(f"df[{column + '_outlier'!r}] = ({x} < _low) | ({x} > _high)")
            elif action == "clip":
                lines.append(f"{x} = {x}.clip(_low, _high)")
            elif action == "set_missing":
                lines.append(f"{x} = {x}.mask(({x} < _low) | ({x} > _high))")
            elif i == 0:
                lines.append(f"_outlier = ({x} < _low) | ({x} > _high)")
            else:
                lines.append(f"_outlier = _outlier | (({x} < _low) | ({x} > _high))")
        if action == "remove_rows":
            lines.append("df = df[~_outlier].reset_index(drop=True)")
        return [*lines, self._temporaries()]
