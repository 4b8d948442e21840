"""Demo catchments generator: deterministic frames, model sanity and the documented data-quality traps."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from hydroml.services import demo_data
from hydroml.services.demo_data import (
    daily_hydrometeo,
    demo_frames,
    station_attributes,
    water_quality,
)

STATION_IDS = ["ST01", "ST02", "ST03", "ST04", "ST05"]
DAYS = 9131  # 1999-01-01 .. 2023-12-31


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return daily_hydrometeo()


@pytest.fixture(scope="module")
def quality() -> pd.DataFrame:
    return water_quality()


def _runs(mask: pd.Series) -> list[int]:
    """Lengths of the stretches of consecutive True values."""
    values = mask.to_numpy()
    edges = np.diff(np.concatenate([[0], values.astype(int), [0]]))
    return (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).tolist()


def _flow_m3s(daily: pd.DataFrame) -> pd.Series:
    return daily["flow"].where(daily["station_id"] != "ST04", daily["flow"] / 1000.0)


def test_same_seed_gives_identical_frames():
    first = demo_frames(7)
    demo_data._simulate.cache_clear()  # rerun the model instead of reusing the cached run
    second = demo_frames(7)

    for name in first:
        assert_frame_equal(first[name], second[name])


def test_different_seed_gives_different_frames(daily, quality):
    other = demo_frames(43)

    assert not other["Daily hydro-meteorology"].equals(daily)
    assert not other["Water quality samples"].equals(quality)


def test_demo_frames_are_keyed_by_data_source_name_in_order():
    assert list(demo_frames()) == ["Daily hydro-meteorology", "Water quality samples", "Station attributes"]


def test_daily_has_one_row_per_station_per_day(daily):
    assert daily.shape == (5 * DAYS, 5)
    assert daily.groupby("station_id").size().to_dict() == dict.fromkeys(STATION_IDS, DAYS)
    assert not daily.duplicated(["station_id", "date"]).any()


def test_daily_date_range_and_dtypes(daily):
    assert list(daily.columns) == ["date", "station_id", "precip_mm", "air_temp_c", "flow"]
    assert pd.api.types.is_datetime64_dtype(daily["date"])  # tz-naive
    assert daily["date"].min() == pd.Timestamp("1999-01-01")
    assert daily["date"].max() == pd.Timestamp("2023-12-31")
    assert (daily.loc[daily["station_id"] == "ST01", "date"].diff().dropna() == pd.Timedelta(days=1)).all()
    assert pd.api.types.is_string_dtype(daily["station_id"])
    for column in ("precip_mm", "air_temp_c", "flow"):
        assert pd.api.types.is_float_dtype(daily[column])


def test_values_are_rounded_like_a_logger(daily):
    for column, decimals in (("flow", 3), ("precip_mm", 1), ("air_temp_c", 1)):
        values = daily[column].dropna()
        assert np.allclose(values, values.round(decimals), rtol=0, atol=1e-9)


def test_st04_reports_flow_in_litres_per_second(daily):
    # The unit trap: ST04 medians are in the thousands (L/s), every other station is a few m3/s.
    medians = daily[daily["flow"] > 0].groupby("station_id")["flow"].median()

    assert medians["ST04"] > 500
    assert (medians.drop("ST04") < 50).all()
    assert 100 < medians["ST04"] / medians.drop("ST04").median() < 10_000


def test_every_station_has_3_to_8_isolated_negative_flow_glitches(daily):
    for station_id, group in daily.groupby("station_id"):
        negative = group["flow"] < 0
        assert 3 <= negative.sum() <= 8, station_id
        assert set(_runs(negative)) == {1}, station_id


def test_every_station_has_3_to_6_flow_gaps_of_5_to_60_days(daily):
    for station_id, group in daily.groupby("station_id"):
        gaps = _runs(group["flow"].isna())
        assert 3 <= len(gaps) <= 6, station_id
        assert all(5 <= gap <= 60 for gap in gaps), station_id


def test_precip_and_temperature_have_1_to_3_gaps_of_2_to_20_days(daily):
    for station_id, group in daily.groupby("station_id"):
        for column in ("precip_mm", "air_temp_c"):
            gaps = _runs(group[column].isna())
            assert 1 <= len(gaps) <= 3, (station_id, column)
            assert all(2 <= gap <= 20 for gap in gaps), (station_id, column)


def test_long_term_runoff_ratio_is_plausible_once_units_are_fixed(daily):
    area = station_attributes().set_index("station_id")["area_km2"]
    frame = daily.assign(flow_m3s=_flow_m3s(daily)).dropna()
    frame = frame[frame["flow_m3s"] >= 0]
    runoff_mm = frame["flow_m3s"] * 86.4 / frame["station_id"].map(area)
    ratio = runoff_mm.groupby(frame["station_id"]).mean() / frame.groupby("station_id")["precip_mm"].mean()

    assert ratio.between(0.1, 0.9).all(), ratio.to_dict()


def test_air_temperature_is_seasonal_and_snow_is_possible(daily):
    month = daily["date"].dt.month
    july = daily.loc[month == 7, "air_temp_c"].mean()
    january = daily.loc[month == 1, "air_temp_c"].mean()

    assert july - january > 8
    assert (daily["air_temp_c"] < 0).mean() > 0.02


def test_water_quality_timestamps_are_irregular(quality):
    assert list(quality.columns) == [
        "sample_time",
        "station_id",
        "fecal_coliforms_cfu_100ml",
        "ph",
        "conductivity_us_cm",
        "dissolved_oxygen_mg_l",
        "water_temp_c",
        "turbidity_ntu",
    ]
    assert pd.api.types.is_datetime64_dtype(quality["sample_time"])
    assert (quality["sample_time"].dt.hour > 0).all()  # grab samples carry a time of day
    for station_id, group in quality.groupby("station_id"):
        spacing = group["sample_time"].diff().dropna()
        assert spacing.min() < pd.Timedelta(days=7), station_id  # some weeks with several samples
        assert spacing.max() > pd.Timedelta(days=60), station_id  # skipped months / station-years
        assert spacing.nunique() > 50, station_id
        assert 200 < len(group) < 450, station_id


def test_a_few_station_years_have_no_samples(quality):
    years = range(1999, 2024)
    per_year = quality.groupby([quality["station_id"], quality["sample_time"].dt.year]).size()
    full = pd.MultiIndex.from_product([STATION_IDS, years])

    assert 3 <= (per_year.reindex(full, fill_value=0) == 0).sum() <= 5


def test_fecal_coliforms_are_higher_after_wet_days(daily, quality):
    ordered = daily.sort_values(["station_id", "date"])
    previous_two = ordered.groupby("station_id")["precip_mm"].transform(lambda s: s.shift(1) + s.shift(2))
    rain = ordered.assign(prev2_mm=previous_two)[["station_id", "date", "prev2_mm"]]
    samples = quality.assign(date=quality["sample_time"].dt.normalize()).merge(
        rain, on=["station_id", "date"]
    )
    coliforms = samples["fecal_coliforms_cfu_100ml"]

    after_wet = coliforms[samples["prev2_mm"] >= 10].mean()
    after_dry = coliforms[samples["prev2_mm"] == 0].mean()
    assert after_wet > 2 * after_dry


def test_dissolved_oxygen_falls_as_water_warms(quality):
    assert quality["water_temp_c"].corr(quality["dissolved_oxygen_mg_l"]) < -0.5


def test_turbidity_rises_with_flow(daily, quality):
    flow = daily.assign(flow_m3s=_flow_m3s(daily))[["station_id", "date", "flow_m3s"]]
    samples = quality.assign(date=quality["sample_time"].dt.normalize()).merge(
        flow, on=["station_id", "date"]
    )
    samples = samples[samples["flow_m3s"] > 0]
    relative_flow = samples["flow_m3s"] / samples.groupby("station_id")["flow_m3s"].transform("median")

    assert np.log(relative_flow).corr(np.log(samples["turbidity_ntu"])) > 0.5


def test_water_quality_values_are_plausible(quality):
    assert quality["ph"].dropna().between(5, 9.5).all()
    assert quality["fecal_coliforms_cfu_100ml"].dropna().between(1, 1e6).all()
    assert quality["conductivity_us_cm"].dropna().between(10, 2000).all()
    assert quality["dissolved_oxygen_mg_l"].dropna().between(2, 16).all()
    assert quality["water_temp_c"].dropna().between(0, 30).all()
    assert quality["turbidity_ntu"].dropna().between(0, 1000).all()


def test_each_water_quality_parameter_has_2_to_8_percent_missing(quality):
    missing = quality.drop(columns=["sample_time", "station_id"]).isna().mean()

    assert missing.between(0.015, 0.085).all(), missing.to_dict()
    assert quality[["sample_time", "station_id"]].notna().all().all()


def test_station_attributes_join_both_frames(daily, quality):
    attributes = station_attributes()

    assert attributes["station_id"].tolist() == STATION_IDS == [s["station_id"] for s in demo_data.STATIONS]
    assert attributes["station_id"].is_unique
    assert list(attributes.columns) == [
        "station_id",
        "name",
        "area_km2",
        "mean_slope_pct",
        "drainage_density_km_km2",
        "elevation_m",
        "latitude",
        "longitude",
    ]
    assert len(daily.merge(attributes, on="station_id", validate="many_to_one")) == len(daily)
    assert len(quality.merge(attributes, on="station_id", validate="many_to_one")) == len(quality)


def test_generation_takes_under_5_seconds():
    demo_data._simulate.cache_clear()  # time the model run too, not only the cached frames
    started = time.perf_counter()
    demo_frames(2024)

    assert time.perf_counter() - started < 5
