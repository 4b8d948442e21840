"""Quality report of a Parquet data source: statistics, histograms, top values, time coverage, edge cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hydroml.services.quality import quality_report


def write(frame: pd.DataFrame, tmp_path: Path, name: str = "data.parquet") -> Path:
    path = tmp_path / name
    frame.to_parquet(path, index=False)
    return path


def by_name(report: dict) -> dict[str, dict]:
    return {column["name"]: column for column in report["column_reports"]}


def test_numeric_statistics_equal_pandas(tmp_path):
    rng = np.random.default_rng(7)
    values = rng.normal(10, 3, 2_000)
    values[rng.random(2_000) < 0.1] = np.nan
    counts = pd.array(rng.integers(0, 50, 2_000), dtype="Int64")
    counts[rng.random(2_000) < 0.2] = pd.NA
    frame = pd.DataFrame({"flow": values, "count": counts})

    columns = by_name(quality_report(write(frame, tmp_path)))

    for name in ("flow", "count"):
        series, column = frame[name], columns[name]
        assert column["missing"] == int(series.isna().sum())
        assert column["missing_pct"] == round(100 * series.isna().mean(), 2)
        assert column["unique"] == series.nunique()
        assert column["min"] == pytest.approx(float(series.min()))
        assert column["max"] == pytest.approx(float(series.max()))
        assert column["mean"] == pytest.approx(float(series.mean()), rel=1e-12)
        assert column["std"] == pytest.approx(float(series.std()), rel=1e-12)
    assert columns["flow"]["dtype"] == "float"
    assert columns["count"]["dtype"] == "integer"


def test_histogram_counts_sum_to_the_finite_values(tmp_path):
    values = np.array([1.0, 2.0, 2.5, np.nan, np.inf, -np.inf, 7.0, 9.5])
    column = by_name(quality_report(write(pd.DataFrame({"x": values}), tmp_path)))["x"]

    histogram = column["histogram"]
    assert len(histogram["edges"]) == 21
    assert len(histogram["counts"]) == 20
    assert sum(histogram["counts"]) == 5
    assert histogram["edges"][0] == 1.0
    assert histogram["edges"][-1] == 9.5


def test_top_values_are_most_frequent_first_with_counts(tmp_path):
    frame = pd.DataFrame(
        {
            "station": ["b", "a", "b", "c", "b", "a", None],
            "kind": pd.Categorical(["x", "y", "y", "y", None, None, "x"]),
            "ok": pd.array([True, False, True, None, True, None, False], dtype="boolean"),
        }
    )
    columns = by_name(quality_report(write(frame, tmp_path)))

    assert columns["station"]["top"] == [["b", 3], ["a", 2], ["c", 1]]
    assert columns["station"]["unique"] == 3
    assert columns["kind"]["dtype"] == "category"
    assert columns["kind"]["top"] == [["y", 3], ["x", 2]]
    assert columns["ok"]["dtype"] == "boolean"
    assert columns["ok"]["top"] == [["True", 3], ["False", 2]]
    assert columns["ok"]["missing"] == 2
    assert columns["ok"]["mean"] is None


def test_top_values_keep_only_ten(tmp_path):
    values = [f"v{i:02d}" for i in range(30) for _ in range(30 - i)]
    column = by_name(quality_report(write(pd.DataFrame({"s": values}), tmp_path)))["s"]

    assert [value for value, _count in column["top"]] == [f"v{i:02d}" for i in range(10)]
    assert column["unique"] == 30


def test_daily_series_with_a_ten_day_hole(tmp_path):
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    kept = days[(days < "2024-01-21") | (days >= "2024-01-31")]  # 2024-01-21 .. 2024-01-30 missing
    column = by_name(quality_report(write(pd.DataFrame({"date": kept}), tmp_path)))["date"]

    info = column["datetime"]
    assert info["regular"] is True
    assert info["frequency"] == "1 day"
    assert info["gaps"] == 1
    assert info["longest_gap"] == "10 days"  # interval of 11 days - the 1-day step = 10 missing days
    assert info["duplicates"] == 0
    assert info["first"] == "2024-01-01T00:00:00" == column["min"]
    assert info["last"] == "2024-02-29T00:00:00" == column["max"]


def test_repeated_timestamps_are_counted_as_duplicates(tmp_path):
    stamps = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:15", "2024-01-01 00:15", "2024-01-01 00:30"])
    info = by_name(quality_report(write(pd.DataFrame({"t": stamps}), tmp_path)))["t"]["datetime"]

    assert info["duplicates"] == 1
    assert info["frequency"] == "15 minutes"
    assert info["gaps"] == 0
    assert info["longest_gap"] is None


def test_irregular_sampling_is_not_regular(tmp_path):
    rng = np.random.default_rng(3)
    seconds = np.cumsum(rng.integers(1, 100_000, 500))
    stamps = pd.to_datetime(seconds, unit="s")
    info = by_name(quality_report(write(pd.DataFrame({"t": stamps}), tmp_path)))["t"]["datetime"]

    assert info["regular"] is False
    assert info["frequency"] is None
    assert info["gaps"] == 0


def test_monthly_series_is_regular_despite_month_lengths(tmp_path):
    months = pd.date_range("2020-01-01", periods=36, freq="MS")
    info = by_name(quality_report(write(pd.DataFrame({"m": months}), tmp_path)))["m"]["datetime"]

    assert info["regular"] is True
    assert info["frequency"] == "1 month"
    assert info["gaps"] == 0


def test_utc_timestamps_from_mixed_offsets_are_iso_with_offset(tmp_path):
    stamps = pd.to_datetime(
        ["2024-03-01T10:00:00+01:00", "2024-03-01T10:00:00+00:00", "2024-03-01T12:00:00+02:00"], utc=True
    )
    column = by_name(quality_report(write(pd.DataFrame({"t": stamps}), tmp_path)))["t"]

    assert column["dtype"] == "datetime"
    assert column["min"] == "2024-03-01T09:00:00+00:00"
    assert column["max"] == "2024-03-01T10:00:00+00:00"
    assert column["datetime"]["duplicates"] == 1


def test_empty_table(tmp_path):
    frame = pd.DataFrame({"x": pd.Series([], dtype="float64"), "s": pd.Series([], dtype="str")})
    frame["t"] = pd.Series([], dtype="datetime64[ns]")
    report = quality_report(write(frame, tmp_path))

    assert report["rows"] == 0
    assert report["columns"] == 3
    for column in report["column_reports"]:
        assert column["missing"] == 0
        assert column["missing_pct"] == 0.0
        assert column["unique"] == 0
        assert column["min"] is None
        assert column["histogram"] is None
    assert by_name(report)["s"]["top"] == []
    assert by_name(report)["t"]["datetime"]["first"] is None


def test_all_missing_columns(tmp_path):
    frame = pd.DataFrame(
        {
            "x": [np.nan] * 4,
            "s": pd.Series([None] * 4, dtype="str"),
            "t": pd.Series([pd.NaT] * 4, dtype="datetime64[ns]"),
        }
    )
    columns = by_name(quality_report(write(frame, tmp_path)))

    for column in columns.values():
        assert column["missing"] == 4
        assert column["missing_pct"] == 100.0
        assert column["unique"] == 0
        assert column["min"] is None and column["mean"] is None
    assert columns["x"]["histogram"] is None
    assert columns["s"]["top"] == []
    assert columns["t"]["datetime"]["regular"] is False


def test_report_is_strict_json_and_keeps_html_names_verbatim(tmp_path):
    name = '<img src=x onerror="alert(1)">'
    frame = pd.DataFrame(
        {
            name: [1.0, np.inf, np.nan],
            "t": pd.to_datetime(["2024-01-01", None, "2024-01-03"]),
            "b": [True, False, True],
        }
    )
    report = quality_report(write(frame, tmp_path))

    text = json.dumps(report, allow_nan=False)
    assert json.loads(text) == report
    assert report["column_reports"][0]["name"] == name
    assert report["column_reports"][0]["max"] is None  # infinite -> None
    assert report["memory_bytes"] > 0


def test_many_columns(tmp_path):
    frame = pd.DataFrame(
        np.arange(600 * 5, dtype="float64").reshape(5, 600), columns=[f"c{i}" for i in range(600)]
    )
    report = quality_report(write(frame, tmp_path))

    assert report["columns"] == 600
    assert [c["name"] for c in report["column_reports"]] == list(frame.columns)
    assert all(math.isfinite(c["mean"]) for c in report["column_reports"])
    assert len(json.dumps(report)) < 600 * 3_000
