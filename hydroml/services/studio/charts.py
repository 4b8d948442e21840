"""Charts of a materialised Studio frame (plotly ``graph_objects``), computed on the server and kept small.

Every figure travels to the browser over a websocket, so whatever the frame size its JSON stays under
`MAX_FIGURE_BYTES`: histograms and box plots send statistics (bin counts, quartiles), never raw values; scatter plots
send a uniform random sample; long time series are downsampled per time bucket (first / min / max / last point of
each bucket). Whenever a chart shows less than every row, its title says so.

Point data is sent as typed arrays (plotly's base64 "bdata"): datetimes as float64 milliseconds on a date axis
(time-zone aware ones as wall time in their zone), scatter values as float32 when that is exact enough to draw.
Wrong column types raise ValueError with a message for the user.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.compute as pc

from hydroml.services.studio.operations.base import dtype_of
from hydroml.services.studio.view import NUMERIC, column_series, to_arrow

FONT_FAMILY = "Inter, system-ui, sans-serif"
FONT_COLOR = "#8a8f98"  # a mid grey, readable on light and dark backgrounds
GRID_COLOR = "rgba(128, 128, 128, 0.2)"
MAX_FIGURE_BYTES = 300_000
POINT_BYTES = 240_000  # budget of base64 point data per figure; the rest is layout
MAX_BARS = 30  # values in the bar chart of a text column
MAX_BINS = 500
MAX_LINES = 20  # traces of a time series
MAX_BOX_COLUMNS = 20
MAX_GROUPS = 50  # boxes per column of a grouped box plot
MAX_LABEL_CHARS = 80
MISSING_LABEL = "(missing)"

_MS = {"Y": "M12", "M": "M1", "D": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000}
_PERIOD_NAMES = {"Y": "year", "M": "month", "D": "day", "h": "hour", "m": "minute", "s": "second"}
_FLOAT32_EXACT_INT = 2**24
# numpy time units -> milliseconds (a factor for coarse units, a divisor for fine ones)
_PER_MS = {"D": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1, "us": 1_000, "ns": 1_000_000}


# ------------------------------------------------------------------------------------------------ layout


def styled(fig: go.Figure, title: str, x_title: str | None = None, y_title: str | None = None) -> go.Figure:
    """The common look: transparent background, compact margins, Inter, grey text and grid (light and dark)."""
    fig.update_layout(
        template="none",
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 14}},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT_FAMILY, "size": 12, "color": FONT_COLOR},
        hoverlabel={"font": {"family": FONT_FAMILY}},
        margin={"l": 56, "r": 16, "t": 48, "b": 48, "pad": 2},
        legend={"bgcolor": "rgba(0,0,0,0)", "orientation": "h", "y": -0.15},
    )
    axis = {"gridcolor": GRID_COLOR, "zerolinecolor": GRID_COLOR, "linecolor": GRID_COLOR, "automargin": True}
    fig.update_xaxes(**axis, title_text=x_title)
    fig.update_yaxes(**axis, title_text=y_title)
    return fig


def _label(value: object) -> str:
    """Text for a title, a legend or a tick: cut, and escaped (plotly reads a few HTML tags in labels)."""
    text = str(value)
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 1] + "…"
    return html.escape(text, quote=False)


def _names(columns: Sequence[str]) -> str:
    return ", ".join(_label(c) for c in columns)


# ----------------------------------------------------------------------------------------------- helpers


def _kind(frame: pd.DataFrame, column: str, role: str = "column") -> tuple[pd.Series, str]:
    series = column_series(frame, column, role)
    return series, dtype_of(series)


def _floats(series: pd.Series) -> np.ndarray:
    """Numbers as float64, missing as NaN."""
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "f":
        return series.to_numpy(dtype=np.float64, copy=False)
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _wall_time(series: pd.Series) -> pd.Series:
    if getattr(series.dtype, "tz", None) is not None:
        series = series.dt.tz_localize(None)  # wall time in the column's zone
    return series


def _datetimes(series: pd.Series) -> np.ndarray:
    """numpy datetime64 wall times in the column's own unit (no overflow for dates far from 1970)."""
    values = np.asarray(_wall_time(series).to_numpy())
    if values.dtype.kind != "M":
        values = pd.to_datetime(_wall_time(series)).to_numpy()
    return values


