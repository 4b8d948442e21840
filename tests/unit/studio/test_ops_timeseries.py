"""Time-series operations (studio result == exported pandas code, plus hand-computed values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services.demo_data import daily_hydrometeo
from hydroml.services.studio.operations import OPERATIONS, Context, OperationError, schema_of
from hydroml.services.studio.operations.timeseries import (
    CalendarFeatures,
    CumulativeSum,
    Difference,
    GapReport,
    LagFeatures,
    MakeRegular,
    ParseDatetime,
    Resample,
    RollingWindow,
    SeasonalFeatures,
    SetTimeColumn,
    parse_window,
)
from tests.unit.studio.helpers import assert_code_matches

ODD = "débit 'brut' ☔"  # a column name with a space, quotes and unicode


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return daily_hydrometeo()


def ts(*values: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)))


def series_frame() -> pd.DataFrame:
    """Two stations, rows sorted by station then day; station b misses 2020-01-03, a has a missing value."""
    return pd.DataFrame(
        {
            "site": ["a", "a", "a", "a", "b", "b", "b"],
            "date": ts(
                "2020-01-01",
                "2020-01-02",
                "2020-01-03",
                "2020-01-04",
                "2020-01-01",
                "2020-01-02",
                "2020-01-04",
            ),
            "x": [1.0, 2.0, np.nan, 4.0, 10.0, 20.0, 40.0],
            "n": [1, 2, 3, 4, 5, 6, 7],
        }
    )


def errors_of(op, df: pd.DataFrame) -> list[str]:
    return [e.param for e in op.validate(schema_of(df))]


def test_registered_with_group() -> None:
    keys = {
        "parse_datetime",
        "set_time_column",
        "resample",
        "make_regular",
        "lag_features",
        "rolling_window",
        "difference",
        "cumulative_sum",
        "calendar_features",
        "seasonal_features",
        "gap_report",
    }
    assert keys <= set(OPERATIONS)
    assert all(OPERATIONS[k].group == "Time series" for k in keys)
    assert "MS = monthly" in OPERATIONS["resample"].params[2].help  # friendly frequency labels


# ------------------------------------------------------------------ parse / sort


def test_parse_datetime_text_with_invalid_values() -> None:
    df = pd.DataFrame({ODD: ["2020-01-02", "not a date", None, "2020-02-29"]})
    out = assert_code_matches(ParseDatetime({"column": ODD}), df)
    assert out[ODD].tolist()[0] == pd.Timestamp("2020-01-02")
    assert out[ODD].isna().tolist() == [False, True, True, False]
    assert out[ODD].iloc[3] == pd.Timestamp("2020-02-29")


def test_parse_datetime_format_and_dayfirst() -> None:
    df = pd.DataFrame({"d": ["03/04/2020", "13/04/2020", "31/02/2020"]})
    out = assert_code_matches(ParseDatetime({"column": "d", "format": "%d/%m/%Y"}), df)
    assert out["d"].tolist()[:2] == [pd.Timestamp("2020-04-03"), pd.Timestamp("2020-04-13")]
    assert pd.isna(out["d"].iloc[2])  # 31 February is invalid -> NaT
    out = assert_code_matches(ParseDatetime({"column": "d", "dayfirst": True}), df.iloc[:2])
    assert out["d"].tolist() == [pd.Timestamp("2020-04-03"), pd.Timestamp("2020-04-13")]


def test_parse_datetime_without_format_leaves_text_that_is_no_date_missing() -> None:
    """Regression: pandas' fallback read "ST01" as 0001-01-01 (and "12:00" or "now" as today)."""
    df = pd.DataFrame({"d": ["ST01", "2020-01-31", "garbage", None, "12:00", "now", "2020", "2020-02-29"]})
    out = assert_code_matches(ParseDatetime({"column": "d"}), df)
    assert out["d"].tolist()[1] == pd.Timestamp("2020-01-31")
    assert out["d"].tolist()[7] == pd.Timestamp("2020-02-29")
    assert out["d"].isna().tolist() == [True, False, True, True, True, True, True, False]
    first = pd.DataFrame({"d": ["ST01", "31/01/2020", "garbage", "01/02/2020 06:00", "01/02/2020"]})
    out = assert_code_matches(ParseDatetime({"column": "d", "dayfirst": True}), first)
    # the layout comes from the first date: 31/01/2020 (values written another way become missing)
    assert out["d"].tolist()[1] == pd.Timestamp("2020-01-31")
    assert out["d"].tolist()[4] == pd.Timestamp("2020-02-01")
    assert out["d"].isna().tolist() == [True, False, True, True, False]
    words = pd.DataFrame({"d": pd.Series(["31 January 2020", "Station 12", "20200131"], dtype="str")})
    out = assert_code_matches(ParseDatetime({"column": "d"}), words)
    assert out["d"].tolist()[0] == pd.Timestamp("2020-01-31") and out["d"].isna().tolist() == [
        False,
        True,
        True,
    ]
    # a format reads exactly what it describes
    out = assert_code_matches(
        ParseDatetime({"column": "d", "format": "%Y"}), df[df["d"] != "now"].reset_index(drop=True)
    )
    assert out["d"].tolist()[5] == pd.Timestamp("2020-01-01") and out["d"].notna().sum() == 1


