"""Train/test splits as explicit folds, so every run records exactly which rows it trained and tested on.

A `SplitSpec` (stored as JSON with the experiment) plus a table give a list of `Fold`s. Conventions:

- `Fold.train` / `Fold.test` are positions (`frame.iloc`) in the frame as given, sorted ascending, whatever
  order the strategy worked in. Sort by time yourself if a model needs the rows in time order.
- Time-aware strategies (`chronological_holdout`, `time_series_cv`) split on distinct timestamps: all rows that
  share a timestamp (e.g. several stations on one date) land on the same side, so for every fold
  max(time[train]) < min(time[test]), strictly. Rows with no time value are left out of every fold.
- `time_series_cv` counts `test_size`, `gap` and `max_train_size` in time steps (distinct timestamps); with one
  row per timestamp that is rows.
- Stratified holdout treats a missing target as one more class; group k-fold treats a missing group the same way.
  Every row therefore lands in exactly one side.
- `validate` lists every problem in words a user can read; `make_folds` raises `InvalidInput` for the first one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hydroml.services.errors import InvalidInput

STRATEGIES: dict[str, str] = {
    "random_holdout": "Random holdout",
    "stratified_holdout": "Stratified holdout (keeps class proportions)",
    "chronological_holdout": "Chronological holdout (test on the most recent data)",
    "kfold": "K-fold cross-validation",
    "time_series_cv": "Time-series cross-validation (always train on the past)",
    "group_kfold": "Group k-fold (e.g. leave stations out)",
}
_SHORT_NAMES = {
    "random_holdout": "a random holdout",
    "stratified_holdout": "a stratified holdout",
    "kfold": "shuffled k-fold",
}
# The settings each strategy reads (the others keep their defaults and mean nothing for it).
STRATEGY_FIELDS: dict[str, tuple[str, ...]] = {
    "random_holdout": ("test_fraction", "seed"),
    "stratified_holdout": ("test_fraction", "seed"),
    "chronological_holdout": ("time_column", "test_fraction", "cut_date"),
    "kfold": ("n_splits", "shuffle", "seed"),
    "time_series_cv": ("time_column", "n_splits", "window", "max_train_size", "gap", "test_size"),
    "group_kfold": ("group_column", "n_splits"),
}
TIME_AWARE = frozenset({"chronological_holdout", "time_series_cv"})
IGNORES_TIME = frozenset({"random_holdout", "stratified_holdout", "kfold"})
TIME_COLUMN_NAMES = ("date", "time", "datetime", "timestamp")


@dataclass(frozen=True, eq=False)
class Fold:
    index: int
    train: np.ndarray  # positions in the original frame, ascending
    test: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "train": self.train.tolist(), "test": self.test.tolist()}


@dataclass
class SplitSpec:
    strategy: str
    test_fraction: float | None = 0.2  # holdouts; for chronological_holdout, ignored when cut_date is set
    seed: int = 42
    time_column: str | None = None
    cut_date: str | None = (
        None  # chronological_holdout: test = rows with time >= cut_date (ISO text or number)
    )
    n_splits: int = 5
    shuffle: bool = False  # kfold
    window: str = "expanding"  # time_series_cv: expanding | sliding
    max_train_size: int | None = None  # time_series_cv sliding window, in time steps
    gap: int = 0  # time_series_cv: time steps left out between train and test
    test_size: int | None = None  # time_series_cv: time steps per test block; default steps // (n_splits + 1)
    group_column: str | None = None  # group_kfold

    version: ClassVar[int] = 1

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["cut_date"] is not None and not isinstance(data["cut_date"], str | int | float):
            data["cut_date"] = pd.Timestamp(data["cut_date"]).isoformat()
        return {"version": self.version, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SplitSpec:
        if not isinstance(data, dict) or "strategy" not in data:
            raise InvalidInput("strategy", "The split settings are incomplete: choose a split strategy.")
        values = {key: value for key, value in data.items() if key != "version"}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInput("strategy", f"Unknown split setting {unknown[0]!r}.")
        return cls(**values)


# ---------------------------------------------------------------------------------------------------------------
# Public functions


def detect_time_column(frame: pd.DataFrame) -> str | None:
    """The datetime column to order rows by: a date/time/datetime/timestamp one if there are several."""
    candidates = [str(c) for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if not candidates:
        return None
    for name in TIME_COLUMN_NAMES:
        for column in candidates:
            if column.lower() == name:
                return column
    for column in candidates:
        if any(name in column.lower() for name in TIME_COLUMN_NAMES):
            return column
    return candidates[0]


def validate(spec: SplitSpec, frame: pd.DataFrame, target: str | None = None) -> list[str]:
    """Every reason `make_folds` would refuse these settings on this table, in words a user can read."""
    return [message for _field, message in _problems(spec, frame, target)]


def warnings(spec: SplitSpec, frame: pd.DataFrame, time_column: str | None = None) -> list[str]:
    """Settings that work but may mislead: a split that ignores time on time-ordered data, rows without a time."""
    column = time_column if time_column in frame.columns else detect_time_column(frame)
    notes: list[str] = []
    if column is not None and spec.strategy in IGNORES_TIME:
        if spec.strategy == "kfold" and not spec.shuffle:
            how = "k-fold without shuffling still trains on later blocks of rows to test earlier ones"
        else:
            how = f"{_SHORT_NAMES[spec.strategy]} mixes rows regardless of '{column}'"
        notes.append(
            f"Rows from the future will be used to predict the past: {how}, so the scores will look better than "
            "a real forecast would. Use a chronological holdout or time-series cross-validation to measure "
            "forecasting skill."
        )
    if spec.strategy in TIME_AWARE and spec.time_column in frame.columns:
        missing = int(frame[spec.time_column].isna().sum())
        if missing:
            notes.append(
                f"{missing} row{'s' if missing != 1 else ''} with no value in '{spec.time_column}' "
                "will be left out of training and testing."
            )
    return notes


def make_folds(frame: pd.DataFrame, spec: SplitSpec, target: str | None = None) -> list[Fold]:
    """The folds for this table: one for a holdout, `n_splits` for cross-validation."""
    problems = _problems(spec, frame, target)
    if problems:
        field_name, message = problems[0]
        raise InvalidInput(field_name, message)
    n_rows = len(frame)
    if spec.strategy == "random_holdout":
        return [_random_holdout(n_rows, float(spec.test_fraction), spec.seed)]
    if spec.strategy == "stratified_holdout":
        classes = pd.factorize(frame[target], use_na_sentinel=False)[0]
        return [_stratified_holdout(classes, float(spec.test_fraction), spec.seed)]
    if spec.strategy == "kfold":
        return _kfold(n_rows, spec.n_splits, spec.shuffle, spec.seed)
    if spec.strategy == "group_kfold":
        groups = pd.factorize(frame[spec.group_column], use_na_sentinel=False)[0]
        return _group_kfold(groups, spec.n_splits)
    times, has_time = _time_values(frame[spec.time_column])
    step = _time_steps(times, has_time)
    if spec.strategy == "chronological_holdout":
        return [_chronological_holdout(step, spec, times, has_time, frame[spec.time_column])]
    return _time_series_cv(step, spec)


# ---------------------------------------------------------------------------------------------------------------
# Strategies


def _fold(index: int, train: np.ndarray, test: np.ndarray) -> Fold:
    return Fold(index, np.sort(train).astype(np.int64), np.sort(test).astype(np.int64))


def _holdout_size(n_rows: int, test_fraction: float) -> int:
    return min(max(int(round(test_fraction * n_rows)), 1), n_rows - 1)


def _random_holdout(n_rows: int, test_fraction: float, seed: int) -> Fold:
    order = np.random.default_rng(seed).permutation(n_rows)
    n_test = _holdout_size(n_rows, test_fraction)
    return _fold(0, order[n_test:], order[:n_test])


def _stratified_holdout(classes: np.ndarray, test_fraction: float, seed: int) -> Fold:
    """Each class gives floor or ceil of its exact share to the test set (so within one row of it), the
    remainders going to the classes with the largest fractional parts, and never all or none of its rows."""
    rng = np.random.default_rng(seed)
    class_ids, class_sizes = np.unique(classes, return_counts=True)
    exact = test_fraction * class_sizes
    n_test = np.floor(exact).astype(int)
    extra = _holdout_size(len(classes), test_fraction) - int(n_test.sum())
    if extra > 0:
        # Largest fractional part first; random order among equal parts so no class is always favoured.
        order = np.lexsort((rng.random(len(class_ids)), -(exact - n_test)))
        n_test[order[: min(extra, len(order))]] += 1
    n_test = np.clip(n_test, 1, class_sizes - 1)
    test_parts = []
    for class_id, size in zip(class_ids, n_test, strict=True):
        members = np.flatnonzero(classes == class_id)
        test_parts.append(rng.choice(members, size=size, replace=False))
    test = np.concatenate(test_parts)
    return _fold(0, np.setdiff1d(np.arange(len(classes)), test), test)


def _kfold(n_rows: int, n_splits: int, shuffle: bool, seed: int) -> list[Fold]:
    order = np.random.default_rng(seed).permutation(n_rows) if shuffle else np.arange(n_rows)
    blocks = np.array_split(order, n_splits)  # the first n_rows % n_splits blocks get one more row
    return [
        _fold(i, np.concatenate([b for j, b in enumerate(blocks) if j != i]), block)
        for i, block in enumerate(blocks)
    ]


def _group_kfold(groups: np.ndarray, n_splits: int) -> list[Fold]:
    """Largest groups first, each to the fold with the fewest rows so far: folds of similar size."""
    group_ids, group_sizes = np.unique(groups, return_counts=True)
    fold_rows = np.zeros(n_splits, dtype=int)
    fold_of_group = np.empty(len(group_ids), dtype=int)
    for g in np.argsort(-group_sizes, kind="stable"):
        target_fold = int(np.argmin(fold_rows))
        fold_of_group[g] = target_fold
        fold_rows[target_fold] += group_sizes[g]
    fold_of_row = fold_of_group[np.searchsorted(group_ids, groups)]
    return [
        _fold(i, np.flatnonzero(fold_of_row != i), np.flatnonzero(fold_of_row == i)) for i in range(n_splits)
    ]


def _time_steps(times: np.ndarray, has_time: np.ndarray) -> np.ndarray:
    """For each row, the rank of its timestamp among the distinct timestamps (0 = earliest); -1 without time."""
    step = np.full(len(times), -1, dtype=np.int64)
    step[has_time] = np.unique(times[has_time], return_inverse=True)[1].ravel()
    return step


def _chronological_holdout(
    step: np.ndarray, spec: SplitSpec, times: np.ndarray, has_time: np.ndarray, column: pd.Series
) -> Fold:
    if spec.cut_date is not None:
        cut = _cut_value(spec.cut_date, column)
        first_test_step = int(step[has_time][times[has_time] >= cut].min())
    else:
        # The boundary between two distinct timestamps whose test share is closest to the requested fraction.
        steps_count = np.bincount(step[has_time])
        rows_from_step = np.cumsum(steps_count[::-1])[::-1]  # rows at or after each step
        wanted = float(spec.test_fraction) * int(has_time.sum())
        candidates = np.arange(1, len(steps_count))
        first_test_step = int(candidates[np.argmin(np.abs(rows_from_step[candidates] - wanted))])
    test = np.flatnonzero(step >= first_test_step)
    train = np.flatnonzero((step >= 0) & (step < first_test_step))
    return _fold(0, train, test)


def _time_series_cv(step: np.ndarray, spec: SplitSpec) -> list[Fold]:
    n_steps = int(step.max()) + 1
    test_size = _ts_test_size(spec, n_steps)
    folds = []
    for i in range(spec.n_splits):
        test_start = n_steps - (spec.n_splits - i) * test_size
        train_end = test_start - spec.gap
        train_start = max(0, train_end - spec.max_train_size) if spec.window == "sliding" else 0
        test = np.flatnonzero((step >= test_start) & (step < test_start + test_size))
        train = np.flatnonzero((step >= train_start) & (step < train_end))
        folds.append(_fold(i, train, test))
    return folds


def _ts_test_size(spec: SplitSpec, n_steps: int) -> int:
    return spec.test_size if spec.test_size is not None else n_steps // (spec.n_splits + 1)


# ---------------------------------------------------------------------------------------------------------------
# Time values


def _time_values(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sortable values (datetime64 in UTC, or float) and which rows have one. Raises ValueError for non-times."""
    if pd.api.types.is_bool_dtype(column):
        raise ValueError("true/false values are not times")
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        return values, ~np.isnan(values)
    if not pd.api.types.is_datetime64_any_dtype(column):
        column = pd.to_datetime(column, errors="raise", format="mixed")
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    has_time = column.notna().to_numpy()
    return column.to_numpy(), has_time


