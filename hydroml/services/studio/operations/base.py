"""The operation contract of the Data Studio.

An operation is a small class with typed parameters (`Param`, a schema the UI renders as a form). One instance is
one step of a recipe. Its four duties:

- ``validate(schema)``: errors (`ParamError`, naming the bad parameter) against the columns and dtypes the step
  will see; an empty list means the step fits.
- ``apply(df, ctx)``: a new frame; the input is never modified (pandas copy-on-write makes untouched columns free).
  Every result keeps a default RangeIndex, so the grid, checkpoints and the exported script agree on rows.
- ``describe()``: one line for the history panel.
- ``code()``: the pandas lines that do exactly what ``apply`` does, acting on a frame named ``df`` with only
  ``pd``, ``np`` and (for joins) ``SOURCES`` in scope. The exported script must reproduce the studio's frame
  bit for bit; tests run both and compare.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

# HydroML dtype names, as in the quality report and the grid badges.
DTYPES = ("integer", "float", "boolean", "datetime", "string", "category")
NUMERIC = ("integer", "float")
Schema = dict[str, str]  # column name -> dtype name, in column order

# Panel groups in display order.
GROUPS = (
    "Columns",
    "Rows",
    "Missing data",
    "Computed columns",
    "Text",
    "Time series",
    "Hydrology",
    "Structure",
)

# Parameter kinds the form generator knows. Values in a recipe are plain JSON:
#   column: str              columns: list[str]         text: str        integer: int      number: float
#   boolean: bool            choice: str (one of `choices`)             integers: list[int]   numbers: list[float]
#   texts: list[str]         mapping: dict[str, str] (column -> text, or column -> one of `choices`)
#   conditions: {"combine": "all"|"any", "rules": [{"column", "op", "value"}, ...]}  (see rows.CONDITION_OPS)
#   source: {"data_source_id": str, "version": int, "name": str}  another data source of the project
KINDS = (
    "column",
    "columns",
    "text",
    "integer",
    "number",
    "boolean",
    "choice",
    "integers",
    "numbers",
    "texts",
    "mapping",
    "conditions",
    "source",
)


class OperationError(Exception):
    """Raised by ``apply`` when the data does not allow the step; ``str()`` is shown to the user as the reason."""


@dataclass(frozen=True)
class ParamError:
    param: str  # the parameter's name ("" for the step as a whole)
    message: str


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: str
    default: Any = None
    required: bool = True
    choices: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()  # column kinds: allowed dtypes (empty = any)
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")

    def as_dict(self) -> dict:
        """The schema the UI renders (JSON-safe)."""
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "default": self.default,
            "required": self.required,
            "choices": list(self.choices),
            "dtypes": list(self.dtypes),
            "minimum": self.minimum,
            "maximum": self.maximum,
            "help": self.help,
        }


@dataclass
class Context:
    """What ``apply`` may need besides the frame: other data sources of the project (joins, appends).

    ``load_source(data_source_id, version)`` returns that version's frame (as ``pd.read_parquet`` gives it).
    """

    load_source: Callable[[str, int], pd.DataFrame] | None = None

    def source(self, ref: dict) -> pd.DataFrame:
        if self.load_source is None:
            raise OperationError("Other data sources are not available here.")
        return self.load_source(str(ref["data_source_id"]), int(ref["version"]))


def source_key(ref: dict) -> str:
    """The key of another data source in the exported script's ``SOURCES`` dict."""
    return f"{ref['data_source_id']}@v{int(ref['version'])}"


def dtype_of(series: pd.Series) -> str:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def schema_of(df: pd.DataFrame) -> Schema:
    return {str(name): dtype_of(df[name]) for name in df.columns}