def test_parse_datetime_keeps_a_datetime_column(daily: pd.DataFrame) -> None:
    out = assert_code_matches(ParseDatetime({"column": "date"}), daily)
    pd.testing.assert_frame_equal(out, daily)


def test_parse_datetime_localizes_naive_and_converts_aware() -> None:
    df = pd.DataFrame({"t": ["2020-07-01 12:00", "2020-03-29 01:30", "2020-01-15 08:00"]})
    out = assert_code_matches(ParseDatetime({"column": "t", "timezone": "Europe/London"}), df)
    assert str(out["t"].dt.tz) == "Europe/London"
    assert out["t"].iloc[0].tz_convert("UTC") == pd.Timestamp("2020-07-01 11:00", tz="UTC")
    assert pd.isna(out["t"].iloc[1])  # does not exist: clocks jump from 01:00 to 02:00
    assert out["t"].iloc[2].tz_convert("UTC") == pd.Timestamp("2020-01-15 08:00", tz="UTC")

    aware = pd.DataFrame({"t": ["2020-07-01T12:00+02:00", "2020-01-01T12:00+01:00"]})
    with pytest.raises(OperationError, match="Offsets to UTC"):
        ParseDatetime({"column": "t"}).apply(aware, Context())
    out = assert_code_matches(ParseDatetime({"column": "t", "utc": True, "timezone": "Asia/Tokyo"}), aware)
    assert out["t"].tolist() == [
        pd.Timestamp("2020-07-01 19:00", tz="Asia/Tokyo"),
        pd.Timestamp("2020-01-01 20:00", tz="Asia/Tokyo"),
    ]
    # an aware datetime column is converted
    again = assert_code_matches(ParseDatetime({"column": "t", "timezone": "UTC"}), out)
    assert again["t"].iloc[0] == pd.Timestamp("2020-07-01 10:00", tz="UTC")


def test_parse_datetime_validation() -> None:
    df = pd.DataFrame({"t": ["2020-01-01"], "x": [1.5]})
    assert errors_of(ParseDatetime({"column": "x"}), df) == ["column"]
    assert errors_of(ParseDatetime({"column": "nope"}), df) == ["column"]
    assert errors_of(ParseDatetime({"column": "t", "timezone": "Mars/Olympus"}), df) == ["timezone"]


def test_set_time_column_sorts_stably() -> None:
    df = pd.DataFrame(
        {
            "site": ["b", "a", "b", "a", "a"],
            "t": ts("2020-01-02", "2020-01-02", "2020-01-01", None, "2020-01-02"),
            "k": [0, 1, 2, 3, 4],
        }
    )
    out = assert_code_matches(SetTimeColumn({"time_column": "t", "group_by": "site"}), df)
    assert out["k"].tolist() == [1, 4, 3, 2, 0]  # a (ties keep order, NaT last), then b
    out = assert_code_matches(SetTimeColumn({"time_column": "t"}), df)
    assert out["k"].tolist() == [2, 0, 1, 4, 3]
    assert errors_of(SetTimeColumn({"time_column": "k"}), df) == ["time_column"]
    assert errors_of(SetTimeColumn({"time_column": "t", "group_by": "t"}), df) == ["group_by"]


# ------------------------------------------------------------------ resample


def monthly_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": ["a", "a", "a", "a", "a", "b"],
            "date": ts("2020-01-05", "2020-01-20", "2020-03-02", "2020-03-09", "2020-04-10", "2020-02-01"),
            "rain": [1.0, 2.0, np.nan, 4.0, np.nan, 7.0],
            "flow": [1.0, 3.0, 5.0, np.nan, 2.0, 8.0],
            "note": ["p", "q", None, "s", "t", "u"],
        }
    )