def _cut_value(cut: Any, column: pd.Series) -> Any:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return float(cut)
    stamp = pd.Timestamp(cut)
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        stamp = stamp.tz_localize(column.dt.tz) if stamp.tzinfo is None else stamp
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    elif stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_datetime64()


def _describe_time(value: Any) -> str:
    if isinstance(value, np.datetime64):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat(sep=" ")
    return f"{value:g}"


# ---------------------------------------------------------------------------------------------------------------
# Validation


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _problems(spec: SplitSpec, frame: pd.DataFrame, target: str | None) -> list[tuple[str, str]]:
    if spec.strategy not in STRATEGIES:
        return [
            ("strategy", f"Unknown split strategy {spec.strategy!r}. Choose one of: {', '.join(STRATEGIES)}.")
        ]
    n_rows = len(frame)
    if n_rows < 2:
        return [
            ("frame", f"The table has {n_rows} row{'' if n_rows == 1 else 's'}; a split needs at least 2.")
        ]
    check = {
        "random_holdout": _random_problems,
        "stratified_holdout": _stratified_problems,
        "chronological_holdout": _chronological_problems,
        "kfold": _kfold_problems,
        "time_series_cv": _time_series_problems,
        "group_kfold": _group_problems,
    }[spec.strategy]
    return check(spec, frame, target)


