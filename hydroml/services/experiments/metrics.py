"""Model scores for the run pages and the leaderboard: regression, hydrology and classification metrics.

One registry (`METRICS`) says how each score reads (label, better direction, optimum), so the pages, the
leaderboard and the fold summaries never hard-code a metric. Conventions, chosen once here:

- Rows where the observed or predicted value is missing (NaN, None, and for regression also +/-inf) are dropped
  before computing; `evaluate` reports how many. A metric that cannot be computed on what is left (a constant
  observed series for NSE, a single class for ROC AUC, no rows at all) is NaN, never an exception. Bad calls
  (different lengths, empty input, text where numbers are expected) raise `InvalidInput`.
- `r2` is the coefficient of determination as in scikit-learn (numerically equal to NSE); it is NOT the squared
  Pearson correlation that HydroErr calls `r_squared`.
- `mape` is in percent and ignores rows whose observed value is 0 (NaN if no row is left).
- `bias` is mean(predicted - observed): positive means the model overestimates.
- `pbias` is 100 * sum(sim - obs) / sum(obs): positive means overestimation (the hydroGOF convention). Moriasi
  et al. (2007) use the opposite sign (obs - sim). HydroErr 2.0 has no PBIAS; the tests check the relation
  pbias = 100 * HydroErr.me(sim, obs) / mean(obs).
- `log_nse` is NSE on log(x + eps) with eps = mean(observed) / 100 (Pushpalatha et al., 2012), which keeps zero
  flows finite without dominating low flows. Negative values (impossible for flow, possible from a regression
  model) are treated as 0 before the log; NaN when mean(observed) <= 0.
- `kge` is Kling-Gupta 2009 with r (Pearson), alpha = std(sim) / std(obs), beta = mean(sim) / mean(obs).
- Classification probabilities: `proba` columns follow `labels` (as a model's `classes_`); a one-dimensional
  `proba` is the probability of the positive class `labels[1]`. Precision, recall and F1 average over the classes
  present in the observed or predicted values (scikit-learn's default) and count 0 when a class is never
  predicted (zero_division=0).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from hydroml.services.errors import InvalidInput

ProblemType = Literal["regression", "classification"]
PROBLEM_TYPES: tuple[str, ...] = ("regression", "classification")
NAN = float("nan")


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    problem_types: tuple[str, ...]
    greater_is_better: bool
    needs_proba: bool
    optimal: float
    description: str
    # True for scores whose best value is a target, not an end of the scale (bias 0, KGE beta 1):
    # rank them by the distance to `optimal`, whatever `greater_is_better` says.
    best_at_optimal: bool = False

    def ranking_score(self, value: float) -> float:
        """A number where larger is always better, to sort runs by this metric (NaN stays NaN)."""
        if self.best_at_optimal:
            return -abs(value - self.optimal)
        return value if self.greater_is_better else -value

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "problem_types": list(self.problem_types),
            "greater_is_better": self.greater_is_better,
            "needs_proba": self.needs_proba,
            "optimal": self.optimal,
            "description": self.description,
            "best_at_optimal": self.best_at_optimal,
        }


_REG = ("regression",)
_CLS = ("classification",)
_INF = float("inf")

METRICS: dict[str, MetricInfo] = {
    info.key: info
    for info in [
        MetricInfo("r2", "R²", _REG, True, False, 1.0, "Coefficient of determination (scikit-learn)."),
        MetricInfo("rmse", "RMSE", _REG, False, False, 0.0, "Root mean squared error, in target units."),
        MetricInfo("mae", "MAE", _REG, False, False, 0.0, "Mean absolute error, in target units."),
        MetricInfo(
            "mape", "MAPE (%)", _REG, False, False, 0.0, "Mean absolute % error; rows observed 0 skipped."
        ),
        MetricInfo(
            "bias", "Bias", _REG, False, False, 0.0, "Mean of predicted - observed; > 0 overestimates.", True
        ),
        MetricInfo("nse", "NSE", _REG, True, False, 1.0, "Nash-Sutcliffe efficiency."),
        MetricInfo("log_nse", "log NSE", _REG, True, False, 1.0, "NSE of log(x + mean(obs)/100): low flows."),
        MetricInfo("kge", "KGE", _REG, True, False, 1.0, "Kling-Gupta efficiency (2009)."),
        MetricInfo("kge_r", "KGE r", _REG, True, False, 1.0, "Pearson correlation (KGE component)."),
        MetricInfo(
            "kge_alpha", "KGE α", _REG, False, False, 1.0, "std(sim) / std(obs) (KGE component).", True
        ),
        MetricInfo(
            "kge_beta", "KGE β", _REG, False, False, 1.0, "mean(sim) / mean(obs) (KGE component).", True
        ),
        MetricInfo(
            "pbias", "PBIAS (%)", _REG, False, False, 0.0, "100·Σ(sim-obs)/Σobs; > 0 overestimates.", True
        ),
        MetricInfo("accuracy", "Accuracy", _CLS, True, False, 1.0, "Share of rows predicted correctly."),
        MetricInfo(
            "precision_macro", "Precision (macro)", _CLS, True, False, 1.0, "Unweighted mean over classes."
        ),
        MetricInfo("recall_macro", "Recall (macro)", _CLS, True, False, 1.0, "Unweighted mean over classes."),
        MetricInfo("f1_macro", "F1 (macro)", _CLS, True, False, 1.0, "Unweighted mean over classes."),
        MetricInfo(
            "precision_weighted", "Precision (weighted)", _CLS, True, False, 1.0, "Weighted by class size."
        ),
        MetricInfo("recall_weighted", "Recall (weighted)", _CLS, True, False, 1.0, "Weighted by class size."),
        MetricInfo("f1_weighted", "F1 (weighted)", _CLS, True, False, 1.0, "Weighted by class size."),
        MetricInfo(
            "roc_auc", "ROC AUC", _CLS, True, True, 1.0, "Binary, or one-vs-rest macro for several classes."
        ),
        MetricInfo(
            "log_loss", "Log loss", _CLS, False, True, 0.0, "Cross-entropy of the predicted probabilities."
        ),
    ]
}


def metrics_for(problem_type: str) -> list[str]:
    """The metric keys that apply to a problem type, in display order."""
    _check_problem_type(problem_type)
    return [key for key, info in METRICS.items() if problem_type in info.problem_types]


@dataclass
class Evaluation:
    values: dict[str, float]
    rows_used: int
    rows_dropped: int  # rows left out because a value (or a probability) was missing


def compute(
    problem_type: str,
    y_true: Any,
    y_pred: Any,
    proba: Any = None,
    labels: Sequence[Any] | None = None,
    keys: Iterable[str] | None = None,
) -> dict[str, float]:
    """The requested metrics (default: all for the problem type) as plain floats, NaN where undefined.

    Without `proba`, the default keys leave out the metrics that need probabilities; asked for explicitly, they
    are NaN.
    """
    return evaluate(problem_type, y_true, y_pred, proba=proba, labels=labels, keys=keys).values


def evaluate(
    problem_type: str,
    y_true: Any,
    y_pred: Any,
    proba: Any = None,
    labels: Sequence[Any] | None = None,
    keys: Iterable[str] | None = None,
) -> Evaluation:
    """Like `compute`, also saying how many rows were used and how many were dropped as missing."""
    selected = _select_keys(problem_type, keys, has_proba=proba is not None)
    if problem_type == "regression":
        return _evaluate_regression(y_true, y_pred, selected)
    return _evaluate_classification(y_true, y_pred, proba, labels, selected)


# ---------------------------------------------------------------------------------------------------------------
# Regression and hydrology


def _evaluate_regression(y_true: Any, y_pred: Any, keys: list[str]) -> Evaluation:
    observed = _as_float_array(y_true, "y_true", "observed values")
    predicted = _as_float_array(y_pred, "y_pred", "predicted values")
    _check_lengths(observed, predicted)
    keep = np.isfinite(observed) & np.isfinite(predicted)
    obs, sim = observed[keep], predicted[keep]
    values = {key: (_REGRESSION[key](obs, sim) if obs.size else NAN) for key in keys}
    return Evaluation(values, rows_used=int(obs.size), rows_dropped=int((~keep).sum()))


def _as_float_array(values: Any, field_name: str, what: str) -> np.ndarray:
    if values is None:
        raise InvalidInput(field_name, f"No {what} were given.")
    if np.ndim(values) != 1:
        raise InvalidInput(field_name, f"The {what} must be a single column of numbers.")
    try:
        array = pd.Series(values).astype("float64").to_numpy()
    except (TypeError, ValueError):
        raise InvalidInput(field_name, f"The {what} must be numbers; some of them are text.") from None
    if array.size == 0:
        raise InvalidInput(field_name, f"There are no {what} to score.")
    return array


def _check_lengths(observed: np.ndarray, predicted: np.ndarray) -> None:
    if len(observed) != len(predicted):
        raise InvalidInput(
            "y_pred",
            f"There are {len(predicted)} predicted values for {len(observed)} observed values; "
            "they must match row for row.",
        )


def _sum_squares_about_mean(values: np.ndarray) -> float:
    return float(np.sum((values - values.mean()) ** 2))


def _nse(obs: np.ndarray, sim: np.ndarray) -> float:
    spread = _sum_squares_about_mean(obs)
    if spread == 0.0:  # a constant observed series: no variance to explain
        return NAN
    return 1.0 - float(np.sum((sim - obs) ** 2)) / spread


def _log_nse(obs: np.ndarray, sim: np.ndarray) -> float:
    eps = float(obs.mean()) / 100.0
    if not eps > 0.0:
        return NAN
    return _nse(np.log(np.clip(obs, 0.0, None) + eps), np.log(np.clip(sim, 0.0, None) + eps))


def _mape(obs: np.ndarray, sim: np.ndarray) -> float:
    nonzero = obs != 0
    if not nonzero.any():
        return NAN
    return float(100.0 * np.mean(np.abs((sim[nonzero] - obs[nonzero]) / obs[nonzero])))


def _pbias(obs: np.ndarray, sim: np.ndarray) -> float:
    total = float(obs.sum())
    if total == 0.0:
        return NAN
    return 100.0 * float(np.sum(sim - obs)) / total


def _pearson(obs: np.ndarray, sim: np.ndarray) -> float:
    obs_dev, sim_dev = obs - obs.mean(), sim - sim.mean()
    denominator = math.sqrt(float(np.sum(obs_dev**2)) * float(np.sum(sim_dev**2)))
    if denominator == 0.0:
        return NAN
    return float(np.sum(obs_dev * sim_dev)) / denominator


def _kge_alpha(obs: np.ndarray, sim: np.ndarray) -> float:
    obs_std = float(obs.std())
    return float(sim.std()) / obs_std if obs_std > 0 else NAN


def _kge_beta(obs: np.ndarray, sim: np.ndarray) -> float:
    obs_mean = float(obs.mean())
    return float(sim.mean()) / obs_mean if obs_mean != 0 else NAN


def _kge(obs: np.ndarray, sim: np.ndarray) -> float:
    r, alpha, beta = _pearson(obs, sim), _kge_alpha(obs, sim), _kge_beta(obs, sim)
    return 1.0 - math.sqrt((r - 1.0) ** 2 + (alpha - 1.0) ** 2 + (beta - 1.0) ** 2)  # NaN propagates


_REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "r2": _nse,
    "rmse": lambda obs, sim: math.sqrt(float(np.mean((sim - obs) ** 2))),
    "mae": lambda obs, sim: float(np.mean(np.abs(sim - obs))),
    "mape": _mape,
    "bias": lambda obs, sim: float(np.mean(sim - obs)),
    "nse": _nse,
    "log_nse": _log_nse,
    "kge": _kge,
    "kge_r": _pearson,
    "kge_alpha": _kge_alpha,
    "kge_beta": _kge_beta,
    "pbias": _pbias,
}


# ---------------------------------------------------------------------------------------------------------------
# Classification


@dataclass
class ConfusionMatrix:
    labels: list[Any]  # row i / column j are labels[i] / labels[j]
    counts: list[list[int]]  # rows: observed class, columns: predicted class

    def as_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "counts": [list(row) for row in self.counts]}


def confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[Any] | None = None) -> ConfusionMatrix:
    """Counts of observed (rows) against predicted (columns) classes, in the order of `labels`.

    Without `labels`, the classes seen in either column, sorted. Rows with a missing value are left out.
    """
    observed, predicted = _as_label_array(y_true, "y_true"), _as_label_array(y_pred, "y_pred")
    _check_lengths(observed, predicted)
    keep = ~(pd.isna(observed) | pd.isna(predicted))
    class_labels = _class_labels(_present(observed), _present(predicted), labels, proba_columns=None)
    observed, predicted = observed[keep], predicted[keep]
    observed, predicted = _typed(observed), _typed(predicted)
    counts = skm.confusion_matrix(observed, predicted, labels=class_labels) if observed.size else None
    if counts is None:
        counts = np.zeros((len(class_labels), len(class_labels)), dtype=int)
    return ConfusionMatrix(
        labels=[_plain(label) for label in class_labels], counts=counts.astype(int).tolist()
    )


def _evaluate_classification(
    y_true: Any, y_pred: Any, proba: Any, labels: Sequence[Any] | None, keys: list[str]
) -> Evaluation:
    observed, predicted = _as_label_array(y_true, "y_true"), _as_label_array(y_pred, "y_pred")
    _check_lengths(observed, predicted)
    keep = ~(pd.isna(observed) | pd.isna(predicted))
    probabilities = _as_proba_array(proba, len(observed)) if proba is not None else None
    proba_columns = None
    if probabilities is not None:
        proba_columns = 2 if probabilities.ndim == 1 else probabilities.shape[1]
        keep &= ~np.isnan(probabilities).reshape(len(observed), -1).any(axis=1)
        probabilities = probabilities[keep]
    # Classes come from every non-missing value, including rows dropped for a missing partner value.
    class_labels = _class_labels(_present(observed), _present(predicted), labels, proba_columns)
    observed, predicted = observed[keep], predicted[keep]
    observed, predicted = _typed(observed), _typed(predicted)
    values: dict[str, float] = {}
    for key in keys:
        if observed.size == 0 or (METRICS[key].needs_proba and probabilities is None):
            values[key] = NAN
        elif key == "roc_auc":
            values[key] = _roc_auc(observed, probabilities, class_labels)
        elif key == "log_loss":
            values[key] = _quietly(lambda: skm.log_loss(observed, probabilities, labels=class_labels))
        else:
            values[key] = _LABEL_METRICS[key](observed, predicted)
    return Evaluation(values, rows_used=int(observed.size), rows_dropped=int((~keep).sum()))


def _as_label_array(values: Any, field_name: str) -> np.ndarray:
    what = "observed classes" if field_name == "y_true" else "predicted classes"
    if values is None:
        raise InvalidInput(field_name, f"No {what} were given.")
    if np.ndim(values) != 1:
        raise InvalidInput(field_name, f"The {what} must be a single column.")
    array = pd.Series(values).to_numpy(dtype=object, na_value=None)
    array = np.array([None if _missing(v) else _plain(v) for v in array], dtype=object)
    if array.size == 0:
        raise InvalidInput(field_name, f"There are no {what} to score.")
    return array


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def _present(labels: np.ndarray) -> np.ndarray:
    return labels[~pd.isna(labels)]


def _typed(labels: np.ndarray) -> np.ndarray:
    """An object array of labels as numbers or strings again: scikit-learn does not score object arrays of ints."""
    return np.array(labels.tolist()) if labels.size else labels


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones, so labels compare, sort and serialise predictably."""
    return value.item() if isinstance(value, np.generic) else value


