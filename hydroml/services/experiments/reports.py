"""What the experiment pages show of runs: metric columns in reading order, ranking by a metric, the
comparison of several runs (best value per metric, parameters that differ) and the overlay of their predictions.

Plain functions over :class:`~hydroml.services.experiments.runs.RunInfo` values and summaries (the training
summary stored with each run: ``{"metrics": {key: {"mean", "std", "folds", ...}}, "primary": key, ...}``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hydroml.services.experiments import splits
from hydroml.services.experiments.metrics import METRICS
from hydroml.services.studio import charts as studio_charts

NAN = float("nan")
MISSING = "—"
OVERLAY_POINTS = 1_500  # per run: a few runs overlaid stay well under the websocket's message limit
LEAD_ORDER = {
    "regression": ("nse", "kge", "pbias", "rmse", "mae", "r2"),
    "classification": ("accuracy", "f1_macro", "roc_auc"),
}
SPEC_SECTIONS = ("params", "preprocessing", "split")


# ------------------------------------------------------------------------------------------------ values


def summary_metrics(summary: dict) -> dict[str, dict]:
    found = (summary or {}).get("metrics") or {}
    return found if isinstance(found, dict) else {}


def metric_mean(summary: dict, key: str) -> float:
    """The mean over folds of one metric (NaN when the run has none)."""
    entry = summary_metrics(summary).get(key)
    if not isinstance(entry, dict):
        return NAN
    try:
        value = float(entry.get("mean"))
    except (TypeError, ValueError):
        return NAN
    return value if math.isfinite(value) else NAN


def metric_std(summary: dict, key: str) -> float:
    entry = summary_metrics(summary).get(key)
    try:
        value = float(entry.get("std")) if isinstance(entry, dict) else NAN
    except (TypeError, ValueError):
        return NAN
    return value if math.isfinite(value) else NAN


def number(value: Any) -> str:
    """4 significant digits; a dash for a missing value."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return MISSING
    if not math.isfinite(value):
        return MISSING
    return f"{value:.4g}"


def metric_label(key: str) -> str:
    info = METRICS.get(key)
    return info.label if info else key


def metric_order(keys: Sequence[str]) -> list[str]:
    """The keys in reading order: the leading ones per problem type (NSE, KGE, PBIAS, RMSE, MAE, R² for
    regression; accuracy, F1, ROC AUC for classification), then the rest in the registry's order, then
    unknown keys by name."""
    wanted = set(keys)
    ordered: list[str] = []
    for lead in (*LEAD_ORDER["regression"], *LEAD_ORDER["classification"], *METRICS):
        if lead in wanted and lead not in ordered:
            ordered.append(lead)
    return ordered + sorted(wanted - set(ordered))


def metric_columns(summaries: Sequence[dict]) -> list[str]:
    """The metrics at least one of the runs has, in reading order."""
    present = {key for summary in summaries for key in summary_metrics(summary)}
    return metric_order(sorted(present))


def ranking_score(key: str, value: float) -> float:
    """Larger is better for every metric (see ``MetricInfo.ranking_score``); NaN for a missing value."""
    if value is None or not math.isfinite(value):
        return NAN
    info = METRICS.get(key)
    return info.ranking_score(value) if info else value


def rank_by_metric(items: Sequence, summary_of, key: str, *, best_first: bool = True) -> list:
    """`items` sorted by one metric, best first (or worst first); runs without the metric always last.
    The sort is stable, so equal values keep the incoming order."""
    scored = [(ranking_score(key, metric_mean(summary_of(item), key)), item) for item in items]
    valid = [pair for pair in scored if not math.isnan(pair[0])]
    missing = [item for score, item in scored if math.isnan(score)]
    valid.sort(key=lambda pair: pair[0], reverse=best_first)
    return [item for _, item in valid] + missing


def best_indexes(key: str, values: Sequence[float]) -> set[int]:
    """The positions holding the best value of a metric (ties all count); empty when none is valid."""
    scores = [ranking_score(key, v) for v in values]
    valid = [s for s in scores if not math.isnan(s)]
    if len(valid) == 0:
        return set()
    top = max(valid)
    return {i for i, s in enumerate(scores) if not math.isnan(s) and math.isclose(s, top, rel_tol=1e-12)}


# ------------------------------------------------------------------------------------------------ comparing


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return number(value)
    return str(value)


def spec_parameters(spec: dict) -> list[tuple[str, str, str]]:
    """(section, name, value as text) of everything a run was set up with, in a stable order."""
    spec = spec or {}
    rows: list[tuple[str, str, str]] = [
        ("Data", "data", _text((spec.get("data") or {}).get("label"))),
        ("Data", "target", _text(spec.get("target"))),
        ("Data", "features", _text(spec.get("features"))),
        ("Data", "problem type", _text(spec.get("problem_type"))),
    ]
    for column in ("time_column", "group_column"):
        if spec.get(column):
            rows.append(("Data", column.replace("_", " "), _text(spec.get(column))))
    rows.append(("Model", "model", _text(spec.get("model"))))
    names = {"params": "Model", "preprocessing": "Preprocessing", "split": "Split"}
    for section in SPEC_SECTIONS:
        values = spec.get(section) or {}
        if section == "split" and isinstance(values, dict):  # only what the chosen strategy reads
            used = ("strategy", *splits.STRATEGY_FIELDS.get(str(values.get("strategy")), tuple(values)))
            values = {k: v for k, v in values.items() if k in used}
        if isinstance(values, dict):
            rows.extend((names[section], str(k), _text(v)) for k, v in sorted(values.items()))
    if spec.get("primary_metric"):
        rows.append(("Metrics", "primary metric", metric_label(str(spec["primary_metric"]))))
    return rows