def _fraction_problems(spec: SplitSpec) -> list[tuple[str, str]]:
    fraction = spec.test_fraction
    if not _is_number(fraction) or not 0 < fraction < 1 or math.isnan(fraction):
        return [("test_fraction", "The test share must be between 0 and 1 (for example 0.2 for 20 %).")]
    return []


def _n_splits_problems(spec: SplitSpec, n_units: int, unit: str) -> list[tuple[str, str]]:
    if not _is_int(spec.n_splits) or spec.n_splits < 2:
        return [("n_splits", "The number of folds must be a whole number of at least 2.")]
    if n_units < spec.n_splits:
        return [
            (
                "n_splits",
                f"{spec.n_splits} folds need at least {spec.n_splits} {unit}; the table has {n_units}.",
            )
        ]
    return []


def _random_problems(spec: SplitSpec, frame: pd.DataFrame, target: str | None) -> list[tuple[str, str]]:
    return _fraction_problems(spec) + _seed_problems(spec)


def _seed_problems(spec: SplitSpec) -> list[tuple[str, str]]:
    if not _is_int(spec.seed) or spec.seed < 0:
        return [("seed", "The random seed must be a whole number of 0 or more.")]
    return []


def _stratified_problems(spec: SplitSpec, frame: pd.DataFrame, target: str | None) -> list[tuple[str, str]]:
    problems = _fraction_problems(spec) + _seed_problems(spec)
    if not target:
        return [
            *problems,
            ("target", "A stratified split needs the target column: choose what to predict first."),
        ]
    if target not in frame.columns:
        return [*problems, ("target", f"The target column '{target}' is not in the table.")]
    counts = frame[target].value_counts(dropna=False)
    if len(counts) < 2:
        problems.append(
            ("target", f"'{target}' has a single value; there are no classes to keep in proportion.")
        )
    elif len(counts) > len(frame) / 2:
        problems.append(
            (
                "target",
                f"'{target}' has {len(counts)} different values in {len(frame)} rows: stratification is for "
                "classes. Use a random holdout for a numeric target.",
            )
        )
    elif counts.min() < 2:
        rare = counts.index[counts.to_numpy() < 2]
        names = ", ".join("(missing)" if pd.isna(v) else repr(v) for v in rare[:5])
        problems.append(
            (
                "target",
                f"Stratification needs at least 2 rows per class (one to train, one to test); class {names} "
                f"{'has' if len(rare) == 1 else 'have'} only 1. Merge rare classes or use a random holdout.",
            )
        )
    return problems