def _as_proba_array(proba: Any, rows: int) -> np.ndarray:
    try:
        array = np.asarray(proba, dtype="float64")
    except (TypeError, ValueError):
        raise InvalidInput("proba", "The predicted probabilities must be numbers.") from None
    if array.ndim not in (1, 2):
        raise InvalidInput("proba", "The predicted probabilities must be one column or one column per class.")
    if len(array) != rows:
        raise InvalidInput(
            "proba",
            f"There are {len(array)} rows of probabilities for {rows} observed values; they must match.",
        )
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    return array


def _class_labels(
    observed: np.ndarray, predicted: np.ndarray, labels: Sequence[Any] | None, proba_columns: int | None
) -> list[Any]:
    seen = list(dict.fromkeys([*observed.tolist(), *predicted.tolist()]))
    if len({isinstance(v, str) for v in seen}) > 1:
        raise InvalidInput(
            "y_pred",
            "Observed and predicted classes mix text and numbers; use the same kind of values for both.",
        )
    if labels is not None:
        class_labels = [_plain(label) for label in labels]
        unknown = [v for v in seen if v not in class_labels]
        if unknown:
            raise InvalidInput(
                "labels", f"Class {unknown[0]!r} appears in the data but not in the class labels."
            )
    else:
        try:
            class_labels = sorted(seen)
        except TypeError:
            class_labels = seen
    if proba_columns is not None and len(class_labels) != proba_columns:
        if labels is None and len(class_labels) < proba_columns:
            raise InvalidInput(
                "labels",
                f"The model gives probabilities for {proba_columns} classes but the data shows "
                f"{len(class_labels)}; pass the class labels in the model's order.",
            )
        raise InvalidInput(
            "proba", f"There are {proba_columns} probability columns for {len(class_labels)} classes."
        )
    return class_labels


