"""What the experiment wizard asks of the data, answered next to the data so the Reflex state keeps small facts.

The wizard reads the chosen data once (a data source version, or a studio session's pinned recipe replayed) and
then asks several questions of it while the user goes through the steps: the columns and their kinds, the
problem type of a target, the columns that probably leak, whether a split works. The frame stays here, in a
small per-process cache keyed by the pinned data (never in Reflex state); a second server process, or a frame
pushed out of the cache, simply reads the data again. Every call re-checks the actor's access to the data.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd

from hydroml.services import datasources
from hydroml.services.auth import UserInfo
from hydroml.services.errors import InvalidInput
from hydroml.services.experiments import catalog, metrics, pipeline, splits, training
from hydroml.services.studio.operations.base import dtype_of

MAX_FRAMES = 2  # a user going back and forth between two data choices does not re-read either
COLUMN_KINDS = ("numeric", "text", "date", "boolean")
_KIND_OF_DTYPE = {"integer": "numeric", "float": "numeric", "boolean": "boolean", "datetime": "date"}
DEFAULT_METRICS = {
    "regression": ["nse", "kge", "pbias", "rmse", "mae", "r2"],
    "classification": ["accuracy", "f1_macro", "precision_macro", "recall_macro", "roc_auc"],
}
DEFAULT_PRIMARY = {"regression": "nse", "classification": "f1_macro"}

_frames: OrderedDict[str, pd.DataFrame] = OrderedDict()
_lock = threading.Lock()


# ------------------------------------------------------------------------------------------------ the data


def data_key(project_id, data: dict) -> str:
    """Identifies a data choice: the same key means the same rows."""
    parts = {k: data.get(k) for k in ("kind", "data_source_id", "version", "recipe_json")}
    return json.dumps({"project": str(project_id), **parts}, sort_keys=True, default=str)


def frame(actor: UserInfo, project_id, data: dict) -> pd.DataFrame:
    """The frame of a pinned data entry (``training.pin_data``), read once and then served from the cache."""
    if not isinstance(data, dict) or not data.get("kind"):
        raise InvalidInput("data", "Choose a data source or a studio session.")
    key = data_key(project_id, data)
    with _lock:
        cached = _frames.get(key)
        if cached is not None:
            _frames.move_to_end(key)
    if cached is not None:
        # The data is still linked to the project and the actor may still read it.
        datasources.version_file(actor, project_id, data["data_source_id"], int(data["version"]))
        return cached
    loaded = training.load_data(actor, project_id, data).frame
    with _lock:
        _frames[key] = loaded
        while len(_frames) > MAX_FRAMES:
            _frames.popitem(last=False)
    return loaded


def forget_frames() -> None:
    """Empty the cache (tests)."""
    with _lock:
        _frames.clear()


def column_kind(dtype: str) -> str:
    """A HydroML dtype name -> the wizard's filter kind: numeric, text, date or boolean."""
    return _KIND_OF_DTYPE.get(dtype, "text")


@dataclass(frozen=True)
class DataSummary:
    columns: list[tuple[str, str, str]]  # (name, dtype, kind) in column order
    rows: int
    time_column: str | None


def describe(actor: UserInfo, project_id, data: dict) -> DataSummary:
    data_frame = frame(actor, project_id, data)
    columns = []
    for name in data_frame.columns:
        dtype = dtype_of(data_frame[name])
        columns.append((str(name), dtype, column_kind(dtype)))
    return DataSummary(columns, len(data_frame), splits.detect_time_column(data_frame))


# ------------------------------------------------------------------------------------------------ target


@dataclass(frozen=True)
class TargetFacts:
    problem_type: str  # detected; "" when the column cannot be predicted
    error: str  # why it cannot ("" when it can)
    warnings: dict[str, str]  # every other column that probably leaks or carries nothing -> the reason


def target_facts(
    actor: UserInfo, project_id, data: dict, target: str, time_column: str | None
) -> TargetFacts:
    data_frame = frame(actor, project_id, data)
    if target not in data_frame.columns:
        raise InvalidInput("target", "Choose the column to predict.")
    try:
        detected, error = catalog.detect_problem_type(data_frame[target]), ""
    except InvalidInput as problem:
        detected, error = "", problem.message
    others = [str(c) for c in data_frame.columns if c != target]
    found = pipeline.feature_warnings(data_frame, target, others, time_column)
    return TargetFacts(detected, error, {w["column"]: w["reason"] for w in found})


def check_target(actor: UserInfo, project_id, spec: dict) -> None:
    """The target and features step: InvalidInput naming target, features or problem_type."""
    data_frame = frame(actor, project_id, spec.get("data") or {})
    target = str(spec.get("target") or "")
    if target not in data_frame.columns:
        raise InvalidInput("target", "Choose the column to predict.")
    problem_type = str(spec.get("problem_type") or "")
    if problem_type not in catalog.PROBLEM_TYPES:
        raise InvalidInput("problem_type", "Choose regression, binary or multiclass classification.")
    if problem_type == "regression":
        try:
            catalog.detect_problem_type(data_frame[target])
        except InvalidInput as problem:
            raise InvalidInput("target", problem.message) from None
    problems = pipeline.target_problems(data_frame, target, problem_type)
    if problems:
        raise InvalidInput("target", problems[0])
    features = [str(f) for f in spec.get("features") or []]
    if not features:
        raise InvalidInput("features", "Choose at least one feature column.")
    if target in features:
        raise InvalidInput("features", f"The target {target!r} cannot also be a feature.")
    pipeline.split_features(data_frame, features)  # dates and unknown columns, named