def _epoch_ms(series: pd.Series) -> np.ndarray:
    """Datetimes as float64 milliseconds since 1970 (plotly's numbers on a date axis); NaT as NaN."""
    values = _datetimes(series)
    unit, _count = np.datetime_data(values.dtype)
    ticks = values.view(np.int64).astype(np.float64)
    out = ticks * _PER_MS[unit] if unit in ("s", "m", "h", "D") else ticks / _PER_MS[unit]
    out[np.isnat(values)] = np.nan
    return out


def _time_values(series: pd.Series, kind: str) -> np.ndarray:
    return _epoch_ms(series) if kind == "datetime" else _floats(series)


def _groups(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(group code per row, group labels); missing values form the group "(missing)", listed last."""
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    labels = [_label(v) for v in np.asarray(uniques, dtype=object)]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(MISSING_LABEL)
    return codes.astype(np.int64, copy=False), labels


def _split(codes: np.ndarray, count: int) -> list[np.ndarray]:
    """Row positions of each group, in row order."""
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=count))])
    return [order[bounds[g] : bounds[g + 1]] for g in range(count)]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


# ------------------------------------------------------------------------------------------- histogram


def histogram(frame: pd.DataFrame, column: str, bins: int = 40) -> go.Figure:
    """Distribution of one column: equal-width bins of the finite numbers (counted with numpy, drawn as bars);
    rows per year / month / day / ... for a datetime column (the finest period with at most ``bins`` bars); the
    `MAX_BARS` most frequent values for a text, category or boolean column."""
    series, kind = _kind(frame, column)
    bins = max(1, min(int(bins), MAX_BINS))
    missing = int(series.isna().sum())
    if kind in NUMERIC:
        return _numeric_histogram(series, column, bins, missing)
    if kind == "datetime":
        return _datetime_histogram(series, column, bins, missing)
    return _value_bars(series, column, missing)


def _missing_note(missing: int) -> str:
    return f"; {_plural(missing, 'missing value')} not shown" if missing else ""


def _numeric_histogram(series: pd.Series, column: str, bins: int, missing: int) -> go.Figure:
    values = _floats(series)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError(f"{column!r} has no numbers to draw: every value is missing.")
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    infinite = int(np.count_nonzero(~np.isnan(values))) - finite.size
    note = _missing_note(missing) + (f"; {_plural(infinite, 'infinite value')} not shown" if infinite else "")
    fig = go.Figure(
        go.Bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts,
            width=np.diff(edges),
            customdata=np.column_stack([edges[:-1], edges[1:]]),
            hovertemplate="%{customdata[0]:.6g} to %{customdata[1]:.6g}<br>%{y:,} rows<extra></extra>",
            marker={"line": {"width": 0}},
        )
    )
    fig.update_layout(bargap=0.02)
    return styled(
        fig, f"Distribution of {_label(column)} ({finite.size:,} values{note})", _label(column), "rows"
    )


def _datetime_histogram(series: pd.Series, column: str, bins: int, missing: int) -> go.Figure:
    values = _datetimes(series)
    values = values[~np.isnat(values)]
    if values.size == 0:
        raise ValueError(f"{column!r} has no dates to draw: every value is missing.")
    first, last = values.min(), values.max()
    unit = "Y"
    for candidate in ("s", "m", "h", "D", "M", "Y"):  # the finest period that gives at most `bins` bars
        periods = (last.astype(f"datetime64[{candidate}]") - first.astype(f"datetime64[{candidate}]")).astype(
            np.int64
        ) + 1
        if periods <= bins:
            unit = candidate
            break
    floored = values.astype(f"datetime64[{unit}]")
    start = floored.min()
    counts = np.bincount((floored - start).astype(np.int64))
    starts = start + np.arange(len(counts))
    x = np.datetime_as_string(starts.astype("datetime64[s]"))
    fig = go.Figure(
        go.Bar(
            x=x,
            y=counts,
            xperiod=_MS[unit],
            xperiodalignment="middle",
            hovertemplate="%{x}<br>%{y:,} rows<extra></extra>",
            marker={"line": {"width": 0}},
        )
    )
    fig.update_layout(bargap=0.05)
    fig.update_xaxes(type="date")
    title = (
        f"Rows per {_PERIOD_NAMES[unit]} of {_label(column)} ({values.size:,} values{_missing_note(missing)})"
    )
    return styled(fig, title, _label(column), "rows")


def _value_bars(series: pd.Series, column: str, missing: int) -> go.Figure:
    array = to_arrow(series)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    array = array.drop_null()
    if len(array) == 0:
        raise ValueError(f"{column!r} has no values to draw: every value is missing.")
    counted = pc.value_counts(array)
    counts = counted.field("counts").to_numpy(zero_copy_only=False)
    chosen = np.argsort(-counts, kind="stable")[:MAX_BARS]  # most frequent first; ties in first-seen order
    values = counted.field("values").take(pa.array(chosen)).to_pylist()
    labels = [_label(v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v) for v in values]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=counts[chosen],
            hovertemplate="%{x}<br>%{y:,} rows<extra></extra>",
            marker={"line": {"width": 0}},
        )
    )
    fig.update_xaxes(type="category")
    distinct = len(counts)
    shown = (
        f"the {len(chosen)} most frequent of {distinct:,} values" if distinct > len(chosen) else "all values"
    )
    title = f"Values of {_label(column)} ({shown}{_missing_note(missing)})"
    return styled(fig, title, _label(column), "rows")


# -------------------------------------------------------------------------------------------- box plot


def box_stats(values: np.ndarray) -> dict | None:
    """Tukey box statistics of the finite values (quartiles by linear interpolation, as pandas' ``quantile``;
    whiskers at the furthest values within 1.5 IQR of the box), or None when there are none."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    q1, median, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
    reach = 1.5 * (q3 - q1)
    lower = float(values[values >= q1 - reach].min())
    upper = float(values[values <= q3 + reach].max())
    return {
        "q1": q1,
        "median": median,
        "q3": q3,
        "lowerfence": lower,
        "upperfence": upper,
        "mean": float(values.mean()),
        "count": int(values.size),
        "outliers": int(np.count_nonzero((values < lower) | (values > upper))),
    }


def _numeric_columns(
    frame: pd.DataFrame, columns: Sequence[str] | str, chart: str
) -> list[tuple[str, pd.Series]]:
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns or [])
    if not columns:
        raise ValueError(f"{chart}: choose at least one numeric column.")
    picked = []
    for column in columns:
        series, kind = _kind(frame, column)
        if kind not in NUMERIC:
            raise ValueError(f"{chart}: {column!r} is a {kind} column; choose numeric columns.")
        picked.append((str(column), series))
    return picked