def _roc_auc(observed: np.ndarray, probabilities: np.ndarray, class_labels: list[Any]) -> float:
    if len(class_labels) == 2:
        positive = probabilities if probabilities.ndim == 1 else probabilities[:, 1]
        is_positive = np.array([v == class_labels[1] for v in observed])
        return _quietly(lambda: skm.roc_auc_score(is_positive, positive))
    return _quietly(
        lambda: skm.roc_auc_score(
            observed, probabilities, multi_class="ovr", average="macro", labels=class_labels
        )
    )


def _quietly(score: Callable[[], float]) -> float:
    """A scikit-learn score, or NaN when the data cannot define it (one class only, a class never observed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(score())
    except ValueError:
        return NAN
    return value


def _label_metric(scorer: Callable[..., float], **options: Any) -> Callable[[np.ndarray, np.ndarray], float]:
    return lambda observed, predicted: _quietly(lambda: scorer(observed, predicted, **options))


_LABEL_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _label_metric(skm.accuracy_score),
    **{
        f"{name}_{average}": _label_metric(scorer, average=average, zero_division=0)
        for name, scorer in (
            ("precision", skm.precision_score),
            ("recall", skm.recall_score),
            ("f1", skm.f1_score),
        )
        for average in ("macro", "weighted")
    },
}


# ---------------------------------------------------------------------------------------------------------------
# Keys, folds and groups


def _check_problem_type(problem_type: str) -> None:
    if problem_type not in PROBLEM_TYPES:
        raise InvalidInput(
            "problem_type", f"Unknown problem type {problem_type!r}; use regression or classification."
        )


def _select_keys(problem_type: str, keys: Iterable[str] | None, has_proba: bool) -> list[str]:
    available = metrics_for(problem_type)
    if keys is None:
        return [key for key in available if has_proba or not METRICS[key].needs_proba]
    selected = list(keys)
    for key in selected:
        if key not in available:
            raise InvalidInput(
                "keys", f"{key!r} is not a {problem_type} metric. Available: {', '.join(available)}."
            )
    return selected


def summarize_folds(fold_metrics: list[dict[str, float]]) -> dict[str, dict[str, Any]]:
    """Per metric: mean and standard deviation over the folds, and the per-fold values.

    The standard deviation is the sample one (ddof=1): the folds are a sample of the splits we could have made, and
    one fold gives no spread (NaN). Folds where a metric is NaN, or missing, are left out of the mean and std
    (`n_valid` says how many counted); `folds` keeps one value per fold, NaN where there was none.
    """
    keys = list(dict.fromkeys(key for fold in fold_metrics for key in fold))
    summary: dict[str, dict[str, Any]] = {}
    for key in keys:
        per_fold = [float(fold.get(key, NAN)) for fold in fold_metrics]
        valid = np.array([v for v in per_fold if not math.isnan(v)], dtype=float)
        summary[key] = {
            "mean": float(valid.mean()) if valid.size else NAN,
            "std": float(valid.std(ddof=1)) if valid.size > 1 else NAN,
            "folds": per_fold,
            "n_folds": len(per_fold),
            "n_valid": int(valid.size),
        }
    return summary


def per_group(
    problem_type: str,
    frame: pd.DataFrame,
    keys: Iterable[str] | None = None,
    *,
    group_column: str = "group",
    true_column: str = "y_true",
    pred_column: str = "y_pred",
    proba_columns: Sequence[str] | None = None,
    labels: Sequence[Any] | None = None,
) -> list[dict[str, Any]]:
    """The metrics for each value of `group_column` (e.g. per station), sorted by group.

    Each entry: {"group": value, "rows": rows used, "dropped": rows with a missing value, **metrics}. Rows with no
    group value form one group whose "group" is None.
    """
    selected = None if keys is None else list(keys)
    missing = [
        c for c in (group_column, true_column, pred_column, *(proba_columns or [])) if c not in frame.columns
    ]
    if missing:
        raise InvalidInput("frame", f"Column {missing[0]!r} is not in the table.")
    results = []
    for group_value, rows in frame.groupby(group_column, dropna=False, sort=True):
        value = group_value[0] if isinstance(group_value, tuple) else group_value
        proba = rows[list(proba_columns)].to_numpy(dtype=float) if proba_columns else None
        evaluation = evaluate(
            problem_type, rows[true_column], rows[pred_column], proba=proba, labels=labels, keys=selected
        )
        results.append(
            {
                "group": None if _missing(_plain(value)) else _plain(value),
                "rows": evaluation.rows_used,
                "dropped": evaluation.rows_dropped,
                **evaluation.values,
            }
        )
    return results
