"""The charts of a training run, as Plotly figures in the studio's look (and its downsampling for long series).

Each function takes plain arrays and stays small on the wire: scatters are sampled to `MAX_POINTS` points, the
hydrograph reuses the studio's time-series chart (min/max per time bucket), and a title says when fewer points
than rows are drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hydroml.services.studio import charts as studio_charts

MAX_POINTS = 5_000
MAX_HYDROGRAPH_GROUPS = 4  # more stations than this: the hydrograph shows the one with the most rows
OBSERVED, PREDICTED = "observed", "predicted"


def _sample(count: int, seed: int = 0) -> np.ndarray:
    if count <= MAX_POINTS:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, MAX_POINTS, replace=False))


def _sampled_note(shown: int, total: int) -> str:
    return f" ({shown:,} of {total:,} points)" if shown < total else ""


def predicted_vs_observed(observed: np.ndarray, predicted: np.ndarray, target: str) -> go.Figure:
    """Scatter of predictions against observations with the 1:1 line (perfect predictions lie on it)."""
    observed, predicted = np.asarray(observed, float), np.asarray(predicted, float)
    keep = _sample(len(observed))
    low = float(np.nanmin([np.nanmin(observed), np.nanmin(predicted)])) if len(observed) else 0.0
    high = float(np.nanmax([np.nanmax(observed), np.nanmax(predicted)])) if len(observed) else 1.0
    fig = go.Figure(
        [
            go.Scattergl(
                x=observed[keep],
                y=predicted[keep],
                mode="markers",
                name="rows",
                marker={"size": 4, "opacity": 0.5},
                hovertemplate="observed %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
            ),
            go.Scatter(x=[low, high], y=[low, high], mode="lines", name="1:1", line={"dash": "dash"}),
        ]
    )
    title = f"Predicted vs observed {target}{_sampled_note(len(keep), len(observed))}"
    return studio_charts.styled(fig, title, f"observed {target}", f"predicted {target}")


def residuals(observed: np.ndarray, predicted: np.ndarray, target: str) -> go.Figure:
    """Residuals (observed - predicted) against the prediction: a pattern means the model misses something."""
    observed, predicted = np.asarray(observed, float), np.asarray(predicted, float)
    keep = _sample(len(observed))
    residual = observed - predicted
    fig = go.Figure(
        go.Scattergl(
            x=predicted[keep],
            y=residual[keep],
            mode="markers",
            marker={"size": 4, "opacity": 0.5},
            hovertemplate="predicted %{x:.4g}<br>residual %{y:.4g}<extra></extra>",
            name="rows",
        )
    )
    fig.add_hline(y=0, line_dash="dash")
    title = f"Residuals{_sampled_note(len(keep), len(observed))}"
    return studio_charts.styled(fig, title, f"predicted {target}", "observed - predicted")


def hydrograph(
    times: Sequence, observed: np.ndarray, predicted: np.ndarray, groups: Sequence | None = None
) -> go.Figure:
    """Observed and predicted over time (the test rows), per station when there are only a few."""
    frame = pd.DataFrame({"time": times, OBSERVED: observed, PREDICTED: predicted})
    group_by = None
    note = ""
    if groups is not None:
        frame["station"] = pd.Series(groups).astype("string").to_numpy()
        counts = frame["station"].value_counts()
        if len(counts) > MAX_HYDROGRAPH_GROUPS:
            largest = counts.index[0]
            frame = frame[frame["station"] == largest]
            note = f" — {largest}, the largest of {len(counts):,} groups"
        else:
            group_by = "station"
    fig = studio_charts.time_series(frame, "time", [OBSERVED, PREDICTED], group_by=group_by)
    fig.update_layout(title={"text": "Hydrograph: " + fig.layout.title.text + note})
    return fig


def feature_importance(names: Sequence[str], means: Sequence[float], stds: Sequence[float]) -> go.Figure:
    """Permutation importance: how much the score drops when a feature's values are shuffled."""
    order = np.argsort(np.asarray(means, float))[-30:]
    fig = go.Figure(
        go.Bar(
            x=np.asarray(means, float)[order],
            y=[str(names[i]) for i in order],
            error_x={"type": "data", "array": np.asarray(stds, float)[order]},
            orientation="h",
            hovertemplate="%{y}: %{x:.4g}<extra></extra>",
        )
    )
    shown = f" (top {len(order)} of {len(names)})" if len(order) < len(names) else ""
    return studio_charts.styled(fig, f"Permutation feature importance{shown}", "drop in score", None)


def confusion_matrix(matrix: np.ndarray, labels: Sequence[str]) -> go.Figure:
    matrix = np.asarray(matrix)
    names = [str(label) for label in labels]
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=names,
            y=names,
            text=matrix,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="observed %{y}<br>predicted %{x}<br>%{z} rows<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return studio_charts.styled(fig, "Confusion matrix", "predicted", "observed")


def roc(curves: Sequence[tuple[str, np.ndarray, np.ndarray, float]]) -> go.Figure:
    """ROC curves: (label, false positive rates, true positive rates, area under the curve)."""
    fig = go.Figure()
    for label, fpr, tpr, auc in curves:
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"{label} (AUC {auc:.3f})"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash"}))
    return studio_charts.styled(fig, "ROC curve", "false positive rate", "true positive rate")


def metric_bars(run_names: Sequence[str], values: dict[str, Sequence[float]]) -> go.Figure:
    """Several runs side by side: one group of bars per metric."""
    fig = go.Figure(
        [go.Bar(name=metric, x=list(run_names), y=list(series)) for metric, series in values.items()]
    )
    fig.update_layout(barmode="group")
    return studio_charts.styled(fig, "Metrics by run", None, None)