def box_plot(frame: pd.DataFrame, columns: Sequence[str] | str, group_by: str | None = None) -> go.Figure:
    """One box per numeric column (per group of ``group_by`` when given, at most `MAX_GROUPS` groups), from
    quartiles and whiskers computed here (raw values and outliers are not sent; the title counts the outliers)."""
    picked = _numeric_columns(frame, columns, "Box plot")
    if len(picked) > MAX_BOX_COLUMNS:
        raise ValueError(f"Box plot: choose at most {MAX_BOX_COLUMNS} columns (you chose {len(picked)}).")
    if group_by is not None:
        group_series = column_series(frame, group_by, "group column")
        codes, labels = _groups(group_series)
        if len(labels) > MAX_GROUPS:
            raise ValueError(
                f"Box plot: {group_by!r} has {len(labels):,} different values; at most {MAX_GROUPS} groups can be "
                "drawn. Filter the rows first or group by another column."
            )
        members = _split(codes, len(labels))
    else:
        labels, members = [None], [None]
    fig = go.Figure()
    outliers = 0
    drawn = 0
    for column, series in picked:
        values = _floats(series)
        stats, where = [], []
        for label, rows in zip(labels, members, strict=True):
            item = box_stats(values if rows is None else values[rows])
            if item is not None:
                stats.append(item)
                where.append(label if label is not None else _label(column))
        if not stats:
            continue
        drawn += 1
        outliers += sum(s["outliers"] for s in stats)
        fig.add_trace(
            go.Box(
                name=_label(column),
                x=where,
                **{
                    key: np.array([s[key] for s in stats])
                    for key in ("q1", "median", "q3", "lowerfence", "upperfence", "mean")
                },
                boxpoints=False,
                hoverinfo="y+name",
            )
        )
    if not drawn:
        raise ValueError("Box plot: the chosen columns have no numbers to draw (every value is missing).")
    fig.update_xaxes(type="category")
    if group_by is not None:
        fig.update_layout(boxmode="group")
    by = f" by {_label(group_by)}" if group_by is not None else ""
    note = f"; {_plural(outliers, 'outlier')} beyond the whiskers not drawn" if outliers else ""
    title = f"Box plot of {_names([c for c, _s in picked])}{by} (whiskers: 1.5 × IQR{note})"
    return styled(fig, title, _label(group_by) if group_by is not None else None, None)