def test_resample_monthly_per_group_keeps_gaps_missing() -> None:
    op = Resample(
        {
            "time_column": "date",
            "group_by": "site",
            "frequency": "MS",
            "aggregations": {"rain": "sum", "flow": "mean", "note": "count"},
        }
    )
    out = assert_code_matches(op, monthly_frame())
    assert list(out.columns) == ["site", "date", "rain", "flow", "note"]
    assert out["site"].tolist() == ["a", "a", "a", "a", "b"]
    assert out["date"].tolist() == list(
        pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01", "2020-02-01"])
    )
    # February is empty and April has only a missing rain value: both sums stay missing, not 0
    np.testing.assert_array_equal(out["rain"], [3.0, np.nan, 4.0, np.nan, 7.0])
    np.testing.assert_array_equal(out["flow"], [2.0, np.nan, 5.0, 2.0, 8.0])
    assert out["note"].tolist() == [2, 0, 1, 1, 1]


def test_resample_without_group_and_other_aggregations() -> None:
    op = Resample(
        {
            "time_column": "date",
            "frequency": "ME",
            "aggregations": {"flow": "max", "rain": "first", "note": "last"},
        }
    )
    out = assert_code_matches(op, monthly_frame())
    assert list(out.columns) == ["date", "flow", "rain", "note"]
    assert out["date"].dt.day.tolist() == [31, 29, 31, 30]
    np.testing.assert_array_equal(out["flow"], [3.0, 8.0, 5.0, 2.0])
    np.testing.assert_array_equal(out["rain"], [1.0, 7.0, 4.0, np.nan])  # first non-missing value
    assert out["note"].tolist() == ["q", "u", "s", "t"]
    for freq in ("D", "W", "QS", "YS", "h"):
        assert_code_matches(
            Resample({"time_column": "date", "frequency": freq, "aggregations": {"rain": "median"}}),
            monthly_frame(),
        )


def test_resample_journey_monthly_per_station_is_exact(daily: pd.DataFrame) -> None:
    op = Resample(
        {
            "time_column": "date",
            "group_by": "station_id",
            "frequency": "MS",
            "aggregations": {"precip_mm": "sum", "flow": "mean"},
        }
    )
    out = assert_code_matches(op, daily)
    assert len(out) == 5 * 25 * 12
    assert list(out.columns) == ["station_id", "date", "precip_mm", "flow"]
    first = daily[
        (daily["station_id"] == "ST02") & (daily["date"].dt.year == 2007) & (daily["date"].dt.month == 3)
    ]
    row = out[(out["station_id"] == "ST02") & (out["date"] == pd.Timestamp("2007-03-01"))].iloc[0]
    assert row["precip_mm"] == pytest.approx(first["precip_mm"].sum(), abs=1e-9)
    assert row["flow"] == pytest.approx(first["flow"].mean(), rel=1e-12)
    # totals over all months equal the daily totals (no rain lost or invented)
    assert out["precip_mm"].sum() == pytest.approx(daily["precip_mm"].sum(), rel=1e-12)


def test_resample_validation() -> None:
    df = monthly_frame()
    base = {"time_column": "date", "frequency": "MS"}
    assert errors_of(Resample({**base, "aggregations": {"note": "mean"}}), df) == ["aggregations"]
    assert errors_of(Resample({**base, "aggregations": {"rain": "mode"}}), df) == ["aggregations"]
    assert errors_of(Resample({**base, "aggregations": {"ghost": "sum"}}), df) == ["aggregations"]
    assert errors_of(Resample({**base, "aggregations": {"date": "count"}}), df) == ["aggregations"]
    assert errors_of(Resample({**base, "frequency": "M", "aggregations": {"rain": "sum"}}), df) == [
        "frequency"
    ]
    assert errors_of(Resample({**base, "time_column": "rain", "aggregations": {"flow": "sum"}}), df) == [
        "time_column"
    ]


# ------------------------------------------------------------------ regular steps


def test_make_regular_inserts_missing_days_per_group() -> None:
    df = series_frame().iloc[[4, 0, 1, 5, 3, 6]].reset_index(drop=True)  # unsorted; a misses 01-03, b 01-03
    out = assert_code_matches(MakeRegular({"time_column": "date", "group_by": "site", "frequency": "D"}), df)
    assert out["site"].tolist() == ["a"] * 4 + ["b"] * 4
    assert out["date"].dt.day.tolist() == [1, 2, 3, 4, 1, 2, 3, 4]
    np.testing.assert_array_equal(out["x"], [1.0, 2.0, np.nan, 4.0, 10.0, 20.0, np.nan, 40.0])
    assert out["n"].isna().tolist() == [False, False, True, False, False, False, True, False]


