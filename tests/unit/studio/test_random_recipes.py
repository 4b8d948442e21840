"""Random recipes: the exported pandas script, run by plain Python, must reproduce the studio's frame exactly.

A seeded generator builds valid steps for the frame at hand from each operation's `params` declarations and the
current schema (hand-written builders where free text matters: formulas, conditions, mappings, patterns, ...).
Each recipe is materialised by the engine, exported with `recipe_script`, and every script runs in one separate
``python -I`` process that never imports hydroml. A failure names the seed and prints the recipe.
"""

from __future__ import annotations

import json
import keyword
import random
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pandas as pd
import pytest

from hydroml.services.demo_data import daily_hydrometeo, station_attributes
from hydroml.services.studio import engine
from hydroml.services.studio.operations import OPERATIONS, Context, Param, schema_of
from hydroml.services.studio.operations.base import source_key
from hydroml.services.studio.recipe import Step, new_step
from hydroml.services.studio.script import ScriptSource, recipe_script

SEEDS = range(30)  # recipes on a subset (3 stations x 2 years)
FULL_SEEDS = (100, 101)  # recipes on the whole demo frame
STATIONS = {"data_source_id": "stations", "version": 1, "name": "Station attributes"}
READINGS = {"data_source_id": "readings", "version": 3, "name": "Gauge readings"}
NEEDS_SOURCES = {"join_source", "append_source"}
FREQUENCIES = ("D", "W", "MS", "ME", "QS", "YS", "h")

# ------------------------------------------------------------------------------------------------ data


def _subset(frame: pd.DataFrame) -> pd.DataFrame:
    keep = frame["station_id"].isin(["ST01", "ST02", "ST03"]) & frame["date"].dt.year.isin([2014, 2015])
    return frame[keep].reset_index(drop=True)


