"""Structure operations: group by, pivot, melt, join and append (studio result == exported pandas code)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services.demo_data import daily_hydrometeo, station_attributes, water_quality
from hydroml.services.studio.operations import OPERATIONS, Context, OperationError, schema_of
from hydroml.services.studio.operations.structure import (
    AppendSource,
    GroupAggregate,
    JoinSource,
    Melt,
    Pivot,
)
from tests.unit.studio.helpers import assert_code_matches

ATTRS = {"data_source_id": "attrs", "version": 1, "name": "Station attributes"}
QUALITY = {"data_source_id": "wq", "version": 3, "name": "Water quality"}
DAILY = {"data_source_id": "daily", "version": 2, "name": "Daily"}
OTHER = {"data_source_id": "other", "version": 1, "name": "Other"}


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return daily_hydrometeo()


@pytest.fixture(scope="module")
def attributes() -> pd.DataFrame:
    return station_attributes()


@pytest.fixture(scope="module")
def quality() -> pd.DataFrame:
    return water_quality()


def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": ["b", "a", None, "a", "b", "a"],
            "month": [1, 1, 2, 2, 1, np.nan],
            "flow": [2.0, 4.0, 7.0, np.nan, 6.0, 1.0],
            "count": [1, 2, 3, 4, 5, 6],
            "ok": [True, False, True, True, True, False],
            "note": ["x", None, "z", "y", "x", "w"],
            "when": pd.to_datetime(
                ["2020-01-01", "2020-01-03", None, "2020-01-05", "2020-01-02", "2020-01-07"]
            ),
        }
    )


def ctx_with(frame: pd.DataFrame) -> Context:
    return Context(load_source=lambda _id, _version: frame)


def param_names(op, df) -> list[str]:
    return [e.param for e in op.validate(schema_of(df))]


def test_all_registered() -> None:
    for key in ("group_aggregate", "pivot", "melt", "join_source", "append_source"):
        assert OPERATIONS[key].group == "Structure"


# ---------------------------------------------------------------------------------------------- group by


def test_group_aggregate_values() -> None:
    op = GroupAggregate(
        {
            "group_by": ["site"],
            "aggregations": {"flow": "sum", "count": "mean", "note": "nunique", "when": "max", "ok": "count"},
        }
    )
    out = assert_code_matches(op, small())
    assert list(out.columns) == ["site", "flow_sum", "count_mean", "note_nunique", "when_max", "ok_count"]
    assert out["site"].tolist()[:2] == ["a", "b"] and pd.isna(
        out["site"].iloc[2]
    )  # sorted, missing key kept last
    assert out["flow_sum"].tolist() == [5.0, 8.0, 7.0]  # a: 4 + NaN + 1
    assert out["count_mean"].tolist() == [4.0, 3.0, 3.0]  # a: (2 + 4 + 6) / 3
    assert out["note_nunique"].tolist() == [2, 1, 1]  # a: None, y, w
    assert out["when_max"].iloc[0] == pd.Timestamp("2020-01-07") and pd.isna(out["when_max"].iloc[2])
    assert out["ok_count"].tolist() == [3, 2, 1]


@pytest.mark.parametrize("agg", ["median", "min", "max", "count", "nunique", "first", "last", "std", "mean"])
def test_group_aggregate_each_aggregation(agg: str) -> None:
    op = GroupAggregate({"group_by": ["site", "month"], "aggregations": {"flow": agg}})
    out = assert_code_matches(op, small())
    assert list(out.columns) == ["site", "month", f"flow_{agg}"]
    assert len(out) == 5  # (a,1) (a,2) (a,NaN) (b,1) (NaN,2): combinations with missing keys kept
    b1 = out[(out["site"] == "b") & (out["month"] == 1)][f"flow_{agg}"].iloc[0]
    expected = {"median": 4.0, "min": 2.0, "max": 6.0, "count": 2, "nunique": 2, "first": 2.0, "last": 6.0}
    expected |= {"std": np.std([2.0, 6.0], ddof=1), "mean": 4.0}
    assert b1 == pytest.approx(expected[agg])


def test_group_aggregate_odd_names_and_empty() -> None:
    df = pd.DataFrame({"site 'x'": ["p", "q", "p"], 'débit "m3/s"': [1.0, 2.0, 3.0], "class": [1, 2, 3]})
    op = GroupAggregate({"group_by": ["site 'x'"], "aggregations": {'débit "m3/s"': "mean", "class": "max"}})
    out = assert_code_matches(op, df)
    assert out['débit "m3/s"_mean'].tolist() == [2.0, 2.0]
    assert out["class_max"].tolist() == [3, 2]
    assert "**{" in op.code()[0]
    empty = assert_code_matches(op, df.iloc[:0])
    assert len(empty) == 0 and list(empty.columns) == ["site 'x'", 'débit "m3/s"_mean', "class_max"]
    # identifier names use readable keywords
    plain = GroupAggregate({"group_by": ["class"], "aggregations": {"site 'x'": "first"}})
    assert_code_matches(plain, df)
    keywords = GroupAggregate({"group_by": ["site 'x'"], "aggregations": {"class": "sum"}})
    assert "class_sum=('class', 'sum')" in keywords.code()[0]


def test_group_aggregate_all_missing_column() -> None:
    df = pd.DataFrame({"g": ["a", "a", "b"], "v": [np.nan, np.nan, np.nan]})
    out = assert_code_matches(GroupAggregate({"group_by": ["g"], "aggregations": {"v": "mean"}}), df)
    assert out["v_mean"].isna().all() and len(out) == 2


def test_group_aggregate_demo(daily: pd.DataFrame) -> None:
    op = GroupAggregate({"group_by": ["station_id"], "aggregations": {"flow": "mean", "precip_mm": "sum"}})
    out = assert_code_matches(op, daily)
    assert out["station_id"].tolist() == ["ST01", "ST02", "ST03", "ST04", "ST05"]
    st3 = daily[daily["station_id"] == "ST03"]
    assert out["flow_mean"].iloc[2] == pytest.approx(st3["flow"].mean())
    assert out["precip_mm_sum"].iloc[2] == pytest.approx(st3["precip_mm"].sum())


def test_group_aggregate_errors() -> None:
    df = small()
    assert param_names(GroupAggregate({"group_by": ["nope"], "aggregations": {"flow": "sum"}}), df) == [
        "group_by"
    ]
    assert param_names(GroupAggregate({"group_by": ["site"], "aggregations": {"nope": "sum"}}), df) == [
        "aggregations"
    ]
    assert param_names(GroupAggregate({"group_by": ["site"], "aggregations": {"flow": "avg"}}), df) == [
        "aggregations"
    ]
    assert param_names(GroupAggregate({"group_by": ["site"]}), df) == ["aggregations"]
    errors = GroupAggregate({"group_by": ["site"], "aggregations": {"note": "mean"}}).validate(schema_of(df))
    assert [e.param for e in errors] == ["aggregations"] and "'note' is text" in errors[0].message
    assert param_names(GroupAggregate({"group_by": ["site"], "aggregations": {"site": "count"}}), df) == [
        "aggregations"
    ]
    assert param_names(GroupAggregate({"group_by": ["site"], "aggregations": {"when": "std"}}), df) == [
        "aggregations"
    ]
    clash = df.rename(columns={"month": "flow_sum"})
    assert param_names(
        GroupAggregate({"group_by": ["flow_sum"], "aggregations": {"flow": "sum"}}), clash
    ) == ["aggregations"]
    cat = pd.DataFrame({"g": [1, 2], "c": pd.Categorical(["x", "y"])})
    assert param_names(GroupAggregate({"group_by": ["g"], "aggregations": {"c": "max"}}), cat) == [
        "aggregations"
    ]
    assert_code_matches(GroupAggregate({"group_by": ["g"], "aggregations": {"c": "first"}}), cat)


# ---------------------------------------------------------------------------------------------- pivot


def test_pivot_values() -> None:
    op = Pivot({"index": ["site"], "columns": "month", "values": "flow", "aggregation": "sum"})
    out = assert_code_matches(op, small())
    # month is float (it has a missing value); its row is left out; missing site kept last
    assert list(out.columns) == ["site", "flow_1.0", "flow_2.0"]
    assert out["site"].tolist()[:2] == ["a", "b"] and pd.isna(out["site"].iloc[2])
    assert out["flow_1.0"].tolist()[:2] == [4.0, 8.0] and pd.isna(out["flow_1.0"].iloc[2])
    assert (
        out["flow_2.0"].iloc[0] == 0.0 and pd.isna(out["flow_2.0"].iloc[1]) and out["flow_2.0"].iloc[2] == 7.0
    )


def test_pivot_default_mean_and_text_categories() -> None:
    df = pd.DataFrame(
        {
            "day": ["d1", "d1", "d2", "d2", "d1"],
            "station name": ["St 'A'", "Bé", "St 'A'", "Bé", "St 'A'"],
            "q": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    op = Pivot({"index": ["day"], "columns": "station name", "values": "q"})
    assert op.values["aggregation"] == "mean"
    out = assert_code_matches(op, df)
    assert list(out.columns) == ["day", "q_Bé", "q_St 'A'"]
    assert out["q_St 'A'"].tolist() == [3.0, 3.0] and out["q_Bé"].tolist() == [2.0, 4.0]
    counted = assert_code_matches(
        Pivot({"index": ["day"], "columns": "station name", "values": "q", "aggregation": "count"}), df
    )
    assert counted["q_St 'A'"].tolist() == [2, 1]
    empty = assert_code_matches(op, df.iloc[:0])
    assert len(empty) == 0 and list(empty.columns) == ["day"]


def test_pivot_demo(daily: pd.DataFrame) -> None:
    op = Pivot({"index": ["date"], "columns": "station_id", "values": "flow"})
    out = assert_code_matches(op, daily)
    assert list(out.columns) == ["date", "flow_ST01", "flow_ST02", "flow_ST03", "flow_ST04", "flow_ST05"]
    assert len(out) == daily["date"].nunique()
    row = daily[(daily["station_id"] == "ST02") & (daily["date"] == out["date"].iloc[100])]
    assert out["flow_ST02"].iloc[100] == row["flow"].iloc[0]


def test_pivot_too_many_columns() -> None:
    df = pd.DataFrame({"g": [1] * 1001, "c": np.arange(1001), "v": np.ones(1001)})
    op = Pivot({"index": ["g"], "columns": "c", "values": "v"})
    assert op.validate(schema_of(df)) == []
    with pytest.raises(OperationError, match="1,001 distinct values.*more than 1,000 columns"):
        op.apply(df, Context())
    assert_code_matches(op, df.iloc[:1000])


def test_pivot_name_clash() -> None:
    df = pd.DataFrame({"v_x": [1, 2], "c": ["x", "y"], "v": [1.0, 2.0]})
    with pytest.raises(OperationError, match="v_x"):
        Pivot({"index": ["v_x"], "columns": "c", "values": "v"}).apply(df, Context())


def test_pivot_errors() -> None:
    df = small()
    assert param_names(Pivot({"index": ["site"], "columns": "site", "values": "flow"}), df) == ["columns"]
    assert param_names(Pivot({"index": ["site"], "columns": "month", "values": "month"}), df) == ["values"]
    assert param_names(Pivot({"index": ["site"], "columns": "month", "values": "note"}), df) == [
        "aggregation"
    ]
    assert param_names(Pivot({"index": ["nope"], "columns": "month", "values": "flow"}), df) == ["index"]
    assert param_names(
        Pivot({"index": ["site"], "columns": "month", "values": "flow", "aggregation": "x"}), df
    ) == ["aggregation"]
    assert param_names(Pivot({"index": ["site"], "columns": "month"}), df) == ["values"]


# ---------------------------------------------------------------------------------------------- melt


def test_melt_values() -> None:
    df = pd.DataFrame({"id": ["a", "b"], "x 'm'": [1.0, np.nan], "y": [3.0, 4.0], "z": [5.0, 6.0]})
    op = Melt(
        {"id_columns": ["id"], "value_columns": ["y", "x 'm'"], "variable_name": "what", "value_name": "ü"}
    )
    out = assert_code_matches(op, df)
    assert list(out.columns) == ["id", "what", "ü"]
    assert out["id"].tolist() == ["a", "b", "a", "b"]
    assert out["what"].tolist() == ["y", "y", "x 'm'", "x 'm'"]
    assert out["ü"].tolist()[:3] == [3.0, 4.0, 1.0] and np.isnan(out["ü"].iloc[3])


def test_melt_defaults() -> None:
    df = pd.DataFrame({"id": ["a", None], "x": [1, 2], "y": [3.5, 4.0]})
    out = assert_code_matches(Melt({"id_columns": ["id"]}), df)
    assert list(out.columns) == ["id", "variable", "value"]
    assert out["variable"].tolist() == ["x", "x", "y", "y"]
    assert out["value"].tolist() == [1.0, 2.0, 3.5, 4.0]
    everything = assert_code_matches(Melt({}), df[["x", "y"]])
    assert len(everything) == 4 and list(everything.columns) == ["variable", "value"]
    empty = assert_code_matches(Melt({"id_columns": ["id"]}), df.iloc[:0])
    assert len(empty) == 0


def test_melt_demo(daily: pd.DataFrame) -> None:
    op = Melt({"id_columns": ["date", "station_id"], "value_columns": ["precip_mm", "air_temp_c"]})
    out = assert_code_matches(op, daily)
    assert len(out) == 2 * len(daily)
    assert out["value"].iloc[len(daily) + 7] == daily["air_temp_c"].iloc[7]


def test_melt_errors() -> None:
    df = small()
    assert param_names(Melt({"id_columns": ["site"], "value_columns": ["flow", "note"]}), df) == [
        "value_columns"
    ]
    assert param_names(Melt({"id_columns": ["site"], "value_columns": ["site", "flow"]}), df) == [
        "value_columns"
    ]
    assert param_names(Melt({"id_columns": list(df.columns)}), df) == ["value_columns"]
    assert param_names(
        Melt({"id_columns": ["site"], "value_columns": ["flow"], "variable_name": "site"}), df
    ) == ["variable_name"]
    assert param_names(
        Melt({"id_columns": ["site"], "value_columns": ["flow"], "value_name": "count"}), df
    ) == ["value_name"]
    assert param_names(
        Melt({"id_columns": ["site"], "value_columns": ["flow"], "variable_name": "v", "value_name": "v"}), df
    ) == ["value_name"]
    assert param_names(Melt({"id_columns": ["site"], "value_columns": ["flow"], "value_name": ""}), df) == [
        "value_name"
    ]


# ---------------------------------------------------------------------------------------------- join


def test_join_demo_attributes(daily: pd.DataFrame, attributes: pd.DataFrame) -> None:
    op = JoinSource({"source": ATTRS, "how": "left", "left_on": ["station_id"], "right_on": ["station_id"]})
    out = assert_code_matches(op, daily, sources={("attrs", 1): attributes})
    assert len(out) == len(daily)
    assert list(out.columns) == list(daily.columns) + [c for c in attributes.columns if c != "station_id"]
    pd.testing.assert_series_equal(out["flow"], daily["flow"])  # current order kept
    area = attributes.set_index("station_id")["area_km2"]
    assert (out["area_km2"] == out["station_id"].map(area)).all()
    assert "on=['station_id']" in op.code()[0] and "SOURCES['attrs@v1']" in op.code()[0]
    assert op.describe() == "Left join Station attributes on station_id"


def test_join_kinds_small() -> None:
    left = pd.DataFrame({"k": ["b", "a", None, "c"], "x": [1, 2, 3, 4]})
    right = pd.DataFrame({"code": ["a", "b", "d"], "x": [10, 20, 30], "y": [1.5, 2.5, 3.5]})
    sources = {("other", 1): right}
    base = {"source": OTHER, "left_on": ["k"], "right_on": ["code"]}
    inner = assert_code_matches(JoinSource(base | {"how": "inner"}), left, sources)
    assert inner["k"].tolist() == ["b", "a"] and inner["x_right"].tolist() == [20, 10]
    assert list(inner.columns) == ["k", "x", "code", "x_right", "y"]
    lj = assert_code_matches(JoinSource(base | {"how": "left", "suffix": " (other)"}), left, sources)
    assert (
        lj["x"].tolist() == [1, 2, 3, 4] and lj["y"].tolist()[:2] == [2.5, 1.5] and lj["y"].isna().sum() == 2
    )
    assert "x (other)" in lj.columns
    rj = assert_code_matches(JoinSource(base | {"how": "right"}), left, sources)
    assert rj["code"].tolist() == ["a", "b", "d"] and rj["x"].tolist()[:2] == [2.0, 1.0]
    outer = assert_code_matches(JoinSource(base | {"how": "outer"}), left, sources)
    assert len(outer) == 5 and outer["code"].tolist()[:2] == ["a", "b"]
    assert_code_matches(JoinSource(base | {"how": "inner"}), left.iloc[:0], sources)


def test_join_several_keys_odd_names() -> None:
    left = pd.DataFrame({"st 'id'": ["a", "a", "b"], "année": [2020, 2021, 2020], "v": [1.0, 2.0, 3.0]})
    right = pd.DataFrame({"st 'id'": ["a", "b"], "année": [2021, 2020], "w": ["p", "q"]})
    op = JoinSource(
        {"source": OTHER, "how": "left", "left_on": ["st 'id'", "année"], "right_on": ["st 'id'", "année"]}
    )
    out = assert_code_matches(op, left, {("other", 1): right})
    assert out["w"].tolist()[1:] == ["p", "q"] and pd.isna(out["w"].iloc[0])


def test_join_errors_at_apply() -> None:
    left = pd.DataFrame({"k": ["a", "b"], "x": [1, 2]})
    op = JoinSource({"source": OTHER, "how": "left", "left_on": ["k"], "right_on": ["nope"]})
    assert op.validate(schema_of(left)) == []
    with pytest.raises(OperationError, match="no column named 'nope'"):
        op.apply(left, ctx_with(pd.DataFrame({"k": ["a"]})))
    numeric = JoinSource({"source": OTHER, "how": "left", "left_on": ["k"], "right_on": ["k"]})
    with pytest.raises(OperationError, match=r"'k' is text .* number .*change type"):
        numeric.apply(left, ctx_with(pd.DataFrame({"k": [1, 2], "y": [1, 2]})))
    with pytest.raises(OperationError, match="suffix"):
        numeric.apply(left.assign(x_right=0), ctx_with(pd.DataFrame({"k": ["a"], "x": [5]})))
    with pytest.raises(OperationError, match="not available"):
        numeric.apply(left, Context())


def test_join_validation_errors() -> None:
    df = small()
    base = {"source": OTHER, "how": "left", "left_on": ["site"], "right_on": ["site"]}
    assert param_names(JoinSource(base | {"right_on": ["a", "b"]}), df) == ["right_on"]
    assert param_names(JoinSource(base | {"left_on": ["nope"]}), df) == ["left_on"]
    assert param_names(JoinSource(base | {"source": None}), df) == ["source"]
    assert param_names(JoinSource(base | {"how": "cross"}), df) == ["how"]
    assert param_names(JoinSource(base | {"suffix": ""}), df) == ["suffix"]
    asof = base | {"how": "asof", "left_on": ["when"], "right_on": ["t"]}
    assert param_names(JoinSource(asof | {"left_on": ["site"]}), df) == ["left_on"]
    assert param_names(JoinSource(asof | {"left_on": ["when", "month"], "right_on": ["t", "m"]}), df) == [
        "left_on"
    ]
    assert param_names(JoinSource(asof | {"tolerance": "soon"}), df) == ["tolerance"]
    assert param_names(JoinSource(asof | {"tolerance": "3"}), df) == [
        "tolerance"
    ]  # a bare number is not a duration
    assert param_names(JoinSource(asof | {"tolerance": "-2D"}), df) == ["tolerance"]
    assert param_names(JoinSource(asof | {"left_on": ["count"], "tolerance": "1.5"}), df) == ["tolerance"]
    assert param_names(JoinSource(asof | {"left_on": ["flow"], "tolerance": "1.5"}), df) == []
    assert param_names(JoinSource(asof | {"left_on": ["flow"], "tolerance": "inf"}), df) == ["tolerance"]
    assert param_names(JoinSource(asof | {"by": ["site"], "right_by": ["a", "b"]}), df) == ["right_by"]
    assert param_names(JoinSource(asof | {"by": ["when"]}), df) == ["by"]
    assert param_names(JoinSource(asof | {"direction": "up"}), df) == ["direction"]
    assert param_names(JoinSource(asof | {"tolerance": "12h", "by": ["site"]}), df) == []


def test_asof_quality_to_daily(daily: pd.DataFrame, quality: pd.DataFrame) -> None:
    """Each water-quality sample gets the latest daily row of its station at or before the sample time."""
    op = JoinSource(
        {
            "source": DAILY,
            "how": "asof",
            "left_on": ["sample_time"],
            "right_on": ["date"],
            "by": ["station_id"],
        }
    )
    out = assert_code_matches(op, quality, sources={("daily", 2): daily})
    assert len(out) == len(quality)
    assert out["sample_time"].is_monotonic_increasing  # documented order: sorted by the time column
    sample = out.iloc[200]
    expected_day = sample["sample_time"].normalize()
    assert sample["date"] == expected_day
    match = daily[(daily["station_id"] == sample["station_id"]) & (daily["date"] == expected_day)]
    assert sample["air_temp_c"] == match["air_temp_c"].iloc[0]
    assert op.describe() == "As-of join Daily on sample_time = date per station_id (backward)"


@pytest.mark.parametrize("direction", ["backward", "forward", "nearest"])
def test_asof_daily_to_quality_tolerance(daily: pd.DataFrame, quality: pd.DataFrame, direction: str) -> None:
    left = (
        daily[daily["station_id"].isin(["ST01", "ST02"])].iloc[::-1].reset_index(drop=True)
    )  # unsorted input
    op = JoinSource(
        {
            "source": QUALITY,
            "how": "asof",
            "left_on": ["date"],
            "right_on": ["sample_time"],
            "by": ["station_id"],
            "tolerance": "3D",
            "direction": direction,
        }
    )
    out = assert_code_matches(op, left, sources={("wq", 3): quality})
    assert len(out) == len(left) and out["date"].is_monotonic_increasing
    matched = out.dropna(subset=["sample_time"])
    gap = (matched["sample_time"] - matched["date"]).abs()
    assert (gap <= pd.Timedelta("3D")).all() and len(matched) > 100
    if direction == "backward":
        assert (matched["sample_time"] <= matched["date"]).all()
    if direction == "forward":
        assert (matched["sample_time"] >= matched["date"]).all()
    # hand check one day: the ST01 sample of 1999-01-14 09:09 is the nearest within 3 days of 1999-01-15
    row = out[(out["station_id"] == "ST01") & (out["date"] == pd.Timestamp("1999-01-15"))].iloc[0]
    if direction == "forward":
        assert pd.isna(row["sample_time"]) or row["sample_time"] > pd.Timestamp("1999-01-15")
    else:
        assert row["sample_time"] == pd.Timestamp("1999-01-14 09:09")
    assert "tolerance=pd.Timedelta('3D')" in op.code()[2]


def test_asof_numeric_keys_units_and_names() -> None:
    left = pd.DataFrame({"km 'x'": [5, 1, 3, 9], "g": ["a", "a", "b", "a"]})
    right = pd.DataFrame({"pos": [0, 4, 2, 8], "grp": ["a", "a", "b", None], "val": [10.0, 40.0, 20.0, 80.0]})
    op = JoinSource(
        {
            "source": OTHER,
            "how": "asof",
            "left_on": ["km 'x'"],
            "right_on": ["pos"],
            "by": ["g"],
            "right_by": ["grp"],
            "tolerance": "2",
        }
    )
    out = assert_code_matches(op, left, {("other", 1): right})
    assert out["km 'x'"].tolist() == [1, 3, 5, 9]
    assert out["val"].tolist()[:3] == [10.0, 20.0, 40.0] and np.isnan(out["val"].iloc[3])  # 9 - 4 > 2
    # datetime units differ between the sides (ns here, us in the other source's file): aligned, same result
    lt = pd.DataFrame({"t": pd.to_datetime(["2020-01-02", "2020-01-05"]).astype("datetime64[ns]")})
    rt = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", None]).astype("datetime64[us]"), "v": [1, 2]})
    timed = assert_code_matches(
        JoinSource({"source": OTHER, "how": "asof", "left_on": ["t"], "right_on": ["t"]}),
        lt,
        {("other", 1): rt},
    )
    assert timed["v"].tolist() == [1, 1]


def test_asof_errors_at_apply() -> None:
    left = pd.DataFrame({"t": [1, 2, None], "g": ["a", "b", "c"]})
    op = JoinSource({"source": OTHER, "how": "asof", "left_on": ["t"], "right_on": ["t"]})
    with pytest.raises(OperationError, match="1 row.*no value in 't'"):
        op.apply(left, ctx_with(pd.DataFrame({"t": [1.0]})))
    ints = pd.DataFrame({"t": [1, 2]})
    with pytest.raises(OperationError, match="'t' is number \\(integer\\).*float"):
        op.apply(ints, ctx_with(pd.DataFrame({"t": [1.0]})))
    by = JoinSource({"source": OTHER, "how": "asof", "left_on": ["t"], "right_on": ["t"], "by": ["g"]})
    with pytest.raises(OperationError, match="no column named 'g'"):
        by.apply(ints.assign(g="a"), ctx_with(pd.DataFrame({"t": [1]})))
    with pytest.raises(OperationError, match="'g' is text"):
        by.apply(ints.assign(g="a"), ctx_with(pd.DataFrame({"t": [1], "g": [1]})))


# ---------------------------------------------------------------------------------------------- append


def test_append_values() -> None:
    df = pd.DataFrame({"a": [1, 2], "b b": ["x", None]})
    other = pd.DataFrame({"c": [True], "a": [3]})
    out = assert_code_matches(AppendSource({"source": OTHER}), df, {("other", 1): other})
    assert list(out.columns) == ["a", "b b", "c"]
    assert out["a"].tolist() == [1, 2, 3]
    assert out["b b"].isna().tolist() == [False, True, True]
    assert out["c"].isna().tolist() == [True, True, False]
    assert AppendSource({"source": OTHER}).describe() == "Append rows of Other"
    assert_code_matches(AppendSource({"source": OTHER}), df.iloc[:0], {("other", 1): other})


def test_append_demo(attributes: pd.DataFrame) -> None:
    op = AppendSource({"source": ATTRS, "require_same_columns": True})
    out = assert_code_matches(op, attributes, {("attrs", 1): attributes})
    assert len(out) == 10 and out["station_id"].tolist() == attributes["station_id"].tolist() * 2


def test_append_errors() -> None:
    df = pd.DataFrame({"a": [1], "b": ["x"]})
    op = AppendSource({"source": OTHER, "require_same_columns": True})
    with pytest.raises(OperationError, match="only here: b; only in Other: c"):
        op.apply(df, ctx_with(pd.DataFrame({"a": [1], "c": [2]})))
    loose = AppendSource({"source": OTHER})
    with pytest.raises(OperationError, match="'b' is text here but number"):
        loose.apply(df, ctx_with(pd.DataFrame({"b": [1.5]})))
    assert param_names(AppendSource({}), df) == ["source"]
    assert param_names(AppendSource({"source": OTHER, "require_same_columns": "yes"}), df) == [
        "require_same_columns"
    ]


@pytest.mark.parametrize("keys", [["g"], ["g", "c"]])
def test_group_aggregate_when_no_row_has_a_group_value(keys) -> None:
    df = pd.DataFrame(
        {
            "g": pd.Series([None] * 3, dtype="str"),
            "c": pd.Categorical([None] * 3, categories=["a"]),
            "x": [1.0, 2.0, 3.0],
        }
    )
    op = GroupAggregate({"group_by": keys, "aggregations": {"x": "sum"}})
    out = assert_code_matches(op, df)
    assert len(out) == 1 and out["x_sum"].tolist() == [6.0] and out[keys].isna().all().all()
    assert len(assert_code_matches(op, df.iloc[:0])) == 0