def test_make_regular_keeps_regular_frames_and_types() -> None:
    df = series_frame().iloc[:4]
    out = assert_code_matches(MakeRegular({"time_column": "date", "group_by": "site", "frequency": "D"}), df)
    pd.testing.assert_frame_equal(out, df)  # nothing to insert: int column stays int
    out = assert_code_matches(MakeRegular({"time_column": "date", "frequency": "D"}), df.iloc[[0, 3]])
    assert out["date"].dt.day.tolist() == [1, 2, 3, 4]
    monthly = pd.DataFrame({"date": ts("2020-01-01", "2020-04-01", None), "v": [1.0, 2.0, 3.0]})
    out = assert_code_matches(MakeRegular({"time_column": "date", "frequency": "MS"}), monthly)
    assert out["date"].dt.month.tolist()[:4] == [1, 2, 3, 4]
    assert len(out) == 5 and pd.isna(out["date"].iloc[4])  # the row without a time is kept, last
    assert_code_matches(MakeRegular({"time_column": "date", "frequency": "D"}), df.iloc[:0])


# ------------------------------------------------------------------ per-row features


def test_lag_features_within_groups(daily: pd.DataFrame) -> None:
    df = series_frame()
    op = LagFeatures({"columns": ["x"], "lags": [1, 2, -1], "group_by": "site", "time_column": "date"})
    out = assert_code_matches(op, df)
    assert list(out.columns[-3:]) == ["x_lag1", "x_lag2", "x_lead1"]
    np.testing.assert_array_equal(out["x_lag1"], [np.nan, 1.0, 2.0, np.nan, np.nan, 10.0, 20.0])
    np.testing.assert_array_equal(out["x_lag2"], [np.nan, np.nan, 1.0, 2.0, np.nan, np.nan, 10.0])
    np.testing.assert_array_equal(out["x_lead1"], [2.0, np.nan, 4.0, np.nan, 20.0, 40.0, np.nan])
    out = assert_code_matches(LagFeatures({"columns": [ODD], "lags": [1]}), df.rename(columns={"n": ODD}))
    np.testing.assert_array_equal(out[f"{ODD}_lag1"], [np.nan, 1, 2, 3, 4, 5, 6])
    # the journey: 1-3 month lags of flow and precipitation per station, after a monthly resample
    monthly = Resample(
        {
            "time_column": "date",
            "group_by": "station_id",
            "frequency": "MS",
            "aggregations": {"precip_mm": "sum", "flow": "mean"},
        }
    ).apply(daily, Context())
    op = LagFeatures({"columns": ["flow", "precip_mm"], "lags": [1, 2, 3], "group_by": "station_id"})
    out = assert_code_matches(op, monthly)
    st03 = out[out["station_id"] == "ST03"].reset_index(drop=True)
    assert st03["flow_lag3"].iloc[:3].isna().all()
    assert st03["flow_lag3"].iloc[10] == st03["flow"].iloc[7]
    assert st03["precip_mm_lag1"].iloc[5] == st03["precip_mm"].iloc[4]


def test_lag_features_validation() -> None:
    df = series_frame().assign(x_lag1=0.0)
    assert errors_of(LagFeatures({"columns": ["x"], "lags": [0]}), df) == ["lags"]
    assert errors_of(LagFeatures({"columns": ["x"], "lags": [1]}), df) == ["lags"]  # x_lag1 exists
    assert errors_of(LagFeatures({"columns": ["x"], "lags": [1.5]}), df) == ["lags"]
    assert errors_of(LagFeatures({"columns": ["x"], "lags": [2], "group_by": "x"}), df) == ["group_by"]
    assert errors_of(LagFeatures({"columns": ["x"], "lags": [2], "time_column": "x"}), df) == ["time_column"]


def test_rolling_window_by_rows_and_by_duration() -> None:
    df = series_frame()
    op = RollingWindow({"columns": ["x"], "window": "2", "stats": ["sum", "max"], "group_by": "site"})
    out = assert_code_matches(op, df)
    np.testing.assert_array_equal(out["x_roll2_sum"], [np.nan, 3.0, np.nan, np.nan, np.nan, 30.0, 60.0])
    np.testing.assert_array_equal(out["x_roll2_max"], [np.nan, 2.0, np.nan, np.nan, np.nan, 20.0, 40.0])
    op = RollingWindow(
        {"columns": ["x"], "window": "2", "stats": ["mean"], "min_periods": 1, "group_by": "site"}
    )
    out = assert_code_matches(op, df)
    np.testing.assert_array_equal(out["x_roll2_mean"], [1.0, 1.5, 2.0, 4.0, 10.0, 15.0, 30.0])
    # a 2-day window: b has no 01-03 row, so on 01-04 only 40 is inside
    op = RollingWindow(
        {"columns": ["x"], "window": "2D", "time_column": "date", "stats": ["sum"], "group_by": "site"}
    )
    out = assert_code_matches(op, df)
    np.testing.assert_array_equal(out["x_roll2D_sum"], [1.0, 3.0, 2.0, 4.0, 10.0, 30.0, 40.0])
    op = RollingWindow({"columns": ["n"], "window": "3", "stats": ["std", "min"]})
    out = assert_code_matches(op, df)
    assert out["n_roll3_std"].iloc[2:].tolist() == [1.0] * 5
    assert out["n_roll3_min"].iloc[2:].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    one = df[df["site"] == "a"]
    op = RollingWindow(
        {"columns": ["x"], "window": "48h", "time_column": "date", "stats": ["mean"], "min_periods": 2}
    )
    out = assert_code_matches(op, one)
    np.testing.assert_array_equal(out["x_roll48h_mean"], [np.nan, 1.5, np.nan, np.nan])