def _kfold_problems(spec: SplitSpec, frame: pd.DataFrame, target: str | None) -> list[tuple[str, str]]:
    problems = _n_splits_problems(spec, len(frame), "rows")
    if not isinstance(spec.shuffle, bool):
        problems.append(("shuffle", "Shuffle must be on or off."))
    return problems + (_seed_problems(spec) if spec.shuffle else [])


def _group_problems(spec: SplitSpec, frame: pd.DataFrame, target: str | None) -> list[tuple[str, str]]:
    if not spec.group_column:
        return [("group_column", "Group k-fold needs a group column (for example the station).")]
    if spec.group_column not in frame.columns:
        return [("group_column", f"The group column '{spec.group_column}' is not in the table.")]
    n_groups = int(frame[spec.group_column].nunique(dropna=False))
    if n_groups < 2:
        return [
            ("group_column", f"'{spec.group_column}' has fewer than 2 groups; there is nothing to hold out.")
        ]
    return _n_splits_problems(spec, n_groups, f"groups in '{spec.group_column}'")


def _time_column_problems(spec: SplitSpec, frame: pd.DataFrame) -> tuple[list[tuple[str, str]], Any]:
    """Problems with the time column, and (times, has_time, step) when it is usable."""
    if not spec.time_column:
        return [("time_column", "This split needs a date/time column to order the rows.")], None
    if spec.time_column not in frame.columns:
        return [("time_column", f"The time column '{spec.time_column}' is not in the table.")], None
    try:
        times, has_time = _time_values(frame[spec.time_column])
    except (ValueError, TypeError, OverflowError):
        return [("time_column", f"'{spec.time_column}' does not hold dates or times.")], None
    step = _time_steps(times, has_time)
    n_steps = int(step.max()) + 1
    if n_steps < 2:
        message = f"'{spec.time_column}' has fewer than 2 distinct times; the rows cannot be split by time."
        return [("time_column", message)], None
    return [], (times, has_time, step)


