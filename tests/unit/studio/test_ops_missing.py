"""Missing data operations: fill constant / statistic / direction / per group, and interpolation with a maximum gap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services.demo_data import daily_hydrometeo
from hydroml.services.studio.operations import OPERATIONS, Context, OperationError, schema_of
from tests.unit.studio.helpers import assert_code_matches

NAN = np.nan
FLOW = "débit 'm3/s'"  # a column name with a space, quotes and unicode


def op(key: str, **values):
    return OPERATIONS[key](values)


def errors_of(operation, df: pd.DataFrame) -> list[str]:
    return [e.param for e in operation.validate(schema_of(df))]


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return daily_hydrometeo()


def stations_frame() -> pd.DataFrame:
    """Two stations, daily. A: leading NaN, a 3-day gap, a 4-day gap, trailing NaN. B: leading NaN, 1-day gap."""
    a = [NAN, 1.0, NAN, NAN, NAN, 5.0, NAN, NAN, NAN, NAN, 10.0, NAN]
    b = [NAN, 30.0, NAN, 32.0, NAN]
    return pd.DataFrame(
        {
            "date": list(pd.date_range("2020-01-01", periods=12))
            + list(pd.date_range("2020-01-01", periods=5)),
            "station_id": ["A"] * 12 + ["B"] * 5,
            FLOW: a + b,
        }
    )


# ------------------------------------------------------------------ interpolate (the studio's done-means journey)


def test_interpolate_per_station_fills_gaps_up_to_max_gap_and_leaves_longer_gaps_untouched():
    df = stations_frame()
    out = assert_code_matches(
        op("interpolate", columns=[FLOW], method="linear", max_gap=3, group_by="station_id"), df
    )
    expected_a = [NAN, 1.0, 2.0, 3.0, 4.0, 5.0, NAN, NAN, NAN, NAN, 10.0, NAN]
    expected_b = [NAN, 30.0, 31.0, 32.0, NAN]
    np.testing.assert_array_equal(out[FLOW].to_numpy(), np.array(expected_a + expected_b))
    pd.testing.assert_frame_equal(out.drop(columns=FLOW), df.drop(columns=FLOW))


def test_editing_max_gap_to_four_fills_the_four_day_gap():
    df = stations_frame()
    out = assert_code_matches(
        op("interpolate", columns=[FLOW], method="linear", max_gap=4, group_by="station_id"), df
    )
    np.testing.assert_allclose(out[FLOW].iloc[6:10].to_numpy(), [6.0, 7.0, 8.0, 9.0])
    assert out[FLOW].iloc[[0, 11, 12, 16]].isna().all()  # leading / trailing values of each station


def test_interpolate_without_max_gap_fills_every_interior_gap_but_not_the_ends():
    out = assert_code_matches(op("interpolate", columns=[FLOW], group_by="station_id"), stations_frame())
    assert out[FLOW].isna().tolist() == [True] + [False] * 10 + [True] + [True, False, False, False, True]


def test_interpolate_never_bridges_two_stations():
    df = stations_frame()
    grouped = assert_code_matches(op("interpolate", columns=[FLOW], max_gap=3, group_by="station_id"), df)
    assert grouped[FLOW].iloc[[11, 12]].isna().all()
    # Without the group column the end of A and the start of B form one 2-row gap between 10 and 30.
    ungrouped = assert_code_matches(op("interpolate", columns=[FLOW], max_gap=3), df)
    np.testing.assert_allclose(ungrouped[FLOW].iloc[[11, 12]].to_numpy(), [10 + 20 / 3, 10 + 40 / 3])


def test_interpolate_per_station_works_when_stations_are_interleaved():
    df = stations_frame()
    values = {"columns": [FLOW], "max_gap": 3, "group_by": "station_id"}
    interleaved = df.sort_values(["date", "station_id"], kind="stable", ignore_index=True)
    out = assert_code_matches(op("interpolate", **values), interleaved)
    back = out.sort_values(["station_id", "date"], kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(back, assert_code_matches(op("interpolate", **values), df))


def test_interpolate_time_method_weights_by_elapsed_time():
    df = pd.DataFrame(
        {
            "t": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-06"]),
            "x": [0.0, NAN, 4.0, NAN],
        }
    )
    out = assert_code_matches(op("interpolate", columns=["x"], method="time", time_column="t"), df)
    assert out["x"].tolist()[:3] == [0.0, 1.0, 4.0]
    assert np.isnan(out["x"].iloc[3])
    linear = assert_code_matches(op("interpolate", columns=["x"], method="linear"), df)
    assert linear["x"].iloc[1] == 2.0


def test_interpolate_time_per_group_with_max_gap():
    df = stations_frame()
    values = {
        "columns": [FLOW],
        "method": "time",
        "time_column": "date",
        "group_by": "station_id",
        "max_gap": 3,
    }
    out = assert_code_matches(op("interpolate", **values), df)
    # Daily data: time interpolation equals linear interpolation.
    linear = assert_code_matches(op("interpolate", columns=[FLOW], max_gap=3, group_by="station_id"), df)
    pd.testing.assert_frame_equal(out, linear)


def test_interpolate_nearest_takes_the_closest_known_value():
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 3, "x": [NAN, 1.0, NAN, NAN, 4.0, 7.0, NAN, NAN]})
    out = assert_code_matches(op("interpolate", columns=["x"], method="nearest", group_by="g"), df)
    np.testing.assert_array_equal(out["x"].to_numpy(), [NAN, 1.0, 1.0, 4.0, 4.0, 7.0, NAN, NAN])
    assert_code_matches(op("interpolate", columns=["x"], method="nearest", max_gap=1), df)


def test_interpolate_refuses_unsorted_or_missing_times():
    df = pd.DataFrame({"t": pd.to_datetime(["2020-01-02", "2020-01-01", "2020-01-03"]), "x": [1.0, NAN, 3.0]})
    step = op("interpolate", columns=["x"], method="time", time_column="t")
    assert step.validate(schema_of(df)) == []
    with pytest.raises(OperationError, match="time order"):
        step.apply(df, Context())
    with pytest.raises(OperationError, match="missing values"):
        step.apply(df.assign(t=[pd.NaT, *df["t"].iloc[1:]]), Context())


def test_interpolate_validation_names_the_bad_parameter():
    df = stations_frame()
    assert errors_of(op("interpolate", columns=["station_id"]), df) == ["columns"]
    assert errors_of(op("interpolate", columns=["nope"]), df) == ["columns"]
    assert errors_of(op("interpolate", columns=[FLOW], method="time"), df) == ["time_column"]
    assert errors_of(op("interpolate", columns=[FLOW], method="time", time_column="station_id"), df) == [
        "time_column"
    ]
    assert errors_of(op("interpolate", columns=[FLOW], max_gap=0), df) == ["max_gap"]
    assert errors_of(op("interpolate", columns=[FLOW], method="cubic"), df) == ["method"]
    assert errors_of(op("interpolate", columns=[FLOW], group_by=FLOW), df) == ["group_by"]


def test_interpolate_demo_flow_gaps_are_longer_than_three_days_so_nothing_changes(demo):
    step = op("interpolate", columns=["flow"], method="linear", max_gap=3, group_by="station_id")
    out = assert_code_matches(step, demo)
    pd.testing.assert_frame_equal(out, demo)
    assert step.describe() == "Interpolate flow linear (gaps up to 3 rows, per station_id)"


def test_interpolate_demo_precipitation_fills_exactly_the_short_interior_gaps(demo):
    out = assert_code_matches(
        op("interpolate", columns=["precip_mm"], method="linear", max_gap=3, group_by="station_id"), demo
    )
    expected_filled = 0
    for _, values in demo.groupby("station_id")["precip_mm"]:
        missing = values.isna().to_numpy()
        run = 0
        for i, is_missing in enumerate(missing):
            if is_missing:
                run += 1
                continue
            if run and run <= 3 and i - run > 0:  # an interior gap (a value before it, this value after it)
                expected_filled += run
            run = 0
    filled = (demo["precip_mm"].isna() & out["precip_mm"].notna()).sum()
    assert filled == expected_filled > 0
    assert (out["precip_mm"].isna() & demo["precip_mm"].notna()).sum() == 0


# ------------------------------------------------------------------ fill with a constant


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            FLOW: [1.0, NAN, 3.0, NAN],
            "n": pd.array([1, None, 3, None], dtype="Int64"),
            "name": ["a", None, "c", None],
            "when": pd.to_datetime(["2020-01-01", None, "2020-01-03", None]),
            "kind": pd.Categorical(["x", None, "y", None]),
            "ok": pd.array([True, None, False, None], dtype="boolean"),
            "count": [1, 2, 3, 4],
        }
    )


def test_fill_constant_converts_the_text_to_each_column_type():
    df = mixed_frame()
    out = assert_code_matches(op("fill_constant", columns=[FLOW, "n", "count"], value="0"), df)
    assert out[FLOW].tolist() == [1.0, 0.0, 3.0, 0.0]
    assert out["n"].tolist() == [1, 0, 3, 0] and str(out["n"].dtype) == "Int64"
    assert out["count"].tolist() == [1, 2, 3, 4]
    out = assert_code_matches(op("fill_constant", columns=["name"], value="unknown"), df)
    assert out["name"].tolist() == ["a", "unknown", "c", "unknown"]
    out = assert_code_matches(op("fill_constant", columns=["when"], value="2021-06-01"), df)
    assert out["when"].iloc[1] == pd.Timestamp("2021-06-01")
    out = assert_code_matches(op("fill_constant", columns=["ok"], value="Yes"), df)
    assert out["ok"].tolist() == [True, True, False, True]


def test_fill_constant_adds_a_new_category_at_the_end():
    df = mixed_frame()
    out = assert_code_matches(op("fill_constant", columns=["kind"], value="none"), df)
    assert out["kind"].tolist() == ["x", "none", "y", "none"]
    assert list(out["kind"].cat.categories) == ["x", "y", "none"]
    out = assert_code_matches(op("fill_constant", columns=["kind"], value="x"), df)
    assert list(out["kind"].cat.categories) == ["x", "y"]


def test_fill_constant_rejects_values_the_column_cannot_hold():
    df = mixed_frame()
    assert errors_of(op("fill_constant", columns=[FLOW], value="abc"), df) == ["value"]
    assert errors_of(op("fill_constant", columns=["n"], value="2.5"), df) == ["value"]
    assert errors_of(op("fill_constant", columns=["when"], value="yesterday-ish"), df) == ["value"]
    assert errors_of(op("fill_constant", columns=["ok"], value="maybe"), df) == ["value"]
    assert errors_of(op("fill_constant", columns=[FLOW], value=""), df) == ["value"]
    message = op("fill_constant", columns=[FLOW], value="1,5").validate(schema_of(df))[0].message
    assert "dot" in message and FLOW in message


# ------------------------------------------------------------------ fill with a statistic


def test_fill_statistic_mean_median_mode():
    df = pd.DataFrame({"x": [1.0, NAN, 2.0, 6.0, NAN], "s": ["b", None, "a", "b", "a"], "e": [NAN] * 5})
    out = assert_code_matches(op("fill_statistic", columns=["x"], statistic="mean"), df)
    assert out["x"].tolist() == [1.0, 3.0, 2.0, 6.0, 3.0]
    out = assert_code_matches(op("fill_statistic", columns=["x"], statistic="median"), df)
    assert out["x"].tolist() == [1.0, 2.0, 2.0, 6.0, 2.0]
    out = assert_code_matches(op("fill_statistic", columns=["s", "x", "e"], statistic="mode"), df)
    assert out["s"].tolist() == ["b", "a", "a", "b", "a"]  # tie between a and b: the smallest
    assert out["x"].tolist() == [1.0, 1.0, 2.0, 6.0, 1.0]
    assert out["e"].isna().all()  # an all-missing column has no statistic and stays missing


def test_fill_statistic_mean_needs_numbers_and_whole_number_columns_refuse_fractions():
    df = mixed_frame()
    assert errors_of(op("fill_statistic", columns=["name"], statistic="mean"), df) == ["columns"]
    assert errors_of(op("fill_statistic", columns=["name"], statistic="mode"), df) == []
    whole = pd.DataFrame({"n": pd.array([1, None, 2, 4], dtype="Int64")})
    step = op("fill_statistic", columns=["n"], statistic="mean")  # 7/3 cannot go into a whole-number column
    assert step.validate(schema_of(whole)) == []
    with pytest.raises(OperationError, match="float"):
        step.apply(whole, Context())
    out = assert_code_matches(op("fill_statistic", columns=["n"], statistic="median"), whole)
    assert out["n"].tolist() == [1, 2, 2, 4]


# ------------------------------------------------------------------ forward / backward fill


def test_fill_direction_with_limit_and_groups():
    df = pd.DataFrame(
        {
            "g": ["a", "a", "a", "a", "b", "b", None, None],
            "x": [1.0, NAN, NAN, NAN, NAN, 5.0, 7.0, NAN],
        }
    )
    out = assert_code_matches(op("fill_direction", columns=["x"], direction="forward"), df)
    assert out["x"].tolist() == [1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 7.0, 7.0]
    out = assert_code_matches(
        op("fill_direction", columns=["x"], direction="forward", limit=2, group_by="g"), df
    )
    np.testing.assert_array_equal(out["x"].to_numpy(), [1.0, 1.0, 1.0, NAN, NAN, 5.0, 7.0, 7.0])
    out = assert_code_matches(op("fill_direction", columns=["x"], direction="backward", group_by="g"), df)
    np.testing.assert_array_equal(out["x"].to_numpy(), [1.0, NAN, NAN, NAN, 5.0, 5.0, 7.0, NAN])
    out = assert_code_matches(op("fill_direction", columns=["x", "g"], direction="backward", limit=1), df)
    np.testing.assert_array_equal(out["x"].to_numpy(), [1.0, NAN, NAN, NAN, 5.0, 5.0, 7.0, NAN])
    assert out["g"].iloc[:6].tolist() == ["a", "a", "a", "a", "b", "b"] and out["g"].iloc[6:].isna().all()


def test_fill_direction_validation():
    df = pd.DataFrame({"g": ["a"], "x": [1.0]})
    assert errors_of(op("fill_direction", columns=["x"], limit=0), df) == ["limit"]
    assert errors_of(op("fill_direction", columns=["x"], direction="sideways"), df) == ["direction"]
    assert errors_of(op("fill_direction", columns=["x"], group_by="x"), df) == ["group_by"]
    assert errors_of(op("fill_direction", columns=["x"], group_by="nope"), df) == ["group_by"]


# ------------------------------------------------------------------ per-group statistic


def test_fill_group_statistic_uses_each_groups_own_statistic():
    df = pd.DataFrame(
        {
            "station": ["a", "a", "a", "b", "b", "c"],
            FLOW: [1.0, NAN, 3.0, 10.0, NAN, NAN],
            "y": [NAN, 2, 4, 8, 9, 1.0],
        }
    )
    out = assert_code_matches(op("fill_group_statistic", columns=[FLOW, "y"], group_by="station"), df)
    np.testing.assert_array_equal(out[FLOW].to_numpy(), [1.0, 2.0, 3.0, 10.0, 10.0, NAN])
    assert out["y"].tolist() == [3.0, 2, 4, 8, 9, 1]
    out = assert_code_matches(
        op("fill_group_statistic", columns=[FLOW], group_by="station", statistic="mean"), df
    )
    assert out[FLOW].iloc[1] == 2.0
    assert errors_of(op("fill_group_statistic", columns=["station"], group_by=FLOW), df) == ["columns"]
    assert errors_of(op("fill_group_statistic", columns=[FLOW], group_by=FLOW), df) == ["group_by"]
    assert errors_of(op("fill_group_statistic", columns=[FLOW]), df) == ["group_by"]


def test_fill_group_statistic_on_demo_fills_every_flow_gap(demo):
    out = assert_code_matches(op("fill_group_statistic", columns=["flow"], group_by="station_id"), demo)
    assert out["flow"].notna().all()
    st04 = demo["station_id"] == "ST04"
    assert (out.loc[st04 & demo["flow"].isna(), "flow"] == demo.loc[st04, "flow"].median()).all()


# ------------------------------------------------------------------ every operation on edge frames


EDGE_STEPS = [
    ("fill_constant", {"columns": ["x", "s"], "value": "1"}),
    ("fill_statistic", {"columns": ["x"], "statistic": "mean"}),
    ("fill_statistic", {"columns": ["x", "s"], "statistic": "mode"}),
    ("fill_direction", {"columns": ["x", "s"], "direction": "forward", "group_by": "g"}),
    ("interpolate", {"columns": ["x"], "max_gap": 2, "group_by": "g"}),
    ("interpolate", {"columns": ["x"], "method": "time", "time_column": "t"}),
    ("interpolate", {"columns": ["x"], "method": "nearest", "group_by": "g"}),
    ("fill_group_statistic", {"columns": ["x"], "group_by": "g"}),
]


@pytest.mark.parametrize(("key", "values"), EDGE_STEPS)
@pytest.mark.parametrize("rows", ["empty", "all_missing"])
def test_missing_operations_handle_empty_and_all_missing_frames(key, values, rows):
    df = pd.DataFrame(
        {
            "t": pd.date_range("2020-01-01", periods=4),
            "g": ["a", "a", None, "b"],
            "x": [NAN] * 4,
            "s": pd.Series([None] * 4, dtype="str"),
        }
    )
    frame = df.iloc[:0] if rows == "empty" else df
    out = assert_code_matches(op(key, **values), frame)
    assert len(out) == len(frame)
    assert list(out.columns) == list(df.columns)


# ------------------------------------------------------------------ regressions


@pytest.mark.parametrize("value", ["missing", "1"])
def test_fill_constant_on_a_category_column_of_numbers_can_be_saved(value, tmp_path):
    """Regression: the text value next to number categories made to_parquet fail (ArrowInvalid)."""
    df = pd.DataFrame(
        {
            "f": pd.Categorical([1.5, 2.0, None]),
            "d": pd.Series(pd.to_datetime(["2020-01-01", None, "2020-01-02"])).astype("category"),
            "s": pd.Categorical(["b", None, "a"], categories=["b", "a", "z"]),
        }
    )
    out = assert_code_matches(op("fill_constant", columns=["f", "d", "s"], value=value), df)
    assert out["f"].tolist() == ["1.5", "2.0", value]  # the labels become text, like the value
    assert out["d"].tolist() == ["2020-01-01 00:00:00", value, "2020-01-02 00:00:00"]
    assert out["s"].tolist() == ["b", value, "a"]
    assert out["s"].cat.categories.tolist() == ["b", "a", "z", value]  # text labels keep their order
    out.to_parquet(tmp_path / "filled.parquet", index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "filled.parquet"), out)


GROUP_STEPS = [
    ("fill_direction", {"columns": ["x"], "direction": "forward"}),
    ("fill_direction", {"columns": ["x"], "direction": "backward", "limit": 1}),
    ("interpolate", {"columns": ["x"]}),
    ("interpolate", {"columns": ["x"], "method": "nearest", "max_gap": 1}),
    ("interpolate", {"columns": ["x"], "method": "time", "time_column": "t"}),
    ("fill_group_statistic", {"columns": ["x"], "statistic": "median"}),
]
GROUP_COLUMNS = {
    "text": pd.Series(["a", "a", None, None, "b", "b"], dtype="str"),
    "category": pd.Series(["a", "a", None, None, "b", "b"], dtype="category"),
    "integer": pd.Series([1, 1, None, None, 2, 2], dtype="Int64"),
    "boolean": pd.Series([True, True, None, None, False, False], dtype="boolean"),
    "all missing": pd.Series([None] * 6, dtype="str"),
}


@pytest.mark.parametrize(("key", "values"), GROUP_STEPS)
@pytest.mark.parametrize("group", list(GROUP_COLUMNS))
def test_rows_without_a_group_value_form_their_own_group(key, values, group):
    """Regression: interpolating per group raised "boolean value of NA is ambiguous" for <NA> group values."""
    df = pd.DataFrame(
        {
            "g": GROUP_COLUMNS[group],
            "t": pd.to_datetime(
                ["2020-01-01", "2020-01-02", "2020-01-01", "2020-01-03", "2020-01-01", "2020-01-02"]
            ),
            "x": [1.0, NAN, 3.0, NAN, NAN, 6.0],
        }
    )
    if group == "all missing":
        df["t"] = pd.date_range("2020-01-01", periods=6)
    out = assert_code_matches(op(key, **values, group_by="g"), df)
    # the same as each group on its own, the rows without a group value being one more group
    alone_key, alone_values = ("fill_statistic", values) if key == "fill_group_statistic" else (key, values)
    labels = df["g"].astype("str")  # plain text labels: pandas iterates over every group of them
    for _, rows in df.groupby(labels, dropna=False):
        alone = assert_code_matches(
            op(alone_key, **alone_values), rows.drop(columns="g").reset_index(drop=True)
        )
        np.testing.assert_array_equal(out.loc[rows.index, "x"], alone["x"])