def test_rolling_window_needs_sorted_times_and_valid_parameters() -> None:
    df = series_frame()
    op = RollingWindow({"columns": ["x"], "window": "7D", "time_column": "date", "stats": ["sum"]})
    with pytest.raises(OperationError, match="Set time column"):
        op.apply(df, Context())  # two stations one after the other: times go back
    assert errors_of(RollingWindow({"columns": ["x"], "window": "a week"}), df) == ["window"]
    assert errors_of(RollingWindow({"columns": ["x"], "window": "1MS", "time_column": "date"}), df) == [
        "window"
    ]
    assert errors_of(RollingWindow({"columns": ["x"], "window": "7D"}), df) == ["time_column"]
    assert errors_of(RollingWindow({"columns": ["x"], "window": "3", "min_periods": 4}), df) == [
        "min_periods"
    ]
    assert errors_of(RollingWindow({"columns": ["x"], "window": "3", "stats": ["avg"]}), df) == ["stats"]
    assert errors_of(RollingWindow({"columns": ["site"], "window": "3"}), df) == ["columns"]
    assert [parse_window(w) for w in ("7", "0", "7d", "1.5h", "-2D", "W")] == [
        7,
        None,
        "7D",
        "90min",
        None,
        None,
    ]


def test_difference_and_percent_change_do_not_fill() -> None:
    df = series_frame()
    out = assert_code_matches(Difference({"columns": ["x", "n"], "group_by": "site"}), df)
    np.testing.assert_array_equal(out["x_diff1"], [np.nan, 1.0, np.nan, np.nan, np.nan, 10.0, 20.0])
    np.testing.assert_array_equal(out["n_diff1"], [np.nan, 1, 1, 1, np.nan, 1, 1])
    out = assert_code_matches(Difference({"columns": ["x"], "kind": "pct_change", "group_by": "site"}), df)
    # 4.0 after a missing value: no forward fill, so no change against 2.0
    np.testing.assert_array_equal(out["x_pct_change1"], [np.nan, 1.0, np.nan, np.nan, np.nan, 1.0, 1.0])
    out = assert_code_matches(Difference({"columns": ["n"], "periods": 3, "kind": "pct_change"}), df)
    assert out["n_pct_change3"].iloc[3:].tolist() == [3.0, 1.5, 1.0, 0.75]
    assert errors_of(Difference({"columns": ["x"], "periods": 0}), df) == ["periods"]
    assert errors_of(Difference({"columns": ["x"], "kind": "ratio"}), df) == ["kind"]


def test_cumulative_sum_skips_missing() -> None:
    df = series_frame()
    out = assert_code_matches(CumulativeSum({"columns": ["x", "n"], "group_by": "site"}), df)
    np.testing.assert_array_equal(out["x_cumsum"], [1.0, 3.0, np.nan, 7.0, 10.0, 30.0, 70.0])
    assert out["n_cumsum"].tolist() == [1, 3, 6, 10, 5, 11, 18]
    out = assert_code_matches(CumulativeSum({"columns": ["n"]}), df)
    assert out["n_cumsum"].iloc[-1] == 28
    assert errors_of(CumulativeSum({"columns": ["date"]}), df) == ["columns"]
    assert errors_of(CumulativeSum({"columns": ["n"]}), df.assign(n_cumsum=1)) == ["columns"]