class Operation:
    """Base class; subclasses set the class attributes and implement `apply`, `describe`, `code`."""

    key: ClassVar[str]  # stable id stored in recipes, e.g. "rename_columns"
    label: ClassVar[str]  # shown in the panel, e.g. "Rename columns"
    group: ClassVar[str]  # one of GROUPS
    summary: ClassVar[str] = ""  # one sentence under the form
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, values: dict | None = None) -> None:
        values = dict(values or {})
        known = {p.name for p in self.params}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{self.key}: unknown parameter(s) {', '.join(unknown)}")
        self.values: dict[str, Any] = {
            p.name: values[p.name] if p.name in values else _copy(p.default) for p in self.params
        }

    # ------------------------------------------------------------------ contract

    def validate(self, schema: Schema) -> list[ParamError]:
        """Generic checks from the parameter declarations, then `check` for the operation's own rules."""
        errors = [e for p in self.params if (e := check_param(p, self.values.get(p.name), schema))]
        if errors:
            return errors
        return self.check(schema)

    def check(self, schema: Schema) -> list[ParamError]:
        """Operation-specific validation (called only when every parameter passed the generic checks)."""
        return []

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def code(self) -> list[str]:
        raise NotImplementedError

    def note(self) -> str:
        """After ``apply``: what the user should know about the result (e.g. values that became missing)."""
        return ""

    # ------------------------------------------------------------------ helpers

    def to_json(self) -> dict:
        return {"op": self.key, "params": self.values}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({json.dumps(self.values, default=str)})"


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value)) if isinstance(value, dict | list) else value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_param(p: Param, value: Any, schema: Schema) -> ParamError | None:  # noqa: C901 - one branch per kind
    def err(message: str) -> ParamError:
        return ParamError(p.name, f"{p.label}: {message}")

    empty = value is None or value == "" or value == [] or value == {}
    if empty:
        return err("required.") if p.required else None
    if p.kind == "column":
        return _check_columns(p, [value], schema, err)
    if p.kind == "columns":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return err("choose one or more columns.")
        if len(set(value)) != len(value):
            return err("a column is listed twice.")
        return _check_columns(p, value, schema, err)
    if p.kind in ("text", "choice") and not isinstance(value, str):
        return err("expected text.")
    if p.kind == "choice" and value not in p.choices:
        return err(f"choose one of {', '.join(p.choices)}.")
    if p.kind == "boolean" and not isinstance(value, bool):
        return err("expected yes or no.")
    if p.kind in ("integer", "number"):
        if not _is_number(value) or (p.kind == "integer" and int(value) != value):
            return err("expected a whole number." if p.kind == "integer" else "expected a number.")
        return _check_range(p, [value], err)
    if p.kind in ("integers", "numbers"):
        if not isinstance(value, list) or not all(_is_number(v) for v in value):
            return err("expected a list of numbers.")
        if p.kind == "integers" and any(int(v) != v for v in value):
            return err("expected whole numbers.")
        return _check_range(p, value, err)
    if p.kind == "texts" and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
        return err("expected a list of texts.")
    if p.kind == "mapping":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            return err("expected a value per column.")
        missing = [c for c in value if c not in schema]
        if missing:
            return err(f"no column named {missing[0]!r}.")
        if p.choices and (bad := [v for v in value.values() if v not in p.choices]):
            return err(f"{bad[0]!r} is not one of {', '.join(p.choices)}.")
    if p.kind == "conditions":
        return _check_condition_columns(value, schema, err)
    if p.kind == "source" and (not isinstance(value, dict) or not value.get("data_source_id")):
        return err("choose a data source.")
    return None


def _check_condition_columns(value: Any, schema: Schema, err) -> ParamError | None:
    """Every rule names an existing column; a rule may itself be a group {"combine", "rules"}."""
    if not isinstance(value, dict) or not isinstance(value.get("rules"), list) or not value["rules"]:
        return err("add at least one condition.")
    for rule in value["rules"]:
        if isinstance(rule, dict) and "rules" in rule:
            if found := _check_condition_columns(rule, schema, err):
                return found
        elif not isinstance(rule, dict) or rule.get("column") not in schema:
            return err(f"no column named {rule.get('column') if isinstance(rule, dict) else rule!r}.")
    return None


def _check_columns(p: Param, names: list[str], schema: Schema, err) -> ParamError | None:
    for name in names:
        if name not in schema:
            return err(f"no column named {name!r}.")
        if p.dtypes and schema[name] not in p.dtypes:
            return err(f"{name!r} is {schema[name]}; expected {' or '.join(p.dtypes)}.")
    return None


def _check_range(p: Param, values: list, err) -> ParamError | None:
    for v in values:
        if p.minimum is not None and v < p.minimum:
            return err(f"must be at least {p.minimum:g}.")
        if p.maximum is not None and v > p.maximum:
            return err(f"must be at most {p.maximum:g}.")
    return None


# ------------------------------------------------------------------ registry

OPERATIONS: dict[str, type[Operation]] = {}


def register(cls: type[Operation]) -> type[Operation]:
    """Class decorator: make an operation available to recipes and the panel."""
    if cls.key in OPERATIONS:
        raise ValueError(f"operation key {cls.key!r} registered twice")
    if cls.group not in GROUPS:
        raise ValueError(f"{cls.key}: unknown group {cls.group!r}")
    OPERATIONS[cls.key] = cls
    return cls


def col(name: str) -> str:
    """Code for a column reference: ``df['name']`` with the name safely quoted."""
    return f"df[{name!r}]"