# --------------------------------------------------------------------------------------------- scatter


def _point_array(values: np.ndarray, kind: str) -> np.ndarray:
    """float32 when that is exact enough to draw (and halves the payload), else float64."""
    if kind == "datetime":
        return values
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return values.astype(np.float32)
    largest = float(np.abs(finite).max())
    if largest > float(np.finfo(np.float32).max) / 2:
        return values
    if kind == "integer" and largest > _FLOAT32_EXACT_INT:
        return values
    return values.astype(np.float32)


def _axis_kind(frame: pd.DataFrame, column: str, axis: str, allow_dates: bool) -> tuple[pd.Series, str]:
    series, kind = _kind(frame, column)
    if kind in NUMERIC or (allow_dates and kind == "datetime"):
        return series, kind
    wanted = "a numeric or date column" if allow_dates else "a numeric column"
    raise ValueError(f"Scatter plot: {column!r} is a {kind} column; choose {wanted} for {axis}.")


def scatter(frame: pd.DataFrame, x: str, y: str, max_points: int = 20_000, seed: int = 0) -> go.Figure:
    """``y`` against ``x`` (x numeric or datetime, y numeric) for the rows where both are present and finite.

    More rows than ``max_points`` -> a uniform random sample (``seed``), in row order; the title always says
    "random sample of N of M rows". ``max_points`` is lowered when the points would not fit `MAX_FIGURE_BYTES`
    (float64 axes, e.g. datetimes: about 15,000 points); the title gives the actual N.
    """
    x_series, x_kind = _axis_kind(frame, x, "the x axis", allow_dates=True)
    y_series, y_kind = _axis_kind(frame, y, "the y axis", allow_dates=False)
    xs = _time_values(x_series, x_kind)
    ys = _floats(y_series)
    usable = np.isfinite(xs) & np.isfinite(ys)
    rows = np.flatnonzero(usable)
    total = int(rows.size)
    if total == 0:
        raise ValueError(f"Scatter plot: no row has both {x!r} and {y!r}.")
    xs_out, ys_out = _point_array(xs[rows], x_kind), _point_array(ys[rows], y_kind)
    bytes_per_point = (xs_out.itemsize + ys_out.itemsize) * 4 / 3  # base64
    limit = max(1, min(int(max_points), int(POINT_BYTES // bytes_per_point)))
    if total > limit:
        picked = np.sort(np.random.default_rng(seed).choice(total, size=limit, replace=False))
        xs_out, ys_out = xs_out[picked], ys_out[picked]
        shown = f"random sample of {limit:,} of {total:,} rows"
    else:
        shown = f"{total:,} rows"
    left_out = len(frame) - total
    if left_out:
        shown += f"; {_plural(left_out, 'row')} without both values not shown"
    x_hover = "%{x}" if x_kind == "datetime" else "%{x:.6g}"
    fig = go.Figure(
        go.Scattergl(
            x=xs_out,
            y=ys_out,
            mode="markers",
            marker={"size": 4, "opacity": 0.6},
            hovertemplate=f"{_label(x)}: {x_hover}<br>{_label(y)}: %{{y:.6g}}<extra></extra>",
        )
    )
    if x_kind == "datetime":
        fig.update_xaxes(type="date")
    return styled(fig, f"{_label(y)} against {_label(x)} ({shown})", _label(x), _label(y))


# ----------------------------------------------------------------------------------------- time series


def downsample(times: np.ndarray, values: np.ndarray, buckets: int) -> np.ndarray:
    """Positions of the points to keep from a series sorted by time: the time range is cut into ``buckets`` equal
    intervals and each keeps its first, minimum, maximum and last point (in time order) plus its first missing
    value (so a gap still breaks the line). The series' global minimum and maximum are always kept."""
    n = len(times)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    buckets = max(1, int(buckets))
    offsets = times.astype(np.float64) - float(times[0])
    span = float(offsets[-1])
    if span > 0:
        bucket = np.minimum((offsets * (buckets / span)).astype(np.int64), buckets - 1)
    else:
        bucket = np.zeros(n, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], bucket[1:] != bucket[:-1]]))
    ends = np.concatenate([starts[1:], [n]])
    member = np.repeat(np.arange(len(starts)), ends - starts)  # the bucket of each point (0 .. k-1)
    missing = np.isnan(values)
    low = np.where(missing, np.inf, values)
    high = np.where(missing, -np.inf, values)
    keep = [starts, ends - 1]
    for candidates in (
        (low == np.minimum.reduceat(low, starts)[member]) & ~missing,
        (high == np.maximum.reduceat(high, starts)[member]) & ~missing,
        missing,
    ):
        hits = np.flatnonzero(candidates)
        if hits.size:
            first = np.concatenate([[True], member[hits][1:] != member[hits][:-1]])
            keep.append(hits[first])
    return np.unique(np.concatenate(keep)).astype(np.int64, copy=False)