def test_calendar_features_and_water_year() -> None:
    df = pd.DataFrame({"t": ts("2020-09-30", "2020-10-01", "2021-01-04", None)})
    op = CalendarFeatures(
        {
            "time_column": "t",
            "features": ["year", "month", "day", "dayofyear", "weekday", "quarter", "hydro_year"],
        }
    )
    out = assert_code_matches(op, df)
    assert out["year"].iloc[:3].tolist() == [2020, 2020, 2021]
    assert out["month"].iloc[:3].tolist() == [9, 10, 1]
    assert out["day"].iloc[:3].tolist() == [30, 1, 4]
    assert out["dayofyear"].iloc[:3].tolist() == [274, 275, 4]
    assert out["weekday"].iloc[:3].tolist() == [2, 3, 0]  # Wednesday, Thursday, Monday
    assert out["quarter"].iloc[:3].tolist() == [3, 4, 1]
    assert out["hydro_year"].iloc[:3].tolist() == [2020, 2021, 2021]  # named by the year in which it ends
    assert out.iloc[3, 1:].isna().all()
    out = assert_code_matches(
        CalendarFeatures({"time_column": "t", "features": ["hydro_year"], "hydro_year_start": 1}), df
    )
    assert out["hydro_year"].iloc[:3].tolist() == [2020, 2020, 2021]
    out = assert_code_matches(
        CalendarFeatures({"time_column": "t", "features": ["hydro_year"], "hydro_year_start": 4}), df
    )
    assert out["hydro_year"].iloc[:3].tolist() == [2021, 2021, 2021]
    assert errors_of(CalendarFeatures({"time_column": "t", "features": ["season"]}), df) == ["features"]
    assert errors_of(
        CalendarFeatures({"time_column": "t", "features": ["year"], "hydro_year_start": 13}), df
    ) == ["hydro_year_start"]
    assert errors_of(CalendarFeatures({"time_column": "t", "features": ["year"]}), df.assign(year=1)) == [
        "features"
    ]


def test_seasonal_features() -> None:
    df = pd.DataFrame({"t": ts("2020-03-15 06:00", "2020-12-01 18:00", None)})
    out = assert_code_matches(SeasonalFeatures({"time_column": "t", "period": "month"}), df)
    np.testing.assert_allclose(out["month_sin"].iloc[:2], [1.0, np.sin(2 * np.pi * 12 / 12)], atol=1e-12)
    np.testing.assert_allclose(out["month_cos"].iloc[:2], [0.0, 1.0], atol=1e-12)
    assert out[["month_sin", "month_cos"]].iloc[2].isna().all()
    out = assert_code_matches(SeasonalFeatures({"time_column": "t", "period": "hour"}), df)
    np.testing.assert_allclose(out["hour_sin"].iloc[:2], [1.0, -1.0], atol=1e-12)
    out = assert_code_matches(SeasonalFeatures({"time_column": "t"}), df)
    assert out["day_of_year_sin"].iloc[0] == np.sin(2 * np.pi * 75 / 365.25)
    assert errors_of(SeasonalFeatures({"time_column": "t", "period": "week"}), df) == ["period"]


# ------------------------------------------------------------------ gap report