def differing_parameters(specs: Sequence[dict]) -> list[tuple[str, str, list[str]]]:
    """(section, name, value per run) of the parameters that are not the same in every run."""
    per_run = [{(s, n): v for s, n, v in spec_parameters(spec)} for spec in specs]
    keys: list[tuple[str, str]] = []
    for params in per_run:
        keys.extend(k for k in params if k not in keys)
    found = []
    for key in keys:
        values = [params.get(key, "") for params in per_run]
        if len(set(values)) > 1:
            found.append((key[0], key[1], [v or MISSING for v in values]))
    return found


def same_data(fingerprints: Sequence[str], data_specs: Sequence[dict]) -> bool:
    """True when every run trained on the same data: equal data fingerprints, or (before a fingerprint is
    known) the same data source version and recipe."""
    if all(fingerprints) and len(set(fingerprints)) == 1:
        return True

    def key(data: dict) -> tuple:
        data = data or {}
        return (data.get("data_source_id"), data.get("version"), data.get("recipe_json") or "")

    return not any(fingerprints) and len({key(d) for d in data_specs}) == 1


def _sample(count: int, limit: int) -> np.ndarray:
    if count <= limit:
        return np.arange(count)
    return np.linspace(0, count - 1, limit).round().astype(int)


def score_metrics(keys: Sequence[str]) -> list[str]:
    """The keys of scores on a 0..1 scale where higher is better (NSE, KGE, R², accuracy, F1, ROC AUC...):
    they share one axis in a bar chart; errors in target units (RMSE, MAE) and biases do not."""
    found = []
    for key in keys:
        info = METRICS.get(key)
        if info and info.greater_is_better and not info.best_at_optimal and info.optimal == 1.0:
            found.append(key)
    return found


def _recent(frame: pd.DataFrame, time_column: str, group: str | None, station) -> pd.DataFrame:
    """The most recent `OVERLAY_POINTS` rows of one station, in time order (a readable stretch of the
    hydrograph rather than a thinned-out 25 years)."""
    if group and group in frame.columns and station is not None:
        frame = frame[frame[group].astype("string") == str(station)]
    return frame.sort_values(time_column).tail(OVERLAY_POINTS)


def overlay_figure(
    names: Sequence[str],
    predictions: Sequence[pd.DataFrame],
    target: str,
    time_column: str = "",
    group_column: str = "",
) -> go.Figure | None:
    """The runs' predictions on one chart: observed and each run's predictions over time (a hydrograph of the
    most recent test rows of the largest station) when they share a time column, otherwise predicted against
    observed with the 1:1 line (each run sampled to `OVERLAY_POINTS` points). None when no run has usable
    predictions."""
    usable = [
        (name, frame)
        for name, frame in zip(names, predictions, strict=False)
        if frame is not None and {"observed", "predicted"} <= set(frame.columns) and len(frame)
    ]
    if not usable:
        return None
    over_time = bool(time_column) and all(time_column in frame.columns for _, frame in usable)
    fig = go.Figure()
    if over_time:
        _, first = usable[0]
        group = group_column if group_column and group_column in first.columns else None
        station = first[group].astype("string").value_counts().index[0] if group else None
        base = _recent(first, time_column, group, station)
        fig.add_trace(
            go.Scatter(
                x=base[time_column].to_numpy(),
                y=base["observed"].to_numpy(dtype=float),
                mode="lines",
                name="observed",
                line={"color": "#6b7280", "width": 2},
            )
        )
        for name, frame in usable:
            recent = _recent(frame, time_column, group, station)
            fig.add_trace(
                go.Scatter(
                    x=recent[time_column].to_numpy(),
                    y=recent["predicted"].to_numpy(dtype=float),
                    mode="lines",
                    name=name,
                    line={"width": 1.2},
                )
            )
        where = f" at {station}" if station is not None else ""
        title = f"Observed and predicted {target}{where}, the last {len(base):,} test rows"
        return studio_charts.styled(fig, title, time_column, target)
    low, high = math.inf, -math.inf
    for name, frame in usable:
        keep = _sample(len(frame), OVERLAY_POINTS)
        observed = frame["observed"].to_numpy(dtype=float)[keep]
        predicted = frame["predicted"].to_numpy(dtype=float)[keep]
        finite = np.concatenate([observed[np.isfinite(observed)], predicted[np.isfinite(predicted)]])
        if finite.size:
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
        fig.add_trace(
            go.Scattergl(
                x=observed,
                y=predicted,
                mode="markers",
                name=name,
                marker={"size": 4, "opacity": 0.5},
                hovertemplate=name + "<br>observed %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
            )
        )
    if math.isfinite(low):
        fig.add_trace(
            go.Scatter(x=[low, high], y=[low, high], mode="lines", name="1:1", line={"dash": "dash"})
        )
    return studio_charts.styled(
        fig, f"Predicted vs observed {target}", f"observed {target}", f"predicted {target}"
    )


def recipe_steps(recipe_json: str | None) -> int:
    """How many applied steps a pinned studio recipe holds (0 for none or an unreadable one)."""
    from hydroml.services.errors import ServiceError
    from hydroml.services.studio.recipe import Recipe

    try:
        return len(Recipe.from_json(recipe_json).applied)
    except (ServiceError, ValueError, TypeError, KeyError):
        return 0
