"""Hydrology operations (studio result == exported pandas code, plus hand-computed values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services.demo_data import daily_hydrometeo
from hydroml.services.studio.operations import OPERATIONS, Context, OperationError, schema_of
from hydroml.services.studio.operations.hydrology import (
    AntecedentPrecipitation,
    BaseflowLyneHollick,
    ConvertUnits,
    FlagNonpositiveFlow,
    FlowExceedance,
    _lyne_hollick,
)
from tests.unit.studio.helpers import assert_code_matches, run_code

ODD = "débit 'brut' ☔"  # a column name with a space, quotes and unicode


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return daily_hydrometeo()


def errors_of(op, df: pd.DataFrame) -> list[str]:
    return [e.param for e in op.validate(schema_of(df))]


def where(column: str, op: str, value) -> dict:
    return {"combine": "all", "rules": [{"column": column, "op": op, "value": value}]}


def test_registered_with_group() -> None:
    keys = {
        "convert_units",
        "flag_nonpositive_flow",
        "baseflow_lyne_hollick",
        "flow_exceedance",
        "antecedent_precipitation",
    }
    assert keys <= set(OPERATIONS)
    assert all(OPERATIONS[k].group == "Hydrology" for k in keys)


# ------------------------------------------------------------------ units


def test_convert_units_journey_one_station_in_litres(daily: pd.DataFrame) -> None:
    op = ConvertUnits(
        {
            "columns": ["flow"],
            "from_unit": "L/s",
            "to_unit": "m3/s",
            "only_where": where("station_id", "=", "ST04"),
        }
    )
    out = assert_code_matches(op, daily)
    st04 = daily["station_id"] == "ST04"
    pd.testing.assert_series_equal(out.loc[st04, "flow"], daily.loc[st04, "flow"] * 0.001)
    pd.testing.assert_series_equal(out.loc[~st04, "flow"], daily.loc[~st04, "flow"])
    assert out.groupby("station_id")["flow"].median().between(0.05, 50).all()  # all stations now in m3/s
    assert op.describe() == "Convert flow from L/s to m3/s where station_id = ST04"
    assert "* 0.001" in "\n".join(op.code())


@pytest.mark.parametrize(
    ("source", "target", "value", "expected"),
    [
        ("L/s", "m3/s", 1500.0, 1.5),
        ("m3/s", "L/s", 1.5, 1500.0),
        ("ft3/s", "m3/s", 1.0, 0.028316846592),
        ("ft3/s", "L/s", 1.0, 28.316846592),
        ("m3/s", "ft3/s", 0.028316846592, 1.0),
        ("in", "mm", 2.0, 50.8),
        ("mm", "in", 25.4, 1.0),
        ("C", "F", 100.0, 212.0),
        ("F", "C", -40.0, -40.0),
        ("F", "C", 212.0, 100.0),
    ],
)
def test_convert_units_factors(source: str, target: str, value: float, expected: float) -> None:
    df = pd.DataFrame({ODD: [value, np.nan]})
    out = assert_code_matches(ConvertUnits({"columns": [ODD], "from_unit": source, "to_unit": target}), df)
    assert out[ODD].iloc[0] == pytest.approx(expected, rel=1e-15)
    assert pd.isna(out[ODD].iloc[1])


def test_convert_units_several_columns_and_conditions() -> None:
    df = pd.DataFrame({"site": ["a", "b", None], "q1": [1000, 2000, 3000], "q2": [1.0, np.nan, 5.0]})
    cond = {
        "combine": "any",
        "rules": [
            {"column": "site", "op": "=", "value": "a"},
            {"column": "site", "op": "is missing", "value": None},
        ],
    }
    op = ConvertUnits({"columns": ["q1", "q2"], "from_unit": "L/s", "to_unit": "m3/s", "only_where": cond})
    out = assert_code_matches(op, df)
    assert out["q1"].tolist() == [1.0, 2000.0, 3.0]
    np.testing.assert_array_equal(out["q2"], [0.001, np.nan, 0.005])
    # the condition reads the values before conversion, even when it tests a converted column
    op = ConvertUnits(
        {"columns": ["q2"], "from_unit": "m3/s", "to_unit": "L/s", "only_where": where("q2", ">", "2")}
    )
    out = assert_code_matches(op, df)
    np.testing.assert_array_equal(out["q2"], [1.0, np.nan, 5000.0])
    # an empty condition list converts every row
    op = ConvertUnits(
        {"columns": ["q2"], "from_unit": "mm", "to_unit": "in", "only_where": {"combine": "all", "rules": []}}
    )
    out = assert_code_matches(op, df)
    assert op.values["only_where"] is None
    np.testing.assert_allclose(out["q2"], [1 / 25.4, np.nan, 5 / 25.4], rtol=1e-15)


def test_convert_units_validation() -> None:
    df = pd.DataFrame({"site": ["a"], "q": [1.0]})
    assert errors_of(ConvertUnits({"columns": ["q"], "from_unit": "L/s", "to_unit": "mm"}), df) == ["to_unit"]
    assert errors_of(ConvertUnits({"columns": ["q"], "from_unit": "C", "to_unit": "C"}), df) == ["to_unit"]
    assert errors_of(ConvertUnits({"columns": ["q"], "from_unit": "K", "to_unit": "C"}), df) == ["from_unit"]
    assert errors_of(ConvertUnits({"columns": ["site"]}), df) == ["columns"]
    bad = ConvertUnits({"columns": ["q"], "only_where": where("ghost", "=", "a")})
    assert errors_of(bad, df) == ["only_where"]
    bad = ConvertUnits({"columns": ["q"], "only_where": where("q", ">", "lots")})
    assert errors_of(bad, df) == ["only_where"]


# ------------------------------------------------------------------ non-positive flow


def test_flag_nonpositive_flow(daily: pd.DataFrame) -> None:
    df = pd.DataFrame({"q": [1.0, 0.0, -0.5, np.nan, 2.0], "n": [3, 0, -1, 2, 1]})
    out = assert_code_matches(FlagNonpositiveFlow({"column": "q"}), df)
    np.testing.assert_array_equal(out["q"], [1.0, 0.0, np.nan, np.nan, 2.0])
    out = assert_code_matches(FlagNonpositiveFlow({"column": "q", "which": "nonpositive"}), df)
    np.testing.assert_array_equal(out["q"], [1.0, np.nan, np.nan, np.nan, 2.0])
    out = assert_code_matches(
        FlagNonpositiveFlow({"column": "n", "which": "nonpositive", "action": "flag"}), df
    )
    assert out["n_nonpositive"].tolist() == [False, True, True, False, False]
    out = assert_code_matches(FlagNonpositiveFlow({"column": "q", "action": "flag"}), df)
    assert out["q_negative"].tolist() == [False, False, True, False, False]  # a missing flow is not flagged
    out = assert_code_matches(FlagNonpositiveFlow({"column": "n"}), df)
    np.testing.assert_array_equal(out["n"], [3, 0, np.nan, 2, 1])
    # the journey: negative glitches become missing
    out = assert_code_matches(FlagNonpositiveFlow({"column": "flow"}), daily)
    assert (out["flow"] < 0).sum() == 0
    assert out["flow"].isna().sum() == daily["flow"].isna().sum() + (daily["flow"] < 0).sum()
    assert errors_of(FlagNonpositiveFlow({"column": "q", "action": "flag"}), df.assign(q_negative=1)) == [
        "action"
    ]
    assert errors_of(FlagNonpositiveFlow({"column": "q", "action": "drop"}), df) == ["action"]


# ------------------------------------------------------------------ baseflow


def test_lyne_hollick_by_hand() -> None:
    # alpha 0.5, one pass: quick_k = 0.5 quick_k-1 + 0.75 (q_k - q_k-1); base = q - quick kept within [0, q]
    np.testing.assert_array_equal(_lyne_hollick([1.0, 3.0, 2.0, 1.0], 0.5, 1), [1.0, 1.5, 2.0, 1.0])
    # each run without missing values is filtered on its own
    np.testing.assert_array_equal(
        _lyne_hollick([1.0, 3.0, np.nan, 2.0, 1.0], 0.5, 1), [1.0, 1.5, np.nan, 2.0, 1.0]
    )
    # three passes: forward [1, 1.5, 2, 1] -> backward [1, 1.5, 1.25, 1] -> forward [1, 1.125, 1.25, 1]
    np.testing.assert_array_equal(_lyne_hollick([1.0, 3.0, 2.0, 1.0], 0.5, 2), [1.0, 1.5, 1.25, 1.0])
    np.testing.assert_array_equal(_lyne_hollick([1.0, 3.0, 2.0, 1.0], 0.5, 3), [1.0, 1.125, 1.25, 1.0])
    assert _lyne_hollick([], 0.925, 3).shape == (0,)
    assert np.isnan(_lyne_hollick([np.nan, np.nan], 0.925, 3)).all()


def test_baseflow_per_group_and_exact_code(daily: pd.DataFrame) -> None:
    df = pd.DataFrame(
        {"site": ["a", "b", "a", "b", "a", "a"], ODD: [1.0, 5.0, 3.0, 5.0, 2.0, 1.0]}
    )  # a: 1, 3, 2, 1 interleaved with b
    op = BaseflowLyneHollick({"column": ODD, "alpha": 0.5, "passes": 1, "group_by": "site"})
    out = assert_code_matches(op, df)
    np.testing.assert_array_equal(out["baseflow"], [1.0, 5.0, 1.5, 5.0, 2.0, 1.0])
    op = BaseflowLyneHollick({"column": "flow", "group_by": "station_id", "new_name": "bf"})
    out = assert_code_matches(op, daily)
    q, bf = daily["flow"], out["bf"]
    assert bf.isna().equals(q.isna())
    ok = q >= 0
    assert ((bf[ok] >= 0) & (bf[ok] <= q[ok])).all()
    bfi = bf[ok].sum() / q[ok].sum()
    assert 0.2 < bfi < 0.95  # a plausible baseflow index
    code = "\n".join(op.code())
    assert code.startswith("def _lyne_hollick(q, alpha, passes):") and "del _lyne_hollick" in code
    single = daily[daily["station_id"] == "ST01"].reset_index(drop=True)
    out = assert_code_matches(BaseflowLyneHollick({"column": "flow"}), single)
    np.testing.assert_array_equal(out["baseflow"], bf[daily["station_id"] == "ST01"])


def test_baseflow_validation() -> None:
    df = pd.DataFrame({"q": [1.0], "site": ["a"]})
    assert errors_of(BaseflowLyneHollick({"column": "q", "passes": 2}), df) == ["passes"]
    assert errors_of(BaseflowLyneHollick({"column": "q", "alpha": 1}), df) == ["alpha"]
    assert errors_of(BaseflowLyneHollick({"column": "q", "alpha": 1.5}), df) == ["alpha"]
    assert errors_of(BaseflowLyneHollick({"column": "q", "new_name": "site"}), df) == ["new_name"]
    assert errors_of(BaseflowLyneHollick({"column": "site"}), df) == ["column"]
    assert errors_of(BaseflowLyneHollick({"column": "q", "group_by": "q"}), df) == ["group_by"]


# ------------------------------------------------------------------ flow duration


def test_flow_exceedance_weibull() -> None:
    df = pd.DataFrame({"site": ["a"] * 5 + ["b"] * 2, "q": [10.0, 5.0, 5.0, np.nan, 1.0, 3.0, 4.0]})
    out = assert_code_matches(FlowExceedance({"column": "q", "group_by": "site"}), df)
    # a: n = 4; ranks (highest first, ties share the largest) 1, 3, 3, -, 4 -> / 5; b: n = 2 -> / 3
    np.testing.assert_allclose(out["q_exceedance"], [0.2, 0.6, 0.6, np.nan, 0.8, 2 / 3, 1 / 3], rtol=1e-15)
    out = assert_code_matches(FlowExceedance({"column": "q", "new_name": "p"}), df)
    np.testing.assert_allclose(out["p"], [1 / 7, 3 / 7, 3 / 7, np.nan, 6 / 7, 5 / 7, 4 / 7], rtol=1e-15)
    assert errors_of(FlowExceedance({"column": "q", "new_name": "site"}), df) == ["new_name"]
    assert errors_of(FlowExceedance({"column": "site"}), df) == ["column"]


def test_flow_exceedance_demo(daily: pd.DataFrame) -> None:
    out = assert_code_matches(FlowExceedance({"column": "flow", "group_by": "station_id"}), daily)
    p = out["flow_exceedance"]
    assert p.isna().equals(daily["flow"].isna())
    assert p.dropna().between(0, 1, inclusive="neither").all()
    st01 = out[out["station_id"] == "ST01"]
    n = st01["flow"].count()
    assert st01.loc[st01["flow"].idxmax(), "flow_exceedance"] == 1 / (n + 1)


# ------------------------------------------------------------------ antecedent precipitation


def test_antecedent_precipitation_excludes_the_current_day() -> None:
    dates = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "2020-01-05"])
    df = pd.DataFrame({"site": ["a"] * 5, "date": dates, "p": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = assert_code_matches(AntecedentPrecipitation({"column": "p", "days": 2, "time_column": "date"}), df)
    np.testing.assert_array_equal(out["p_prev2d"], [np.nan, 1.0, 3.0, 5.0, 7.0])
    op = AntecedentPrecipitation(
        {"column": "p", "days": 2, "time_column": "date", "min_periods": 2, "new_name": "api"}
    )
    out = assert_code_matches(op, df)
    np.testing.assert_array_equal(out["api"], [np.nan, np.nan, 3.0, 5.0, 7.0])
    # irregular rows: the window is [t - 2 days, t), not the two previous rows
    irregular = df.drop(index=2).reset_index(drop=True)
    out = assert_code_matches(
        AntecedentPrecipitation({"column": "p", "days": 2, "time_column": "date"}), irregular
    )
    np.testing.assert_array_equal(out["p_prev2d"], [np.nan, 1.0, 2.0, 4.0])
    two = pd.concat([df, df.assign(site="b", p=df["p"] * 10)], ignore_index=True)
    op = AntecedentPrecipitation({"column": "p", "days": 3, "time_column": "date", "group_by": "site"})
    out = assert_code_matches(op, two)
    np.testing.assert_array_equal(out["p_prev3d"], [np.nan, 1, 3, 6, 9, np.nan, 10, 30, 60, 90])
    with pytest.raises(OperationError, match="Set time column"):
        AntecedentPrecipitation({"column": "p", "days": 3, "time_column": "date"}).apply(two, Context())


def test_antecedent_precipitation_demo_and_validation(daily: pd.DataFrame) -> None:
    op = AntecedentPrecipitation(
        {"column": "precip_mm", "days": 3, "time_column": "date", "group_by": "station_id"}
    )
    out = assert_code_matches(op, daily)
    st = out[out["station_id"] == "ST05"].reset_index(drop=True)
    k = 100
    assert st.loc[k, "precip_mm_prev3d"] == pytest.approx(st.loc[k - 3 : k - 1, "precip_mm"].sum(), abs=1e-9)
    df = pd.DataFrame({"date": pd.to_datetime(["2020-01-01"]), "p": [1.0]})
    assert errors_of(AntecedentPrecipitation({"column": "p", "days": 0, "time_column": "date"}), df) == [
        "days"
    ]
    assert errors_of(AntecedentPrecipitation({"column": "p", "days": 2, "time_column": "p"}), df) == [
        "time_column"
    ]
    assert errors_of(AntecedentPrecipitation({"column": "p", "days": 2}), df) == ["time_column"]
    taken = AntecedentPrecipitation({"column": "p", "days": 2, "time_column": "date", "new_name": "p"})
    assert errors_of(taken, df) == ["new_name"]


def test_code_quotes_odd_names() -> None:
    odd = "a'b\"c ☔"
    df = pd.DataFrame({odd: [1.0, -2.0]})
    op = FlagNonpositiveFlow({"column": odd, "action": "flag"})
    out = run_code(op, df)
    assert out[f"{odd}_negative"].tolist() == [False, True]


def test_rows_without_group_form_their_own_group() -> None:
    df = pd.DataFrame(
        {
            "site": ["a", "a", None, "a", "b", None],
            "date": pd.to_datetime(
                ["2020-01-01", "2020-01-02", "2020-01-02", "2020-01-03", "2020-01-01", "2020-01-03"]
            ),
            "q": [1.0, 3.0, 9.0, 2.0, 4.0, 5.0],
        }
    )
    baseflow = BaseflowLyneHollick({"column": "q", "alpha": 0.5, "passes": 1, "group_by": "site"})
    out = assert_code_matches(baseflow, df)
    alone = assert_code_matches(baseflow, df[df["site"].isna()].reset_index(drop=True))
    np.testing.assert_array_equal(out["baseflow"].iloc[[2, 5]], alone["baseflow"])
    out = assert_code_matches(FlowExceedance({"column": "q", "group_by": "site"}), df)
    np.testing.assert_array_equal(out["q_exceedance"].iloc[[2, 5]], [1 / 3, 2 / 3])
    antecedent = AntecedentPrecipitation(
        {"column": "q", "days": 1, "time_column": "date", "group_by": "site"}
    )
    out = assert_code_matches(antecedent, df)
    np.testing.assert_array_equal(out["q_prev1d"], [np.nan, 1.0, np.nan, 3.0, np.nan, 9.0])


@pytest.mark.parametrize(
    "step",
    [
        BaseflowLyneHollick({"column": "q", "group_by": "site"}),
        FlowExceedance({"column": "q", "group_by": "site"}),
        AntecedentPrecipitation({"column": "q", "days": 2, "time_column": "date", "group_by": "site"}),
    ],
    ids=lambda step: step.key,
)
@pytest.mark.parametrize("rows", ["all_missing_group", "empty"])
def test_group_operations_with_only_missing_groups(step, rows) -> None:
    df = pd.DataFrame(
        {
            "site": pd.Series([None] * 3, dtype="str"),
            "date": pd.date_range("2020-01-01", periods=3),
            "q": [1.0, 2.0, 3.0],
        }
    )
    frame = df.iloc[:0] if rows == "empty" else df
    out = assert_code_matches(step, frame)
    assert len(out) == len(frame)
    if rows != "empty":
        ungrouped = assert_code_matches(type(step)({**step.values, "group_by": None}), frame)
        pd.testing.assert_frame_equal(out, ungrouped)


def test_convert_units_where_a_category_column_of_numbers_contains_text() -> None:
    """Regression: 'contains' on a category column of numbers raised AttributeError."""
    df = pd.DataFrame({"station": pd.Categorical([101, 202, None]), "q": [1000.0, 2000.0, 3000.0]})
    step = ConvertUnits(
        {
            "columns": ["q"],
            "from_unit": "L/s",
            "to_unit": "m3/s",
            "only_where": where("station", "contains", "10"),
        }
    )
    out = assert_code_matches(step, df)
    assert out["q"].tolist() == [1.0, 2000.0, 3000.0]


def test_antecedent_precipitation_per_category_group_keeps_missing_groups() -> None:
    """pandas' rolling per group leaves out rows whose category is missing; they form a group of their own."""
    df = pd.DataFrame(
        {
            "site": pd.Categorical(["a", None, "a", None]),
            "date": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-02", "2020-01-02"]),
            "p": [1.0, 10.0, 2.0, 20.0],
        }
    )
    step = AntecedentPrecipitation({"column": "p", "days": 1, "time_column": "date", "group_by": "site"})
    out = assert_code_matches(step, df)
    np.testing.assert_array_equal(out["p_prev1d"], [np.nan, np.nan, 1.0, 10.0])
    assert ".cat.codes" in "\n".join(step.code())