def test_gap_report_missing_rows_and_values() -> None:
    df = pd.DataFrame(
        {
            "site": ["a"] * 6 + ["b"] * 3,
            "date": ts(
                "2020-01-01",
                "2020-01-02",
                "2020-01-05",
                "2020-01-06",
                "2020-01-07",
                "2020-01-09",
                "2020-01-01",
                "2020-01-02",
                "2020-01-03",
            ),
            "x": [1.0, 2.0, 3.0, np.nan, np.nan, 4.0, np.nan, 1.0, 1.0],
        }
    )
    op = GapReport({"time_column": "date", "group_by": "site", "frequency": "D"})
    out = assert_code_matches(op, df)
    assert list(out.columns) == ["site", "gap_start", "gap_end", "missing_steps"]
    assert out["site"].tolist() == ["a", "a"]
    assert out["gap_start"].tolist() == list(pd.to_datetime(["2020-01-03", "2020-01-08"]))
    assert out["gap_end"].tolist() == list(pd.to_datetime(["2020-01-04", "2020-01-08"]))
    assert out["missing_steps"].tolist() == [2, 1]
    # with a value column (and the step found from the data), days without x count too
    out = assert_code_matches(GapReport({"time_column": "date", "group_by": "site", "columns": ["x"]}), df)
    assert out.values.tolist() == [
        ["a", pd.Timestamp("2020-01-03"), pd.Timestamp("2020-01-04"), 2],
        ["a", pd.Timestamp("2020-01-06"), pd.Timestamp("2020-01-08"), 3],
        ["b", pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-01"), 1],
    ]
    # without a group the stations pool: b fills 01-03
    out = assert_code_matches(GapReport({"time_column": "date", "frequency": "D"}), df)
    assert out.values.tolist() == [
        [pd.Timestamp("2020-01-04"), pd.Timestamp("2020-01-04"), 1],
        [pd.Timestamp("2020-01-08"), pd.Timestamp("2020-01-08"), 1],
    ]
    monthly = pd.DataFrame({"date": ts("2020-01-15", "2020-02-03", "2020-05-20")})
    out = assert_code_matches(GapReport({"time_column": "date", "frequency": "MS"}), monthly)
    assert out.values.tolist() == [[pd.Timestamp("2020-03-01"), pd.Timestamp("2020-04-01"), 2]]
    empty = assert_code_matches(
        GapReport({"time_column": "date", "group_by": "site", "frequency": "D"}), df.iloc[:0]
    )
    assert len(empty) == 0 and list(empty.columns) == ["site", "gap_start", "gap_end", "missing_steps"]
    with pytest.raises(OperationError, match="expected frequency"):
        GapReport({"time_column": "date"}).apply(df.iloc[:1], Context())
    assert errors_of(GapReport({"time_column": "date", "columns": ["date"]}), df) == ["columns"]
    assert errors_of(GapReport({"time_column": "x"}), df) == ["time_column"]


def test_gap_report_finds_every_missing_flow_day(daily: pd.DataFrame) -> None:
    out = assert_code_matches(
        GapReport({"time_column": "date", "group_by": "station_id", "columns": ["flow"]}), daily
    )
    assert out["missing_steps"].sum() == daily["flow"].isna().sum()
    runs = daily["flow"].isna() & ~daily.groupby("station_id")["flow"].shift().isna()
    assert len(out) == runs.sum()
    assert out["missing_steps"].between(5, 60).all()  # the demo's flow gaps last 5-60 days
    assert (out["gap_end"] - out["gap_start"]).dt.days.add(1).tolist() == out["missing_steps"].tolist()


def test_rows_without_group_form_their_own_group_and_all_missing_columns_pass() -> None:
    df = series_frame()
    df.loc[2, "site"] = None  # a missing group value: the row forms a group of its own
    df["empty"] = np.nan
    ops = [
        LagFeatures({"columns": ["x", "empty"], "lags": [1], "group_by": "site"}),
        RollingWindow(
            {"columns": ["x", "empty"], "window": "2", "stats": ["sum"], "min_periods": 1, "group_by": "site"}
        ),
        RollingWindow(
            {"columns": ["x"], "window": "2D", "time_column": "date", "stats": ["mean"], "group_by": "site"}
        ),
        Difference({"columns": ["x"], "group_by": "site"}),
        CumulativeSum({"columns": ["x", "empty"], "group_by": "site"}),
    ]
    for op in ops:
        out = assert_code_matches(op, df)
        new = out.columns[len(df.columns) :]
        assert out.loc[2, new].isna().all()  # alone in its group, with a missing x
        assert out[[c for c in new if c.startswith("empty")]].isna().all().all()
    out = assert_code_matches(LagFeatures({"columns": ["x"], "lags": [1], "group_by": "site"}), df)
    assert out["x_lag1"].iloc[3] == 2.0  # the next row of group a skips the one without a group
    df.loc[2, "n"] = 30
    out = assert_code_matches(
        Resample(
            {
                "time_column": "date",
                "group_by": "site",
                "frequency": "D",
                "aggregations": {"empty": "sum", "n": "sum"},
            }
        ),
        df,
    )
    assert (
        len(out) == 9 and out["empty"].isna().all()
    )  # a: 01..04 (03 has no row left), b: 01..04, missing: 03
    assert out["site"].dtype == df["site"].dtype and pd.isna(out["site"].iloc[-1])
    assert out[["date", "n"]].iloc[-1].tolist() == [pd.Timestamp("2020-01-03"), 30]


def only_missing_groups() -> pd.DataFrame:
    """Three days of one series whose group column is entirely missing."""
    return pd.DataFrame(
        {
            "g": pd.Series([None] * 3, dtype="str"),
            "t": pd.date_range("2020-01-01", periods=3),
            "x": [1.0, 2.0, 3.0],
        }
    )


GROUPED_STEPS = [
    LagFeatures({"columns": ["x"], "lags": [1, -1], "group_by": "g"}),
    RollingWindow({"columns": ["x"], "window": "2", "stats": ["sum", "mean"], "group_by": "g"}),
    RollingWindow({"columns": ["x"], "window": "2D", "time_column": "t", "stats": ["sum"], "group_by": "g"}),
    Difference({"columns": ["x"], "group_by": "g"}),
    Difference({"columns": ["x"], "kind": "pct_change", "group_by": "g"}),
    CumulativeSum({"columns": ["x"], "group_by": "g"}),
    Resample({"time_column": "t", "group_by": "g", "frequency": "D", "aggregations": {"x": "sum"}}),
    MakeRegular({"time_column": "t", "group_by": "g", "frequency": "D"}),
    GapReport({"time_column": "t", "group_by": "g", "frequency": "D"}),
    GapReport({"time_column": "t", "group_by": "g"}),
    SetTimeColumn({"time_column": "t", "group_by": "g"}),
]


@pytest.mark.parametrize("step", GROUPED_STEPS, ids=lambda step: step.key)
def test_a_group_column_without_values_is_one_group(step) -> None:
    """Regression: rolling windows raised "need at least one array to concatenate" when no row had a group."""
    df = only_missing_groups()
    if isinstance(step, MakeRegular | GapReport):
        df = df.drop(index=1).reset_index(drop=True)  # a gap on 2020-01-02
    out = assert_code_matches(step, df)
    ungrouped = type(step)({**step.values, "group_by": None})
    expected = assert_code_matches(ungrouped, df)
    if isinstance(step, Resample | GapReport):
        expected.insert(0, "g", pd.Series([None] * len(expected), dtype="str"))
    pd.testing.assert_frame_equal(out, expected)


@pytest.mark.parametrize("step", GROUPED_STEPS, ids=lambda step: step.key)
def test_grouped_steps_on_an_empty_frame(step) -> None:
    df = only_missing_groups().iloc[:0]
    if isinstance(step, GapReport) and not step.values.get("frequency"):
        with pytest.raises(OperationError, match="expected frequency"):
            step.apply(df, Context())
        return
    out = assert_code_matches(step, df)
    assert len(out) == 0
    if isinstance(step, Resample):
        assert list(out.columns) == ["g", "t", "x"]
        assert out.dtypes.tolist() == [df["g"].dtype, df["t"].dtype, np.dtype("float64")]


def test_resample_with_a_column_called_name_and_no_groups() -> None:
    """Regression: pandas read the column "name" as the result's name on an empty grouped result (TypeError)."""
    df = pd.DataFrame(
        {
            "t": ts("2020-01-01", "2020-01-02"),
            "g": pd.Series([None, None], dtype="str"),
            "name": ["x", "y"],
            "v": [1.0, 2.0],
        }
    )
    step = Resample({"time_column": "t", "group_by": "g", "frequency": "MS", "aggregations": {"v": "sum"}})
    out = assert_code_matches(step, df)
    assert out.values.tolist()[0][1:] == [pd.Timestamp("2020-01-01"), 3.0] and pd.isna(out["g"].iloc[0])
    for frame in (df.iloc[:0], df.assign(t=pd.NaT)):  # empty results
        out = assert_code_matches(step, frame)
        assert len(out) == 0 and list(out.columns) == ["g", "t", "v"]
        assert out["g"].dtype == df["g"].dtype
    named = Resample(
        {
            "time_column": "t",
            "group_by": "g",
            "frequency": "MS",
            "aggregations": {"v": "sum", "name": "first"},
        }
    )
    assert list(assert_code_matches(named, df.iloc[:0]).columns) == ["g", "t", "v", "name"]
    assert list(assert_code_matches(Resample({**named.values, "group_by": None}), df.iloc[:0]).columns) == [
        "t",
        "v",
        "name",
    ]


def test_time_window_problems_are_named() -> None:
    df = only_missing_groups().assign(g=["a", "a", "b"])
    step = RollingWindow(
        {"columns": ["x"], "window": "2D", "time_column": "t", "stats": ["sum"], "group_by": "g"}
    )
    with pytest.raises(OperationError, match="missing time"):
        step.apply(df.assign(t=df["t"].where(df.index != 1)), Context())
    with pytest.raises(OperationError, match="not sorted by 't' within each g"):
        step.apply(df.iloc[[1, 0, 2]].reset_index(drop=True), Context())
    assert_code_matches(step, df.iloc[[2, 0, 1]].reset_index(drop=True))  # sorted within each group is enough


@pytest.mark.parametrize("window", ["2", "2D"])
def test_rolling_window_per_category_group_keeps_rows_without_a_category(window: str) -> None:
    """pandas' rolling per group left out rows whose category is missing (and failed when every row had none)."""
    df = only_missing_groups().assign(g=pd.Categorical(["a", None, None]))
    step = RollingWindow(
        {
            "columns": ["x"],
            "window": window,
            "time_column": "t",
            "stats": ["sum"],
            "min_periods": 1,
            "group_by": "g",
        }
    )
    out = assert_code_matches(step, df)
    assert out.iloc[:, -1].tolist() == [1.0, 2.0, 5.0]
    assert "df['g'].cat.codes" in step.code()[0]
    empty = df.assign(g=pd.Categorical([None] * 3, categories=["a"]))
    assert assert_code_matches(step, empty).iloc[:, -1].tolist() == [1.0, 3.0, 5.0]