def _readings(frame: pd.DataFrame) -> pd.DataFrame:
    """Another source for as-of joins: every fifth reading, twelve hours late, with a different column."""
    out = frame.iloc[::5][["date", "station_id", "flow"]].rename(columns={"flow": "gauge"})
    out["date"] = out["date"] + pd.Timedelta(hours=12)
    return out.reset_index(drop=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("random_recipes")
    full = daily_hydrometeo()
    paths = {name: folder / f"{name}.parquet" for name in ("full", "subset", "stations", "readings")}
    full.to_parquet(paths["full"], index=False)
    _subset(full).to_parquet(paths["subset"], index=False)
    station_attributes().to_parquet(paths["stations"], index=False)
    _readings(full).to_parquet(paths["readings"], index=False)
    return paths


@pytest.fixture
def fresh_engine(monkeypatch):
    monkeypatch.setattr(engine, "_cache", engine.FrameCache(2 * 1024**3))
    monkeypatch.setattr(engine, "_statuses", OrderedDict())


# ------------------------------------------------------------------------------------------------ generator


def _names(schema: dict, dtypes: tuple[str, ...] = ()) -> list[str]:
    return [c for c, d in schema.items() if not dtypes or d in dtypes]


def _fresh(rng: random.Random, schema: dict, stem: str = "new") -> str:
    while (name := f"{stem}_{rng.randrange(1000)}") in schema:
        pass
    return name


def _ref(name: str) -> str:
    """A column in a formula: bare when it is a plain identifier, in backticks otherwise."""
    plain = (
        name.isidentifier() and not keyword.iskeyword(name) and name != "nan" and not name.startswith("__")
    )
    return name if plain else f"`{name}`"


def _pick_group(rng: random.Random, schema: dict, dtypes: tuple[str, ...] = ()) -> str | None:
    """station_id most of the time (time-series steps are per station), else another allowed column or none."""
    allowed = _names(schema, dtypes)
    if "station_id" in allowed and rng.random() < 0.7:
        return "station_id"
    return rng.choice(allowed) if allowed and rng.random() < 0.5 else None


def _sample_value(rng: random.Random, series: pd.Series, dtype: str) -> str:
    """A value of the column as a user would type it."""
    values = series.dropna()
    if values.empty:
        return {"integer": "1", "float": "1.5", "boolean": "true", "datetime": "2015-01-01"}.get(
            dtype, "ST01"
        )
    value = values.iloc[rng.randrange(len(values))]
    if dtype == "datetime":
        return pd.Timestamp(value).strftime(rng.choice(["%Y-%m-%d", "%Y-%m-%d %H:%M"]))
    if dtype == "boolean":
        return rng.choice(["true", "false", "yes", "0"])
    if dtype == "float":
        return str(round(float(value), rng.choice([0, 1, 3])))
    return str(value)


def _rule(rng: random.Random, df: pd.DataFrame, schema: dict) -> dict:
    column = rng.choice(list(schema))
    dtype = schema[column]
    ops = ["=", "!=", "in", "not in", "is missing", "not missing"]
    if dtype in ("integer", "float", "datetime", "string"):
        ops += ["<", "<=", ">", ">=", "between"] * 2
    if dtype in ("string", "category"):
        ops += ["contains", "starts with", "regex"]
    op = rng.choice(ops)
    if op in ("is missing", "not missing"):
        return {"column": column, "op": op, "value": None}
    if op in ("contains", "starts with", "regex"):
        value = {"contains": rng.choice(["T0", "1", "a"]), "starts with": "ST", "regex": r"\d$"}[op]
        return {"column": column, "op": op, "value": value}
    a, b = (_sample_value(rng, df[column], dtype) for _ in range(2))
    if op == "between":
        converted = [
            pd.Timestamp(v) if dtype == "datetime" else float(v) if dtype != "string" else v for v in (a, b)
        ]
        if converted[1] < converted[0]:
            a, b = b, a
        return {"column": column, "op": op, "value": f"{a}, {b}"}
    if op in ("in", "not in"):
        return {"column": column, "op": op, "value": f"{a},{b}"}
    return {"column": column, "op": op, "value": a}


def _conditions(rng: random.Random, df: pd.DataFrame, schema: dict) -> dict:
    rules: list[dict] = [_rule(rng, df, schema) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.25:
        rules.append(
            {"combine": rng.choice(["all", "any"]), "rules": [_rule(rng, df, schema) for _ in range(2)]}
        )
    return {"combine": rng.choice(["all", "any"]), "rules": rules}


def _generic(rng: random.Random, p: Param, df: pd.DataFrame, schema: dict):  # noqa: C901, PLR0911 - one per kind
    optional = not p.required
    if p.kind == "column":
        names = _names(schema, p.dtypes)
        if not names or (optional and rng.random() < 0.4):
            return None
        return rng.choice(names)
    if p.kind == "columns":
        names = _names(schema, p.dtypes)
        if not names or (optional and rng.random() < 0.4):
            return None
        return rng.sample(names, rng.randint(1, min(3, len(names))))
    if p.kind == "text":
        return _fresh(rng, schema, "c") if p.name == "new_name" else p.default
    if p.kind == "integer":
        if optional and rng.random() < 0.4:
            return None
        low = int(p.minimum if p.minimum is not None else 0)
        return rng.randint(low, int(min(p.maximum if p.maximum is not None else low + 6, low + 6)))
    if p.kind == "number":
        if optional and rng.random() < 0.4:
            return None
        low = p.minimum if p.minimum is not None else -5.0
        high = p.maximum if p.maximum is not None else low + 10
        return round(rng.uniform(low, high), 3)
    if p.kind == "boolean":
        return rng.random() < 0.5
    if p.kind == "choice":
        return None if optional and rng.random() < 0.3 else rng.choice(p.choices)
    if p.kind == "integers":
        return sorted(rng.sample([1, 2, 3, 7], rng.randint(1, 3)))
    if p.kind == "numbers":
        return None if optional else sorted({round(rng.uniform(-5, 20), 1) for _ in range(3)})
    if p.kind == "texts":
        return rng.sample(list(p.choices), rng.randint(1, min(3, len(p.choices)))) if p.choices else []
    if p.kind == "mapping":
        names = rng.sample(list(schema), rng.randint(1, min(2, len(schema))))
        return {c: rng.choice(p.choices) if p.choices else _fresh(rng, schema, c) for c in names}
    if p.kind == "conditions":
        return None if optional and rng.random() < 0.5 else _conditions(rng, df, schema)
    if p.kind == "source":
        return STATIONS
    raise AssertionError(p.kind)


def _formula(rng: random.Random, df: pd.DataFrame, schema: dict) -> str:
    numbers = [_ref(c) for c in _names(schema, ("integer", "float"))] or ["1"]
    dates = [_ref(c) for c in _names(schema, ("datetime",))]
    texts = [_ref(c) for c in _names(schema, ("string",))]
    a, b = rng.choice(numbers), rng.choice(numbers)
    forms = [
        f"{a} * 2 + {b}",
        f"where({a} > 1, {a}, nan)",
        f"log1p(abs({a}))",
        f"round({a} / ({b} + 1), 2)",
        f"clip({a}, 0, 10)",
        f"min({a}, {b}) - max({a}, 0.5)",
        f"fillna({a}, 0) ** 2",
        f"{a} if {b} > 0 else -{a}",
        f"({a} // 3) % 2",
        f"isna({a}) or {b} >= 2.5",
        f"sqrt(abs({a})) + floor({b}) - ceil({a})",
        f"exp(-abs({a})) * 1e-3",
        f"not ({a} < {b})",
        f"0 < {a} <= 5",
    ]
    if dates:
        d = rng.choice(dates)
        forms += [f"year({d}) * 100 + month({d})", f"dayofyear({d}) + day({d}) / 31"]
    if texts:
        t = rng.choice(texts)
        forms += [f"{t} == 'ST01'", f"where({t} != 'ST02', {a}, 0)"]
    return rng.choice(forms)


def _low_cardinality(df: pd.DataFrame, schema: dict, dtypes: tuple[str, ...], limit: int = 30) -> list[str]:
    return [c for c in _names(schema, dtypes) if df[c].nunique() <= limit]


def _agg_for(rng: random.Random, dtype: str, choices: tuple[str, ...]) -> str:
    if dtype in ("integer", "float"):
        return rng.choice(choices)
    if dtype == "boolean":
        return rng.choice([c for c in choices if c in ("sum", "mean", "count", "first", "last", "nunique")])
    return rng.choice([c for c in choices if c in ("count", "first", "last", "nunique")])


def _special(rng: random.Random, key: str, df: pd.DataFrame, schema: dict) -> dict:  # noqa: C901, PLR0911, PLR0912
    """Hand-written parameters where the generic ones would rarely make sense."""
    numeric = _names(schema, ("integer", "float"))
    times = _names(schema, ("datetime",))
    small = len(df) < 10_000  # hourly grids of the full frame would be needlessly big
    frequencies = FREQUENCIES if small else FREQUENCIES[:-1]
    if key == "sort_rows":
        columns = rng.sample(list(schema), rng.randint(1, min(2, len(schema))))
        directions = (
            {c: rng.choice(["ascending", "descending"]) for c in columns} if rng.random() < 0.5 else None
        )
        return {"columns": columns, "directions": directions}
    if key == "keep_rows":
        return {"n": rng.choice([1, 7, 100, 1000])}
    if key == "sample_rows":
        if rng.random() < 0.5:
            return {"n": rng.randint(1, 500), "fraction": None, "seed": rng.randrange(100)}
        return {"n": None, "fraction": round(rng.uniform(0.05, 0.95), 2), "seed": rng.randrange(100)}
    if key == "drop_time_range" and times:
        column = rng.choice(times)
        start, end = sorted(_sample_value(rng, df[column], "datetime") for _ in range(2))
        if rng.random() < 0.3:
            start, end = (None, end) if rng.random() < 0.5 else (start, None)
        return {"column": column, "start": start, "end": end}
    if key == "select_columns":
        return {"columns": rng.sample(list(schema), rng.randint(min(2, len(schema)), len(schema)))}
    if key == "rename_columns":
        names = rng.sample(list(schema), rng.randint(1, min(2, len(schema))))
        return {"mapping": {c: _fresh(rng, schema, "r") for c in names}}
    if key == "cast_column":
        to = rng.choice(("int", "float", "string", "bool", "category", "datetime"))
        fmt = rng.choice([None, "%Y-%m-%d"]) if to in ("datetime", "string") else None
        timezone = rng.choice([None, None, "UTC", "Europe/Paris"]) if to == "datetime" else None
        return {"to": to, "format": fmt, "timezone": timezone}
    if key == "split_column":
        return {
            "delimiter": rng.choice(["T", "0", "-", " "]),
            "prefix": rng.choice([None, _fresh(rng, schema, "p")]),
        }
    if key == "combine_columns":
        columns = rng.sample(list(schema), rng.randint(min(2, len(schema)), min(3, len(schema))))
        return {"columns": columns, "separator": rng.choice(["_", "-", " ", ""])}
    if key == "formula_column":
        target = rng.choice(numeric) if numeric and rng.random() < 0.2 else _fresh(rng, schema, "f")
        return {"new_name": target, "formula": _formula(rng, df, schema)}
    if key == "math_transform":
        function = rng.choice(("log", "log1p", "sqrt", "exp", "abs", "power", "clip", "round"))
        values: dict = {"function": function, "suffix": rng.choice(["", "_t"])}
        if function == "power":
            values["argument"] = rng.choice([2, 0.5, 3])
        if function == "round":
            values["argument"] = rng.choice([None, 0, 2])
        if function == "clip":
            values["lower"], values["upper"] = rng.choice([(0, 10), (None, 5.5), (-1.5, None)])
        return values
    if key == "bin_column" and numeric:
        column = rng.choice(numeric)
        method = rng.choice(("equal_width", "quantile", "custom"))
        values = {"column": column, "method": method, "bins": rng.randint(2, 8)}
        if method == "custom":
            quantiles = df[column].quantile([0, 0.3, 0.7, 1]).dropna().round(2).unique().tolist()
            values["edges"] = sorted(set(quantiles)) or [0.0, 1.0]
        return values
    if key == "encode_column":
        columns = _low_cardinality(df, schema, ("string", "category", "boolean", "integer"))
        if columns:
            return {"column": rng.choice(columns), "min_share": round(rng.uniform(0.0, 0.5), 2)}
    if key == "outliers":
        method = rng.choice(("iqr", "zscore", "quantile"))
        threshold = {
            "iqr": rng.choice([None, 1.5, 3]),
            "zscore": rng.choice([None, 2, 3.5]),
            "quantile": None,
        }
        lower = round(rng.uniform(0, 0.2), 2)
        return {
            "method": method,
            "threshold": threshold[method],
            "lower": lower,
            "upper": round(rng.uniform(lower + 0.5, 1), 2),
            "group_by": _pick_group(rng, schema),
        }
    if key in ("resample", "make_regular", "gap_report") and times:
        values = {"time_column": rng.choice(times), "frequency": rng.choice(frequencies)}
        values["group_by"] = _pick_group(rng, schema, ("string", "integer", "category", "boolean"))
        if key == "resample":
            others = [c for c in schema if c not in (values["time_column"], values["group_by"])]
            choices = OPERATIONS["resample"].params[3].choices
            picked = rng.sample(others, rng.randint(1, min(3, len(others)))) if others else []
            values["aggregations"] = {c: _agg_for(rng, schema[c], choices) for c in picked}
        return values
    if key in ("set_time_column", "lag_features", "rolling_window", "difference", "cumulative_sum"):
        values = {"group_by": _pick_group(rng, schema, ("string", "integer", "category", "boolean"))}
        if key == "set_time_column" and times:
            values["time_column"] = rng.choice(times)
        if key == "lag_features":
            values["time_column"] = rng.choice([*times, None])
        if key == "rolling_window":
            window = rng.choice(["3", "7", "7D", "30D", "12h"])
            values["window"] = window
            values["time_column"] = (
                rng.choice(times) if times and (not window.isdigit() or rng.random() < 0.3) else None
            )
            values["min_periods"] = rng.choice([None, 1, 2])
        return values
    if key == "convert_units":
        pair = rng.choice(
            [("m3/s", "L/s"), ("L/s", "m3/s"), ("m3/s", "ft3/s"), ("mm", "in"), ("in", "mm"), ("C", "F")]
        )
        where = _conditions(rng, df, schema) if rng.random() < 0.3 else None
        return {"from_unit": pair[0], "to_unit": pair[1], "only_where": where}
    if key in ("baseflow_lyne_hollick", "flow_exceedance", "antecedent_precipitation"):
        values = {"group_by": _pick_group(rng, schema, ("string", "integer", "category", "boolean"))}
        if key == "antecedent_precipitation":
            values["days"] = rng.choice([1, 3, 5, 30])
            values["min_periods"] = rng.choice([None, 1])
        if key == "baseflow_lyne_hollick":
            values["alpha"] = rng.choice([0.925, 0.95, 0.5])
            values["new_name"] = _fresh(rng, schema, "bf")
        return values
    if key == "fill_constant":
        dtype = schema[rng.choice(list(schema))]
        columns = _names(schema, (dtype,))
        value = {
            "integer": "0",
            "float": rng.choice(["0", "-1.5"]),
            "boolean": "false",
            "datetime": "2000-01-01",
        }
        return {"columns": rng.sample(columns, min(2, len(columns))), "value": value.get(dtype, "missing")}
    if key in ("fill_direction", "interpolate", "fill_group_statistic"):
        values = {"group_by": _pick_group(rng, schema)}
        if key == "fill_group_statistic" and values["group_by"] is None:
            values["group_by"] = rng.choice(list(schema))
        if key == "interpolate":
            values["time_column"] = rng.choice([*times, None])
            values["max_gap"] = rng.choice([None, 1, 3])
        return values
    if key == "group_aggregate":
        keys = _low_cardinality(df, schema, (), 400) or list(schema)[:1]
        group_by = rng.sample(keys, rng.randint(1, min(2, len(keys))))
        others = [c for c in schema if c not in group_by]
        choices = OPERATIONS["group_aggregate"].params[1].choices
        picked = rng.sample(others, rng.randint(1, min(3, len(others)))) if others else []
        return {"group_by": group_by, "aggregations": {c: _agg_for(rng, schema[c], choices) for c in picked}}
    if key == "pivot":
        across = _low_cardinality(df, schema, ("string", "category", "integer", "boolean"), 12)
        if across and numeric:
            columns = rng.choice(across)
            index = [c for c in _low_cardinality(df, schema, (), 1000) + times if c != columns][:1] or list(
                schema
            )[:1]
            values = rng.choice([c for c in numeric if c not in (columns, *index)] or numeric)
            return {"index": index, "columns": columns, "values": values}
    if key == "melt":
        ids = rng.sample(list(schema), rng.randint(0, min(2, len(schema) - 1)))
        stack = [c for c in numeric if c not in ids]
        chosen = rng.sample(stack, rng.randint(1, len(stack))) if stack and rng.random() < 0.8 else []
        return {
            "id_columns": ids,
            "value_columns": chosen,
            "variable_name": _fresh(rng, schema, "var"),
            "value_name": _fresh(rng, schema, "val"),
        }
    if key == "join_source":
        if rng.random() < 0.5:
            return {
                "source": STATIONS,
                "how": rng.choice(["inner", "left", "right", "outer"]),
                "left_on": ["station_id"],
                "right_on": ["station_id"],
                "suffix": rng.choice(["_right", "_st"]),
            }
        return {
            "source": READINGS,
            "how": "asof",
            "left_on": rng.sample(times, 1) if times else ["date"],
            "right_on": ["date"],
            "by": ["station_id"] if rng.random() < 0.8 else [],
            "tolerance": rng.choice(["", "3D", "12h"]),
            "direction": rng.choice(["backward", "forward", "nearest"]),
        }
    if key == "append_source":
        return {"source": rng.choice([STATIONS, READINGS]), "require_same_columns": rng.random() < 0.1}
    if key == "text_replace":
        find, regex = rng.choice([("ST", False), ("0", False), (r"\d", True), (r"^S", True)])
        return {"find": find, "regex": regex, "replace_with": rng.choice(["", "X", "station "])}
    if key == "text_extract":
        return {"pattern": rng.choice([r"ST(\d+)", r"(\d)$", r"([A-Z]+)(\d+)"])}
    return {}


def random_params(rng: random.Random, key: str, df: pd.DataFrame) -> dict:
    schema = schema_of(df)
    values = {p.name: _generic(rng, p, df, schema) for p in OPERATIONS[key].params}
    values.update(_special(rng, key, df, schema))
    return values


def random_step(rng: random.Random, key: str, df: pd.DataFrame, tries: int = 8) -> Step | None:
    """A step of operation ``key`` that validates against ``df``'s schema, or None."""
    schema = schema_of(df)
    if not schema:  # e.g. every column dropped: nothing to build parameters from
        return None
    for _ in range(tries):
        params = random_params(rng, key, df)
        if not OPERATIONS[key](params).validate(schema):
            return new_step(key, params)
    return None


# ------------------------------------------------------------------------------------------------ recipes


class Built:
    def __init__(self, seed: int, input_path: Path) -> None:
        self.seed = seed
        self.input_path = input_path
        self.steps: list[Step] = []
        self.frame: pd.DataFrame | None = None  # after the applied steps, step by step
        self.crashes: list[str] = []  # steps that failed with something else than OperationError/ParamError

    def describe(self) -> str:
        lines = [f"seed {self.seed} on {self.input_path.name}:"]
        for step in self.steps:
            state = "" if step.enabled else " (off)"
            lines.append(f"  {step.op}{state} {json.dumps(step.params, default=str)}")
        return "\n".join(lines)


def _context(files: dict[str, Path]) -> Context:
    paths = {("stations", 1): files["stations"], ("readings", 3): files["readings"]}
    return Context(load_source=lambda source_id, version: pd.read_parquet(paths[(source_id, version)]))


def build_recipe(seed: int, input_path: Path, ctx: Context, covered: set[str]) -> Built:
    """4-8 applied steps chosen at random, preferring operations no earlier recipe applied (``covered``).

    The choice depends on ``covered``, so a failing recipe is reproduced from its printed steps, not its seed alone.
    """
    rng = random.Random(seed)
    built = Built(seed, input_path)
    frame = pd.read_parquet(input_path)
    keys = sorted(OPERATIONS)
    wanted = rng.randint(4, 8)
    applied = attempts = 0
    while applied < wanted and attempts < 60:
        attempts += 1
        pending = [k for k in keys if k not in covered]
        key = rng.choice(pending) if pending and rng.random() < 0.6 else rng.choice(keys)
        step = random_step(rng, key, frame)
        if step is None:
            continue
        if rng.random() < 0.12:  # a turned-off step: kept in the recipe, commented out in the script
            built.steps.append(Step(step.id, step.op, step.params, enabled=False))
            continue
        result, status = engine.apply_new_step(step, frame, ctx)
        if status.state != "applied":
            if status.reason.startswith("This step failed"):  # an unexpected exception, not a refusal
                built.crashes.append(f"{step.op} {json.dumps(step.params, default=str)}: {status.reason}")
            continue
        if len(result) == 0 < len(frame) and rng.random() < 0.9:
            continue  # an empty frame leaves little to test: rarely keep a step that removes every row
        built.steps.append(step)
        covered.add(step.op)
        frame, applied = result, applied + 1
        if rng.random() < 0.08:  # a step that no longer fits (broken): passes the frame through
            built.steps.append(new_step("drop_columns", {"columns": ["no_such_column"]}))
    built.frame = frame
    return built


RUNNER = """
import json, pickle, sys, traceback
jobs_file, report_file = sys.argv[1:3]
jobs = json.load(open(jobs_file))
errors = {}
for job in jobs:
    sys.argv = [job["script"], job["input"], job["output"]]
    scope = {"__name__": "__main__", "__file__": job["script"]}
    try:
        exec(compile(open(job["script"]).read(), job["script"], "exec"), scope)
    except BaseException:
        errors[job["script"]] = traceback.format_exc()
    if "df" in scope:  # compared in memory: Parquet must not hide (or cause) a difference
        with open(job["output"] + ".pickle", "wb") as f:
            pickle.dump(scope["df"], f)
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "hydroml")
json.dump({"errors": errors, "hydroml": loaded}, open(report_file, "w"))
"""


def test_random_recipes_are_reproduced_by_the_exported_script(files, fresh_engine, tmp_path):
    ctx = _context(files)
    covered: set[str] = set()
    recipes = [build_recipe(seed, files["subset"], ctx, covered) for seed in SEEDS]
    recipes += [build_recipe(seed, files["full"], ctx, covered) for seed in FULL_SEEDS]
    crashes = [f"{r.describe()}\n  crashed: {c}" for r in recipes for c in r.crashes]
    assert not crashes, "steps crashed instead of being refused:\n" + "\n".join(crashes)

    other_sources = {
        source_key(STATIONS): str(files["stations"]),
        source_key(READINGS): str(files["readings"]),
    }
    jobs, expected = [], {}
    engine.frame_cache().clear()
    engine._statuses.clear()
    for built in recipes:
        steps = tuple(built.steps)
        result = engine.materialize(
            f"random-{built.seed}", lambda p=built.input_path: pd.read_parquet(p), steps, ctx
        )
        states = [s.state for s in result.statuses]
        expected_states = [
            "off"
            if not s.enabled
            else "broken"
            if s.params.get("columns") == ["no_such_column"]
            else "applied"
            for s in steps
        ]
        assert states == expected_states, f"{built.describe()}\n{[s.reason for s in result.statuses]}"
        pd.testing.assert_frame_equal(
            result.frame, built.frame, check_exact=True, obj=f"replay of seed {built.seed}"
        )
        source = ScriptSource(title="Demo daily data", filename=built.input_path.name, sha256="0" * 64)
        uses_sources = any(s.op in NEEDS_SOURCES for s in steps)
        text = recipe_script(
            f"Random recipe {built.seed}",
            source,
            steps,
            result.statuses,
            other_sources if uses_sources else None,
        )
        assert "hydroml" not in text and "import hydroml" not in text.lower()
        assert text.count("(turned off)") == sum(not s.enabled for s in steps), built.describe()
        assert text.count("skipped, does not fit") == expected_states.count("broken"), built.describe()
        script = tmp_path / f"recipe_{built.seed}.py"
        script.write_text(text)
        output = tmp_path / f"out_{built.seed}.parquet"
        jobs.append({"script": str(script), "input": str(built.input_path), "output": str(output)})
        expected[str(script)] = (built, result.frame, output)

    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    (tmp_path / "runner.py").write_text(RUNNER)
    report = tmp_path / "report.json"
    subprocess.run(
        [sys.executable, "-I", str(tmp_path / "runner.py"), str(tmp_path / "jobs.json"), str(report)],
        check=True,
        timeout=300,
        cwd=tmp_path,
    )
    outcome = json.loads(report.read_text())
    assert outcome["hydroml"] == [], "the scripts must not import hydroml"
    failures = []
    for script, (built, frame, output) in expected.items():
        if script in outcome["errors"]:
            failures.append(f"{built.describe()}\n  the script failed:\n{outcome['errors'][script]}")
            continue
        try:
            pd.testing.assert_frame_equal(pd.read_pickle(f"{output}.pickle"), frame, check_exact=True)
        except AssertionError as exc:
            failures.append(f"{built.describe()}\n  the script's frame differs: {exc}")
    assert not failures, f"{len(failures)} of {len(recipes)} recipes differ:\n\n" + "\n\n".join(failures)

    missing = set(OPERATIONS) - covered
    assert not missing, f"operations never applied by a random recipe: {sorted(missing)}"
    assert sum(len(r.steps) for r in recipes) >= 4 * len(recipes)