# ------------------------------------------------------------------------------------------------ split


def _number(texts: dict, name: str, label: str, *, whole: bool = True, optional: bool = False):
    raw = str(texts.get(name) or "").strip().replace(",", ".")
    if raw == "":
        if optional:
            return None
        raise InvalidInput(name, f"Enter the {label}.")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(name, f"The {label} must be a number.") from None
    if whole:
        if value != int(value):
            raise InvalidInput(name, f"The {label} must be a whole number.")
        return int(value)
    return value


def split_from_form(texts: dict, time_column: str | None, group_column: str | None) -> dict:
    """The split form's texts -> a SplitSpec dict (only the fields the strategy uses; test share in %)."""
    strategy = str(texts.get("strategy") or "")
    if strategy not in splits.STRATEGIES:
        raise InvalidInput("strategy", "Choose how to split the rows into training and test data.")
    split: dict = {"strategy": strategy}
    if strategy == "chronological_holdout" and texts.get("holdout_by") == "date":
        cut = str(texts.get("cut_date") or "").strip()
        if not cut:
            raise InvalidInput("cut_date", "Enter the first date of the test data, e.g. 2020-01-01.")
        split["cut_date"] = cut
    elif strategy in ("random_holdout", "stratified_holdout", "chronological_holdout"):
        percent = _number(texts, "test_percent", "test share", whole=False)
        if not 0 < percent < 100:
            raise InvalidInput("test_percent", "The test share must be between 0 and 100 %.")
        split["test_fraction"] = percent / 100
    if strategy in ("random_holdout", "stratified_holdout") or (
        strategy == "kfold" and texts.get("shuffle") == "true"
    ):
        split["seed"] = _number(texts, "seed", "random seed")
    if strategy in ("kfold", "time_series_cv", "group_kfold"):
        split["n_splits"] = _number(texts, "n_splits", "number of folds")
    if strategy == "kfold":
        split["shuffle"] = texts.get("shuffle") == "true"
    if strategy == "time_series_cv":
        split["window"] = "sliding" if texts.get("window") == "sliding" else "expanding"
        split["gap"] = _number(texts, "gap", "gap")
        split["test_size"] = _number(texts, "test_size", "test size", optional=True)
        if split["window"] == "sliding":
            split["max_train_size"] = _number(texts, "max_train_size", "maximum training size")
    if strategy in splits.TIME_AWARE:
        split["time_column"] = time_column or None
    if strategy == "group_kfold":
        split["group_column"] = group_column or None
    return splits.SplitSpec.from_dict(split).as_dict()


def check_preparation(actor: UserInfo, project_id, spec: dict) -> list[str]:
    """The preprocessing and split step: InvalidInput naming the field to fix; the split's warnings otherwise.

    A split that ignores time on data with a time column is refused until ``allow_shuffle`` is set."""
    data_frame = frame(actor, project_id, spec.get("data") or {})
    target = str(spec.get("target") or "")
    preprocessing = pipeline.PreprocessingSpec.from_dict(dict(spec.get("preprocessing") or {}))
    pipeline.check_preprocessing(
        data_frame,
        [str(f) for f in spec.get("features") or []],
        str(spec.get("problem_type") or ""),
        str(spec.get("model") or ""),
        preprocessing,
        target,
    )
    for name in ("time_column", "group_column"):
        column = spec.get(name)
        if column and column not in data_frame.columns:
            raise InvalidInput(name, f"There is no column named {column!r}.")
    split = splits.SplitSpec.from_dict(dict(spec.get("split") or {}))
    splits.make_folds(data_frame, split, target)  # InvalidInput naming the split field at fault
    notes = splits.warnings(split, data_frame, spec.get("time_column") or None)
    if notes and split.strategy in splits.IGNORES_TIME and not spec.get("allow_shuffle"):
        raise InvalidInput("allow_shuffle", notes[0])
    return notes


# ------------------------------------------------------------------------------------------------ the whole spec


def default_metrics(problem_type: str) -> tuple[list[str], str]:
    family = catalog.problem_family(problem_type)
    allowed = metrics.metrics_for(family)
    chosen = [k for k in DEFAULT_METRICS[family] if k in allowed]
    return chosen, DEFAULT_PRIMARY[family]


def check(actor: UserInfo, project_id, spec: dict) -> training.CheckedSpec:
    """Everything, as training will see it: InvalidInput whose field names the wizard step (or field) at fault."""
    data_frame = frame(actor, project_id, spec.get("data") or {})
    checked = training.check_spec(spec, data_frame)
    return checked