def _chronological_problems(
    spec: SplitSpec, frame: pd.DataFrame, target: str | None
) -> list[tuple[str, str]]:
    problems, usable = _time_column_problems(spec, frame)
    if spec.cut_date is None:
        return problems + _fraction_problems(spec)
    if usable is None:
        return problems
    times, has_time, _step = usable
    try:
        cut = _cut_value(spec.cut_date, frame[spec.time_column])
    except (ValueError, TypeError, OverflowError):
        return [*problems, ("cut_date", f"The cut date {spec.cut_date!r} is not a date.")]
    valid = times[has_time]
    first, last = valid.min(), valid.max()
    if not first < cut <= last:
        problems.append(
            (
                "cut_date",
                f"The cut date must leave rows on both sides: after {_describe_time(first)} and no later than "
                f"{_describe_time(last)}.",
            )
        )
    return problems


def _time_series_problems(spec: SplitSpec, frame: pd.DataFrame, target: str | None) -> list[tuple[str, str]]:
    problems, usable = _time_column_problems(spec, frame)
    if spec.window not in ("expanding", "sliding"):
        problems.append(("window", "The training window must be expanding or sliding."))
    if spec.window == "sliding" and (not _is_int(spec.max_train_size) or spec.max_train_size < 1):
        problems.append(
            ("max_train_size", "A sliding window needs a maximum training size of at least 1 time step.")
        )
    if not _is_int(spec.gap) or spec.gap < 0:
        problems.append(("gap", "The gap must be a whole number of time steps, 0 or more."))
    if spec.test_size is not None and (not _is_int(spec.test_size) or spec.test_size < 1):
        problems.append(("test_size", "The test size must be a whole number of time steps, at least 1."))
    if not _is_int(spec.n_splits) or spec.n_splits < 2:
        problems.append(("n_splits", "The number of folds must be a whole number of at least 2."))
    if problems or usable is None:
        return problems
    n_steps = int(usable[2].max()) + 1
    test_size = _ts_test_size(spec, n_steps)
    needed = spec.n_splits * max(test_size, 1) + spec.gap + 1
    if test_size < 1 or n_steps < needed:
        problems.append(
            (
                "n_splits",
                f"Not enough distinct times in '{spec.time_column}': {spec.n_splits} folds of "
                f"{max(test_size, 1)} time step{'s' if max(test_size, 1) != 1 else ''}"
                f"{f' with a gap of {spec.gap}' if spec.gap else ''} need at least {needed}; the table has "
                f"{n_steps}.",
            )
        )
    return problems
