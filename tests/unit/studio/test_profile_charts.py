"""Column profile and charts of an in-memory frame: values against numpy, payload sizes, errors."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from hydroml.services.demo_data import daily_hydrometeo
from hydroml.services.quality import quality_report
from hydroml.services.studio import charts
from hydroml.services.studio.profile import column_profile

WEIRD = 'flow "m3/s" <b>é</b>'


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return daily_hydrometeo()


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    rows = 2_000_000
    rng = np.random.default_rng(7)
    flow = rng.gamma(2.0, 10.0, rows)
    flow[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "time": pd.date_range("2000-01-01", periods=rows, freq="min"),
            "flow": flow,
            "temp": rng.normal(10, 5, rows),
            "count": rng.integers(0, 10**6, rows),
            "station": pd.array(
                np.array([f"ST{k:02d}" for k in range(12)])[rng.integers(0, 12, rows)], dtype="str"
            ),
            "kind": pd.Categorical.from_codes(rng.integers(0, 3, rows), ["a", "b", "c"]),
        }
    )


def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            WEIRD: [1.0, 2.0, 2.0, 3.0, np.nan, 4.0, 100.0, -50.0, 2.5, np.inf],
            "n": np.arange(10, dtype="int64"),
            "g": pd.array(["a", "b", "a", "b", "a", "b", "a", None, "a", "b"], dtype="str"),
            "t": pd.date_range("2024-01-30", periods=10, freq="D"),
            "txt": pd.array(["x", "y", "x", None, "z", "x", "y", "x", "q", "x"], dtype="str"),
        }
    )


def size(fig) -> int:
    return len(fig.to_json())


# ------------------------------------------------------------------------------------------------ profile


def test_profile_equals_the_quality_report_of_the_same_data(tmp_path):
    frame = small().assign(
        flag=[True, False, None, True, True, False, True, True, False, True],
        cat=pd.Categorical(["u", "v", "u", None, "u", "v", "u", "u", "w", "u"]),
        empty=[np.nan] * 10,
    )
    path = tmp_path / "data.parquet"
    frame.to_parquet(path, index=False)
    report = quality_report(path)["column_reports"]

    for index, name in enumerate(frame.columns):
        assert column_profile(frame, name) == report[index], name


def test_profile_values(demo):
    profile = column_profile(demo, "flow")
    flow = demo["flow"]
    assert profile["missing"] == int(flow.isna().sum())
    assert profile["mean"] == pytest.approx(flow.mean())
    assert profile["std"] == pytest.approx(flow.std())
    assert (profile["min"], profile["max"]) == (flow.min(), flow.max())
    assert sum(profile["histogram"]["counts"]) == int(flow.notna().sum())
    assert column_profile(demo, "date")["datetime"]["frequency"] == "1 day"
    assert column_profile(demo, "station_id")["top"][0][1] == int(demo["station_id"].value_counts().max())


def test_profile_of_an_unknown_column():
    with pytest.raises(ValueError, match="'nope'"):
        column_profile(small(), "nope")


def test_profile_of_a_million_rows_is_fast(big):
    frame = big.iloc[:1_000_000]
    for column in ("flow", "station", "time"):
        started = time.perf_counter()
        column_profile(frame, column)
        assert time.perf_counter() - started < 0.5, column


# ---------------------------------------------------------------------------------------------- histogram


def test_numeric_histogram_counts_equal_numpy():
    frame = small()
    fig = charts.histogram(frame, WEIRD, bins=5)
    finite = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 100.0, -50.0, 2.5])
    counts, edges = np.histogram(finite, bins=5, range=(-50.0, 100.0))
    bar = fig.data[0]

    np.testing.assert_array_equal(bar.y, counts)
    np.testing.assert_allclose(bar.x, (edges[:-1] + edges[1:]) / 2)
    np.testing.assert_allclose(bar.width, np.diff(edges))
    assert "8 values; 1 missing value not shown; 1 infinite value not shown" in fig.layout.title.text
    assert "&lt;b&gt;" in fig.layout.title.text  # a column name is text, not markup


def test_histogram_of_one_repeated_value():
    fig = charts.histogram(pd.DataFrame({"v": [7, 7, 7]}), "v", bins=4)
    assert fig.data[0].y.tolist() == [0, 0, 3, 0]


def test_datetime_histogram_counts_rows_per_period(demo):
    fig = charts.histogram(demo, "date", bins=40)  # 25 years: yearly bars
    years = demo["date"].dt.year.value_counts().sort_index()
    assert "Rows per year" in fig.layout.title.text
    assert fig.data[0].y.tolist() == years.tolist()
    assert list(fig.data[0].x[:2]) == ["1999-01-01T00:00:00", "2000-01-01T00:00:00"]

    monthly = charts.histogram(small(), "t", bins=40)  # 10 days: daily bars
    assert "Rows per day" in monthly.layout.title.text and monthly.data[0].y.tolist() == [1] * 10
    per_month = charts.histogram(small(), "t", bins=5)
    assert "Rows per month" in per_month.layout.title.text and per_month.data[0].y.tolist() == [2, 8]


def test_text_histogram_shows_the_30_most_frequent_values():
    values = [f"v{k:02d}" for k in range(40) for _ in range(k + 1)]  # v39 most frequent (40 times)
    frame = pd.DataFrame({"s": pd.array(values + [None], dtype="str")})
    fig = charts.histogram(frame, "s")
    assert list(fig.data[0].x) == [f"v{k:02d}" for k in range(39, 9, -1)]
    assert fig.data[0].y.tolist() == list(range(40, 10, -1))
    assert "the 30 most frequent of 40 values; 1 missing value not shown" in fig.layout.title.text

    small_fig = charts.histogram(small(), "txt")
    assert list(small_fig.data[0].x) == ["x", "y", "z", "q"] and small_fig.data[0].y.tolist() == [5, 2, 1, 1]
    flags = charts.histogram(pd.DataFrame({"b": [True, False, True]}), "b")
    assert list(flags.data[0].x) == ["True", "False"]


def test_histogram_errors():
    with pytest.raises(ValueError, match="every value is missing"):
        charts.histogram(pd.DataFrame({"v": [np.nan, np.nan]}), "v")
    with pytest.raises(ValueError, match="every value is missing"):
        charts.histogram(pd.DataFrame({"v": pd.Series([], dtype="float64")}), "v")
    with pytest.raises(ValueError, match="every value is missing"):
        charts.histogram(pd.DataFrame({"s": pd.array([None], dtype="str")}), "s")
    with pytest.raises(ValueError, match="'nope'"):
        charts.histogram(small(), "nope")


# ------------------------------------------------------------------------------------------------ box plot


def test_box_statistics_are_tukey_boxes():
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 100.0, np.nan])
    fig = charts.box_plot(pd.DataFrame({"v": values}), ["v"])
    box = fig.data[0]
    q1, median, q3 = np.percentile(values[:-1], [25, 50, 75])  # 3, 5, 7
    assert (box.q1[0], box.median[0], box.q3[0]) == (q1, median, q3)
    assert (box.lowerfence[0], box.upperfence[0]) == (1.0, 8.0)  # 100 is beyond 7 + 1.5 * 4
    assert box.mean[0] == pytest.approx(values[:-1].mean())
    assert box.boxpoints is False
    assert "1 outlier beyond the whiskers not drawn" in fig.layout.title.text


def test_grouped_box_plot(demo):
    fig = charts.box_plot(demo, ["flow", "air_temp_c"], group_by="station_id")
    assert [trace.name for trace in fig.data] == ["flow", "air_temp_c"]
    assert list(fig.data[0].x) == ["ST01", "ST02", "ST03", "ST04", "ST05"]
    for station_index, station in enumerate(fig.data[0].x):
        flow = demo.loc[demo["station_id"] == station, "flow"].dropna().to_numpy()
        assert fig.data[0].median[station_index] == pytest.approx(np.median(flow))
        assert fig.data[0].q3[station_index] == pytest.approx(np.percentile(flow, 75))


def test_box_plot_missing_groups_form_their_own_box():
    fig = charts.box_plot(small(), "n", group_by="g")
    assert list(fig.data[0].x) == ["a", "b", "(missing)"]
    assert fig.data[0].median.tolist() == [4.0, 4.0, 7.0]  # a: 0 2 4 6 8, b: 1 3 5 9


def test_box_plot_errors(demo):
    with pytest.raises(ValueError, match="'station_id' is a string column; choose numeric"):
        charts.box_plot(demo, ["flow", "station_id"])
    with pytest.raises(ValueError, match="at least one"):
        charts.box_plot(demo, [])
    with pytest.raises(ValueError, match="at most 50 groups"):
        charts.box_plot(demo, ["flow"], group_by="date")
    with pytest.raises(ValueError, match="no numbers"):
        charts.box_plot(pd.DataFrame({"v": [np.nan]}), ["v"])


# ------------------------------------------------------------------------------------------------- scatter


def test_scatter_of_a_small_frame_draws_every_complete_row():
    fig = charts.scatter(small(), "n", WEIRD)
    assert fig.data[0].x.tolist() == [0, 1, 2, 3, 5, 6, 7, 8]  # NaN and inf left out
    assert fig.data[0].y.tolist() == [1.0, 2.0, 2.0, 3.0, 4.0, 100.0, -50.0, 2.5]
    assert "8 rows; 2 rows without both values not shown" in fig.layout.title.text


def test_scatter_samples_real_rows_and_says_so(big):
    fig = charts.scatter(big, "temp", "flow", max_points=20_000, seed=1)
    complete = int(big["flow"].notna().sum())
    trace = fig.data[0]
    assert len(trace.x) == 20_000
    assert f"random sample of 20,000 of {complete:,} rows" in fig.layout.title.text

    def keys(xs, ys):  # one 64-bit key per (x, y) pair of float32
        return (xs.astype(np.float32).view(np.uint32).astype(np.uint64) << np.uint64(32)) | ys.astype(
            np.float32
        ).view(np.uint32)

    sampled = keys(trace.x, trace.y)
    every = np.sort(keys(big["temp"].to_numpy(), big["flow"].to_numpy()))
    assert np.array_equal(
        every[np.minimum(np.searchsorted(every, sampled), len(every) - 1)], sampled
    )  # real rows
    assert len(np.unique(sampled)) == 20_000  # drawn without replacement
    again = charts.scatter(big, "temp", "flow", max_points=20_000, seed=1)
    np.testing.assert_array_equal(again.data[0].x, trace.x)
    assert size(fig) < charts.MAX_FIGURE_BYTES


def test_scatter_over_dates_fits_the_payload(big):
    fig = charts.scatter(big, "time", "count")
    points = len(fig.data[0].x)
    assert points < 20_000 and f"random sample of {points:,} of 2,000,000 rows" in fig.layout.title.text
    assert fig.layout.xaxis.type == "date"
    assert fig.data[0].x[0] >= pd.Timestamp("2000-01-01").value / 1e6
    assert size(fig) < charts.MAX_FIGURE_BYTES


def test_scatter_errors():
    with pytest.raises(
        ValueError, match="'g' is a string column; choose a numeric or date column for the x axis"
    ):
        charts.scatter(small(), "g", "n")
    with pytest.raises(ValueError, match="'t' is a datetime column; choose a numeric column for the y axis"):
        charts.scatter(small(), "n", "t")
    with pytest.raises(ValueError, match="no row has both"):
        charts.scatter(pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, 2.0]}), "a", "b")


# --------------------------------------------------------------------------------------------- time series


def test_downsample_keeps_first_min_max_last_and_gaps():
    times = np.arange(12, dtype=np.int64)
    values = np.array([5.0, 9.0, 1.0, 4.0, 6.0, np.nan, 2.0, 8.0, 3.0, 3.0, 0.5, 7.0])
    kept = charts.downsample(times, values, buckets=2)  # buckets 0..5 and 6..11 (span 11: 0..5.5 / 5.5..11)
    assert kept.tolist() == [0, 1, 2, 5, 6, 7, 10, 11]


def test_time_series_downsampling_keeps_every_extreme(big):
    fig = charts.time_series(big, "time", ["flow", "temp"], buckets=1000)
    assert "downsampled from 4,000,000 points" in fig.layout.title.text
    for trace, column in zip(fig.data, ["flow", "temp"], strict=True):
        values = big[column].to_numpy()
        assert len(trace.y) <= 5 * 1000
        assert np.nanmin(trace.y) == np.nanmin(values) and np.nanmax(trace.y) == np.nanmax(values)
        assert np.isnan(trace.y).any() == np.isnan(values).any()  # gaps still break the line
        assert np.all(np.diff(trace.x) >= 0)
    assert size(fig) < charts.MAX_FIGURE_BYTES


def test_time_series_by_group_fits_the_payload(big):
    fig = charts.time_series(big, "time", ["flow"], group_by="station")
    assert len(fig.data) == 12
    for trace in fig.data:
        station = trace.name.split(" · ")[1]
        values = big.loc[big["station"] == station, "flow"].to_numpy()
        assert np.nanmax(trace.y) == np.nanmax(values) and np.nanmin(trace.y) == np.nanmin(values)
    assert size(fig) < charts.MAX_FIGURE_BYTES


def test_short_time_series_is_drawn_as_is_in_time_order(demo):
    frame = demo[demo["station_id"] == "ST02"].iloc[:300].iloc[::-1]  # reversed rows
    fig = charts.time_series(frame, "date", "flow")
    trace = fig.data[0]
    expected = frame.sort_values("date")
    np.testing.assert_array_equal(trace.y, expected["flow"].to_numpy())
    np.testing.assert_array_equal(
        trace.x, expected["date"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    )
    assert "downsampled" not in fig.layout.title.text


def test_time_series_with_missing_times_and_aware_times():
    frame = pd.DataFrame(
        {
            "t": pd.to_datetime(["2024-01-01 10:00", None, "2024-01-01 09:00"]).tz_localize("Europe/Paris"),
            "v": [1, 2, 3],
        }
    )
    fig = charts.time_series(frame, "t", ["v"])
    assert fig.data[0].y.tolist() == [3.0, 1.0]
    assert fig.data[0].x[0] == pd.Timestamp("2024-01-01 09:00").value / 1e6  # wall time in the zone
    assert "1 row without a time not shown" in fig.layout.title.text


def test_time_series_errors(demo):
    with pytest.raises(ValueError, match="would draw 25 lines .5 columns × 5 groups.; at most 20"):
        charts.time_series(
            demo.assign(a=1.0, b=2.0), "date", ["flow", "air_temp_c", "precip_mm", "a", "b"], "station_id"
        )
    with pytest.raises(ValueError, match="'station_id' is a string column; choose a date or numeric column"):
        charts.time_series(demo, "station_id", ["flow"])
    with pytest.raises(ValueError, match="'station_id' is a string column; choose numeric"):
        charts.time_series(demo, "date", ["station_id"])


# ------------------------------------------------------------------------------------------ missing matrix


def test_missing_matrix_shares_per_row_block():
    frame = pd.DataFrame(
        {"a": [np.nan, 1, np.nan, np.nan, 5, 6], "b": ["x", None, "y", "z", "w", None], "c": 1}
    )
    fig = charts.missing_matrix(frame, buckets=3)
    heat = fig.data[0]
    np.testing.assert_allclose(heat.z, [[50, 50, 0], [100, 0, 0], [0, 50, 0]])
    assert list(heat.x) == ["a", "b", "c"]
    assert list(heat.y) == ["rows 1–2", "rows 3–4", "rows 5–6"]
    assert "5 of 18 cells" in fig.layout.title.text


def test_missing_matrix_limits_columns_and_says_so(big):
    wide = pd.DataFrame({f"c{k}": [1.0, np.nan] for k in range(70)})
    fig = charts.missing_matrix(wide, max_columns=60)
    assert len(fig.data[0].x) == 60 and "first 60 of 70 columns" in fig.layout.title.text
    assert size(charts.missing_matrix(big)) < charts.MAX_FIGURE_BYTES
    with pytest.raises(ValueError, match="no rows"):
        charts.missing_matrix(wide.iloc[:0])


# ------------------------------------------------------------------------------------------ layout, payload


def test_common_layout_fits_light_and_dark_themes():
    fig = charts.histogram(small(), "n")
    assert fig.layout.paper_bgcolor == "rgba(0,0,0,0)" and fig.layout.plot_bgcolor == "rgba(0,0,0,0)"
    assert fig.layout.font.family == "Inter, system-ui, sans-serif"
    assert fig.layout.margin.t <= 60


def test_every_chart_stays_small_at_two_million_rows(big):
    figures = [
        charts.histogram(big, "flow"),
        charts.histogram(big, "time"),
        charts.histogram(big, "station"),
        charts.box_plot(big, ["flow", "temp", "count"], group_by="station"),
        charts.time_series(big, "time", ["flow", "temp"], group_by="kind"),
    ]
    for fig in figures:
        assert size(fig) < charts.MAX_FIGURE_BYTES, fig.layout.title.text