def time_series(
    frame: pd.DataFrame,
    time_column: str,
    columns: Sequence[str] | str,
    group_by: str | None = None,
    buckets: int = 1000,
) -> go.Figure:
    """Lines of numeric ``columns`` over ``time_column`` (datetime or numeric), one per column, or per column and
    group of ``group_by``; at most `MAX_LINES` lines (more raises ValueError asking to filter).

    Rows without a time are left out; missing values break the line. A long series is downsampled (see
    `downsample`) to at most ``buckets`` time buckets, fewer when many lines share the figure's size budget; the
    title then says "downsampled from N points".
    """
    time_series_, time_kind = _kind(frame, time_column, "time column")
    if time_kind not in NUMERIC and time_kind != "datetime":
        raise ValueError(
            f"Time series: {time_column!r} is a {time_kind} column; choose a date or numeric column."
        )
    picked = _numeric_columns(frame, columns, "Time series")
    if group_by is not None:
        codes, labels = _groups(column_series(frame, group_by, "group column"))
    else:
        codes, labels = np.zeros(len(frame), dtype=np.int64), [None]
    lines = len(picked) * len(labels)
    if lines > MAX_LINES:
        detail = (
            f"{len(picked)} columns × {len(labels):,} groups"
            if group_by is not None
            else f"{len(picked)} columns"
        )
        raise ValueError(
            f"Time series: this chart would draw {lines:,} lines ({detail}); at most {MAX_LINES} can be drawn. "
            "Filter the rows to fewer groups or choose fewer columns."
        )
    times = _time_values(time_series_, time_kind)
    timed = np.flatnonzero(~np.isnan(times))
    if timed.size == 0:
        raise ValueError(f"Time series: {time_column!r} has no values (every time is missing).")
    if timed.size > 1 and not bool(np.all(times[timed][1:] >= times[timed][:-1])):
        timed = timed[np.argsort(times[timed], kind="stable")]
    members = [timed] if group_by is None else _split_in_order(codes, timed, len(labels))

    per_line = max(1, (POINT_BYTES * 3 // 4) // 16 // lines)  # float64 time + float64 value per point
    bucket_count = max(1, min(int(buckets), per_line // 5))
    fig = go.Figure()
    points = drawn = 0
    downsampled = False
    for column, series in picked:
        values = _floats(series)
        for label, rows in zip(labels, members, strict=True):
            if rows.size == 0:
                continue
            line_times, line_values = times[rows], values[rows]
            points += rows.size
            if rows.size > 4 * bucket_count:
                kept = downsample(line_times, line_values, bucket_count)
                line_times, line_values = line_times[kept], line_values[kept]
                downsampled = True
            drawn += line_times.size
            name = _label(column) if label is None else f"{_label(column)} · {label}"
            fig.add_trace(
                go.Scattergl(
                    x=line_times,
                    y=line_values,
                    mode="lines",
                    name=name,
                    connectgaps=False,
                    line={"width": 1.2},
                    hovertemplate=f"{name}<br>%{{x}}<br>%{{y:.6g}}<extra></extra>",
                )
            )
    if time_kind == "datetime":
        fig.update_xaxes(type="date")
    by = f" by {_label(group_by)}" if group_by is not None else ""
    notes = [f"downsampled from {points:,} points to {drawn:,}"] if downsampled else []
    left_out = len(frame) - int(timed.size)
    if left_out:
        notes.append(f"{_plural(left_out, 'row')} without a time not shown")
    title = f"{_names([c for c, _s in picked])} over {_label(time_column)}{by}"
    if notes:
        title += f" ({'; '.join(notes)})"
    return styled(fig, title, _label(time_column), None)


def _split_in_order(codes: np.ndarray, rows: np.ndarray, count: int) -> list[np.ndarray]:
    """``rows`` (already in time order) split by group, each keeping that order."""
    order = np.argsort(codes[rows], kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes[rows], minlength=count))])
    ordered = rows[order]
    return [ordered[bounds[g] : bounds[g + 1]] for g in range(count)]


# --------------------------------------------------------------------------------------- missing matrix


def missing_matrix(frame: pd.DataFrame, max_columns: int = 60, buckets: int = 200) -> go.Figure:
    """Heatmap of the share of missing values (in %) per column and block of consecutive rows (at most ``buckets``
    blocks of about equal size, first rows at the top); only the first ``max_columns`` columns (the title says so).
    """
    rows, total_columns = frame.shape
    if total_columns == 0:
        raise ValueError("Missing values: the table has no columns.")
    if rows == 0:
        raise ValueError("Missing values: the table has no rows.")
    shown_columns = max(1, min(int(max_columns), total_columns))
    blocks = max(1, min(int(buckets), rows))
    starts = (np.arange(blocks, dtype=np.int64) * rows) // blocks
    sizes = np.diff(np.concatenate([starts, [rows]]))
    share = np.empty((blocks, shown_columns), dtype=np.float64)
    missing_total = 0
    for j in range(shown_columns):
        missing = frame.iloc[:, j].isna().to_numpy(dtype=bool)
        per_block = np.add.reduceat(missing, starts, dtype=np.int64)
        missing_total += int(per_block.sum())
        share[:, j] = per_block / sizes * 100.0
    labels = [
        f"rows {start + 1:,}–{start + size:,}"
        for start, size in zip(starts.tolist(), sizes.tolist(), strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=np.round(share, 2).astype(np.float32),
            x=[_label(c) for c in frame.columns[:shown_columns]],
            y=labels,
            zmin=0,
            zmax=100,
            colorscale=[[0.0, "rgba(128,128,128,0.08)"], [0.001, "#f6c85f"], [1.0, "#d1495b"]],
            colorbar={"title": {"text": "% missing"}, "thickness": 12, "outlinewidth": 0},
            xgap=1,
            hovertemplate="%{x}<br>%{y}<br>%{z:.2f}% missing<extra></extra>",
        )
    )
    fig.update_xaxes(type="category", tickangle=-45)
    fig.update_yaxes(type="category", autorange="reversed", showticklabels=blocks <= 40)
    cells = rows * shown_columns
    pct = 100.0 * missing_total / cells
    which = f"first {shown_columns} of {total_columns} columns, " if shown_columns < total_columns else ""
    title = (
        f"Missing values: {missing_total:,} of {cells:,} cells ({pct:.2f}%; {which}"
        f"{blocks} blocks of about {math.ceil(rows / blocks):,} rows)"
    )
    return styled(fig, title, None, None)
