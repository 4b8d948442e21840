"""Computed-column operations: formula, math transform, binning, scaling, encoding, outliers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services.studio.operations import OPERATIONS, Context, OperationError, schema_of
from tests.unit.studio.helpers import assert_code_matches


def op(key: str, **values):
    return OPERATIONS[key](values)


def errors(operation, df: pd.DataFrame) -> dict[str, str]:
    return {e.param: e.message for e in operation.validate(schema_of(df))}


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series.tolist()]


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    from hydroml.services.demo_data import daily_hydrometeo

    return daily_hydrometeo()


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "flow (m3/s)": [1.0, 2.0, np.nan, 4.0, 100.0, -3.0],
            "n": [1, 2, 3, 4, 5, 6],
            "st 'id'": pd.Series(["A", "A", "B", "B", None, "C"], dtype="str"),
            "débit": [0.0, 10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )


EMPTY = pd.DataFrame(
    {
        "flow (m3/s)": pd.Series([], dtype="float64"),
        "n": pd.Series([], dtype="int64"),
        "st 'id'": pd.Series([], dtype="str"),
        "débit": pd.Series([], dtype="float64"),
    }
)


def test_registered_in_the_computed_group():
    keys = ["formula_column", "math_transform", "bin_column", "scale_columns", "encode_column", "outliers"]
    for key in keys:
        assert OPERATIONS[key].group == "Computed columns"
        assert OPERATIONS[key].summary


# ---------------------------------------------------------------------------------------------- formula


def test_formula_adds_a_column(small):
    step = op("formula_column", new_name="twice", formula="`flow (m3/s)` * 2 + n")
    out = assert_code_matches(step, small)
    assert list(out.columns) == [*small.columns, "twice"]
    assert values(out["twice"]) == [3.0, 6.0, None, 12.0, 205.0, 0.0]
    assert step.code() == ["df['twice'] = df['flow (m3/s)'] * 2 + df['n']"]
    assert step.describe() == "Formula twice = `flow (m3/s)` * 2 + n"


def test_formula_replaces_an_existing_column_in_place(small):
    step = op(
        "formula_column", new_name="flow (m3/s)", formula="where(`flow (m3/s)` < 0, nan, `flow (m3/s)`)"
    )
    out = assert_code_matches(step, small)
    assert list(out.columns) == list(small.columns)
    assert values(out["flow (m3/s)"]) == [1.0, 2.0, None, 4.0, 100.0, None]


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("`st 'id'` + '-' + `st 'id'`", ["A-A", "A-A", "B-B", "B-B", None, "C-C"]),
        ("isna(`st 'id'`)", [False, False, False, False, True, False]),
        ("7", [7] * 6),
        ("round(débit / 3, 1)", [0.0, 3.3, 6.7, 10.0, 13.3, 16.7]),
    ],
)
def test_formula_kinds(small, formula, expected):
    out = assert_code_matches(op("formula_column", new_name="r", formula=formula), small)
    assert values(out["r"]) == expected


def test_formula_on_demo_and_empty(demo):
    step = op("formula_column", new_name="flow_m3s", formula="where(station_id == 'ST04', flow / 1000, flow)")
    out = assert_code_matches(step, demo)
    st04 = demo["station_id"] == "ST04"
    assert out.loc[st04, "flow_m3s"].max() == pytest.approx(demo.loc[st04, "flow"].max() / 1000)
    assert out.loc[~st04, "flow_m3s"].equals(demo.loc[~st04, "flow"])
    assert len(assert_code_matches(op("formula_column", new_name="x", formula="n * 2"), EMPTY)) == 0


def test_formula_validation(small):
    assert errors(op("formula_column", new_name="x", formula="débt * 2"), small) == {
        "formula": "Formula: Unknown column 'débt' (at character 1). Did you mean 'débit'?"
    }
    assert (
        "Attribute access"
        in errors(op("formula_column", new_name="x", formula="n.__class__"), small)["formula"]
    )
    assert (
        "needs a number"
        in errors(op("formula_column", new_name="x", formula="sqrt(`st 'id'`)"), small)["formula"]
    )
    assert (
        "divides a number by zero"
        in errors(op("formula_column", new_name="x", formula="n + 1/0"), small)["formula"]
    )
    assert errors(op("formula_column", new_name="", formula="n"), small) == {
        "new_name": "New column: required."
    }
    assert set(errors(op("formula_column", new_name="x", formula=""), small)) == {"formula"}


def test_formula_apply_reports_changed_data():
    step = op("formula_column", new_name="x", formula="a * 2")
    with pytest.raises(OperationError, match="Unknown column 'a'"):
        step.apply(pd.DataFrame({"b": [1.0]}), Context())


# ---------------------------------------------------------------------------------------------- math


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"function": "log"}, [0.0, np.log(2.0), None, np.log(4.0), np.log(100.0), None]),
        ({"function": "log1p"}, [np.log(2.0), np.log(3.0), None, np.log(5.0), np.log(101.0), None]),
        ({"function": "sqrt"}, [1.0, np.sqrt(2.0), None, 2.0, 10.0, None]),
        ({"function": "exp"}, [np.e, np.exp(2.0), None, np.exp(4.0), np.exp(100.0), np.exp(-3.0)]),
        ({"function": "abs"}, [1.0, 2.0, None, 4.0, 100.0, 3.0]),
        ({"function": "power", "argument": 2}, [1.0, 4.0, None, 16.0, 10000.0, 9.0]),
        ({"function": "power", "argument": -1}, [1.0, 0.5, None, 0.25, 0.01, -1 / 3]),
        ({"function": "clip", "lower": 0, "upper": 10}, [1.0, 2.0, None, 4.0, 10.0, 0.0]),
        ({"function": "clip", "upper": 3}, [1.0, 2.0, None, 3.0, 3.0, -3.0]),
        ({"function": "round", "argument": -1}, [0.0, 0.0, None, 0.0, 100.0, -0.0]),
    ],
)
def test_math_transform_values(small, params, expected):
    out = assert_code_matches(op("math_transform", columns=["flow (m3/s)"], **params), small)
    got = values(out["flow (m3/s)"])
    for g, e in zip(got, expected, strict=True):
        assert (g is None and e is None) or g == pytest.approx(e)


def test_math_transform_suffix_and_integers(small):
    step = op("math_transform", columns=["n", "débit"], function="power", argument=-1, suffix="_inv")
    out = assert_code_matches(step, small)
    assert list(out.columns) == [*small.columns, "n_inv", "débit_inv"]
    assert out["n_inv"].tolist() == [1.0, 0.5, 1 / 3, 0.25, 0.2, 1 / 6]
    assert out["n"].equals(small["n"])
    assert step.code() == ["df['n_inv'] = df['n'] ** -1.0", "df['débit_inv'] = df['débit'] ** -1.0"]
    out = assert_code_matches(op("math_transform", columns=["n"], function="power", argument=2), small)
    assert out["n"].tolist() == [1, 4, 9, 16, 25, 36] and out["n"].dtype == "int64"
    out = assert_code_matches(op("math_transform", columns=["n"], function="round"), small)
    assert out["n"].equals(small["n"])


def test_math_transform_demo_and_empty(demo):
    out = assert_code_matches(op("math_transform", columns=["flow", "precip_mm"], function="log1p"), demo)
    assert out["flow"].isna().sum() >= demo["flow"].isna().sum()
    assert out["precip_mm"].min() == 0.0
    for function in ("log", "sqrt", "abs", "clip"):
        assert_code_matches(op("math_transform", columns=["débit", "n"], function=function, lower=1), EMPTY)


def test_math_transform_validation(small):
    assert errors(op("math_transform", columns=["st 'id'"], function="log"), small) == {
        "columns": "Columns: \"st 'id'\" is string; expected integer or float."
    }
    assert set(errors(op("math_transform", columns=["zz"], function="log"), small)) == {"columns"}
    assert set(errors(op("math_transform", columns=["n"], function="power"), small)) == {"argument"}
    assert set(errors(op("math_transform", columns=["n"], function="round", argument=1.5), small)) == {
        "argument"
    }
    assert set(errors(op("math_transform", columns=["n"], function="clip"), small)) == {"lower"}
    assert set(errors(op("math_transform", columns=["n"], function="clip", lower=5, upper=1), small)) == {
        "upper"
    }
    assert set(errors(op("math_transform", columns=["n"], function="sine"), small)) == {"function"}
    clash = small.assign(n_log=1.0)
    assert set(errors(op("math_transform", columns=["n"], function="log", suffix="_log"), clash)) == {
        "suffix"
    }


# ---------------------------------------------------------------------------------------------- binning


def test_bin_equal_width_intervals_and_codes():
    frame = pd.DataFrame({"x": [0.0, 1.0, 4.9, 5.1, 10.0, np.nan]})
    out = assert_code_matches(op("bin_column", column="x", bins=2), frame)
    assert isinstance(out["x_bin"].dtype, pd.CategoricalDtype) and out["x_bin"].cat.ordered
    assert values(out["x_bin"]) == ["(-0.01, 5.0]"] * 3 + ["(5.0, 10.0]"] * 2 + [None]
    out = assert_code_matches(op("bin_column", column="x", bins=2, labels="codes", new_name="code"), frame)
    assert values(out["code"]) == [0, 0, 0, 1, 1, None]
    assert op("bin_column", column="x", bins=2).code() == [
        "df['x_bin'] = pd.cut(df['x'], bins=2).cat.rename_categories(str)"
    ]


def test_bin_quantile_and_custom():
    frame = pd.DataFrame({"x": [1, 2, 3, 4, 5, 6, 7, 8]})
    out = assert_code_matches(op("bin_column", column="x", method="quantile", bins=4, labels="codes"), frame)
    assert out["x_bin"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    step = op("bin_column", column="x", method="custom", edges=[1, 3, 6], new_name="band")
    out = assert_code_matches(step, frame)
    assert values(out["band"]) == ["(0.999, 3.0]"] * 3 + ["(3.0, 6.0]"] * 3 + [None, None]
    assert step.describe() == "Bin x into bins at 1, 3, 6 → band"
    constant = pd.DataFrame({"x": [2.0, 2.0, 2.0]})
    out = assert_code_matches(
        op("bin_column", column="x", method="quantile", bins=3, labels="codes"), constant
    )
    assert out["x_bin"].isna().all()


def test_bin_demo_and_empty(demo):
    out = assert_code_matches(op("bin_column", column="air_temp_c", method="quantile", bins=4), demo)
    counts = out["air_temp_c_bin"].value_counts()
    assert len(counts) == 4 and counts.max() - counts.min() < 0.01 * len(demo)
    assert out["air_temp_c_bin"].isna().sum() == demo["air_temp_c"].isna().sum()
    assert len(assert_code_matches(op("bin_column", column="n", method="custom", edges=[0, 1]), EMPTY)) == 0
    with pytest.raises(OperationError, match="Cannot bin 'n': it has no values"):
        op("bin_column", column="n").apply(EMPTY, Context())
    all_missing = pd.DataFrame({"x": [np.nan, np.nan]})
    with pytest.raises(OperationError, match="it has no values"):
        op("bin_column", column="x").apply(all_missing, Context())
    out = assert_code_matches(op("bin_column", column="x", method="quantile"), all_missing)
    assert out["x_bin"].isna().all()


def test_bin_validation(small):
    assert set(errors(op("bin_column", column="st 'id'"), small)) == {"column"}
    assert set(errors(op("bin_column", column="n", bins=1), small)) == {"bins"}
    assert set(errors(op("bin_column", column="n", method="custom"), small)) == {"edges"}
    assert set(errors(op("bin_column", column="n", method="custom", edges=[1, 1, 2]), small)) == {"edges"}
    assert set(errors(op("bin_column", column="n", new_name="débit"), small)) == {"new_name"}
    assert errors(op("bin_column", column="n", method="custom", edges=[0, 2, 9]), small) == {}


# ---------------------------------------------------------------------------------------------- scaling


def test_scale_methods():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, np.nan], "b": [0, 5, 10, 20], "c": [7.0, 7.0, 7.0, 7.0]})
    out = assert_code_matches(op("scale_columns", columns=["a", "b", "c"], method="standard"), frame)
    assert values(out["a"]) == [-1.0, 0.0, 1.0, None]
    assert out["c"].tolist() == [0.0, 0.0, 0.0, 0.0]  # constant: divided by 1, not 0
    out = assert_code_matches(op("scale_columns", columns=["a", "b"], method="minmax"), frame)
    assert values(out["a"]) == [0.0, 0.5, 1.0, None]
    assert out["b"].tolist() == [0.0, 0.25, 0.5, 1.0]
    out = assert_code_matches(op("scale_columns", columns=["b"], method="robust"), frame)
    # median 7.5, quartiles 3.75 and 12.5 -> IQR 8.75
    assert out["b"].tolist() == pytest.approx([-7.5 / 8.75, -2.5 / 8.75, 2.5 / 8.75, 12.5 / 8.75])
    assert op("scale_columns", columns=["b"], method="minmax").code() == [
        "_center, _scale = df['b'].min(), df['b'].max() - df['b'].min()",
        "df['b'] = (df['b'] - _center) / (_scale if _scale > 0 else 1.0)",
        "del _center, _scale",
    ]


def test_scale_demo_empty_and_all_missing(demo):
    out = assert_code_matches(op("scale_columns", columns=["flow", "air_temp_c"]), demo)
    assert out["air_temp_c"].mean() == pytest.approx(0.0, abs=1e-9)
    assert out["air_temp_c"].std() == pytest.approx(1.0)
    assert len(assert_code_matches(op("scale_columns", columns=["n", "débit"], method="robust"), EMPTY)) == 0
    out = assert_code_matches(op("scale_columns", columns=["a"]), pd.DataFrame({"a": [np.nan, np.nan]}))
    assert out["a"].isna().all()
    assert set(errors(op("scale_columns", columns=["st 'id'"]), pd.DataFrame({"st 'id'": ["x"]}))) == {
        "columns"
    }
    assert "not leakage-safe" in (OPERATIONS["scale_columns"].__doc__ or "")


# ---------------------------------------------------------------------------------------------- encoding


def test_onehot(small):
    out = assert_code_matches(op("encode_column", column="st 'id'"), small)
    new = ["st 'id'_A", "st 'id'_B", "st 'id'_C"]
    assert list(out.columns) == [*small.columns, *new]
    assert out[new[0]].tolist() == [True, True, False, False, False, False]
    assert out[new[2]].tolist() == [False, False, False, False, False, True]
    assert not out.loc[4, new].any()  # missing value: all false
    out = assert_code_matches(op("encode_column", column="st 'id'", drop_original=True), small)
    assert "st 'id'" not in out.columns and list(out.columns)[-3:] == new


def test_ordinal_codes_keep_missing_missing(small):
    out = assert_code_matches(op("encode_column", column="st 'id'", method="ordinal"), small)
    assert values(out["st 'id'_code"]) == [0, 0, 1, 1, None, 2]
    category = pd.DataFrame({"c": pd.Categorical(["lo", "hi", "mid"], categories=["lo", "mid", "hi"])})
    out = assert_code_matches(op("encode_column", column="c", method="ordinal", drop_original=True), category)
    assert out["c"].tolist() == [0, 2, 1] and out["c"].dtype == "int64"


def test_rare_labels():
    frame = pd.DataFrame({"s": pd.Series(["a"] * 6 + ["b"] * 3 + ["c"] + [None] * 2, dtype="str")})
    out = assert_code_matches(op("encode_column", column="s", method="rare_label", min_share=0.2), frame)
    # shares among the 10 non-missing rows: a 0.6, b 0.3, c 0.1 -> c is rare
    assert values(out["s_grouped"]) == ["a"] * 6 + ["b"] * 3 + ["Other"] + [None] * 2
    category = frame.astype({"s": "category"})
    out = assert_code_matches(
        op("encode_column", column="s", method="rare_label", min_share=0.5, drop_original=True), category
    )
    assert values(out["s"]) == ["a"] * 6 + ["Other"] * 4 + [None] * 2
    assert out["s"].dtype == "str"


def test_encode_demo_empty_and_validation(demo, small):
    out = assert_code_matches(op("encode_column", column="station_id"), demo)
    assert out[[f"station_id_ST0{i}" for i in range(1, 6)]].sum().tolist() == [9131] * 5
    for method in ("onehot", "ordinal", "rare_label"):
        assert len(assert_code_matches(op("encode_column", column="st 'id'", method=method), EMPTY)) == 0
    assert set(errors(op("encode_column", column="débit"), small)) == {"column"}
    assert set(errors(op("encode_column", column="n", method="rare_label"), small)) == {"column"}
    clash = small.assign(n_code=0)
    assert set(errors(op("encode_column", column="n", method="ordinal"), clash)) == {"drop_original"}
    assert set(errors(op("encode_column", column="n", method="rare_label", min_share=2), small)) == {
        "min_share"
    }
    many = pd.DataFrame({"s": [f"v{i}" for i in range(150)]})
    with pytest.raises(OperationError, match="150 different values"):
        op("encode_column", column="s").apply(many, Context())
    clashing = pd.DataFrame({"s": ["x", "y"], "s_x": [1, 2]})
    with pytest.raises(OperationError, match="'s_x', which already exists"):
        op("encode_column", column="s").apply(clashing, Context())


# ---------------------------------------------------------------------------------------------- outliers


@pytest.fixture
def spiky() -> pd.DataFrame:
    # x: quartiles 2 and 4 -> IQR 2, fences -1 and 7 (factor 1.5)
    return pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, 4.0, 100.0, -50.0, np.nan, 2.0, 4.0, 3.0],
            "g": ["a", "a", "a", "a", "a", "b", "b", "b", "b", None],
        }
    )


def test_outliers_iqr_actions(spiky):
    out = assert_code_matches(op("outliers", columns=["x"]), spiky)
    assert out["x_outlier"].tolist() == [False] * 4 + [True, True] + [False] * 4
    out = assert_code_matches(op("outliers", columns=["x"], action="clip"), spiky)
    assert values(out["x"]) == [1.0, 2.0, 3.0, 4.0, 7.0, -1.0, None, 2.0, 4.0, 3.0]
    out = assert_code_matches(op("outliers", columns=["x"], action="set_missing"), spiky)
    assert values(out["x"]) == [1.0, 2.0, 3.0, 4.0, None, None, None, 2.0, 4.0, 3.0]
    out = assert_code_matches(op("outliers", columns=["x"], action="remove_rows"), spiky)
    assert values(out["x"]) == [1.0, 2.0, 3.0, 4.0, None, 2.0, 4.0, 3.0]
    out = assert_code_matches(op("outliers", columns=["x"], threshold=50, action="flag"), spiky)
    assert not out["x_outlier"].any()  # fences -98 and 104


def test_outliers_zscore_and_quantile():
    frame = pd.DataFrame({"x": [0.0] * 9 + [10.0], "y": list(range(10))})
    # mean 1, std 3.1623 -> |10 - 1| / 3.16 = 2.85 standard deviations
    out = assert_code_matches(op("outliers", columns=["x"], method="zscore", threshold=2.5), frame)
    assert out["x_outlier"].tolist() == [False] * 9 + [True]
    out = assert_code_matches(op("outliers", columns=["x"], method="zscore"), frame)
    assert not out["x_outlier"].any()
    # quantiles 0.1 and 0.9 of 0..9 are 0.9 and 8.1
    out = assert_code_matches(op("outliers", columns=["y"], method="quantile", lower=0.1, upper=0.9), frame)
    assert out["y_outlier"].tolist() == [True] + [False] * 8 + [True]
    out = assert_code_matches(
        op("outliers", columns=["y", "x"], method="quantile", lower=0.1, upper=0.9, action="remove_rows"),
        frame,
    )
    assert out["y"].tolist() == list(range(1, 9))


def test_outliers_per_group(spiky):
    out = assert_code_matches(
        op("outliers", columns=["x"], group_by="g", method="zscore", threshold=1.5), spiky
    )
    # group a: 1, 2, 3, 4, 100 -> mean 22, std 43.6 -> 100 is 1.79 std away; group b: -50, 2, 4 (nan ignored)
    assert out["x_outlier"].tolist() == [False] * 4 + [True] + [False] * 5
    out = assert_code_matches(op("outliers", columns=["x"], group_by="g", action="clip"), spiky)
    assert out.loc[9, "x"] == 3.0  # missing group: its own group (a single value)
    assert "_g = df.groupby('g', dropna=False)['x']" in op("outliers", columns=["x"], group_by="g").code()


def test_outliers_demo_and_empty(demo):
    step = op("outliers", columns=["flow", "precip_mm"], group_by="station_id", action="remove_rows")
    out = assert_code_matches(step, demo)
    assert 0 < len(demo) - len(out) < 0.2 * len(demo)
    flagged = assert_code_matches(op("outliers", columns=["flow"], method="quantile"), demo)
    assert flagged["flow_outlier"].sum() == pytest.approx(0.02 * demo["flow"].notna().sum(), rel=0.05)
    for action in ("flag", "clip", "set_missing", "remove_rows"):
        assert len(assert_code_matches(op("outliers", columns=["n", "débit"], action=action), EMPTY)) == 0
        assert (
            len(assert_code_matches(op("outliers", columns=["n"], group_by="st 'id'", action=action), EMPTY))
            == 0
        )


def test_outliers_validation(small):
    assert set(errors(op("outliers", columns=["st 'id'"]), small)) == {"columns"}
    assert set(errors(op("outliers", columns=["n"], group_by="n"), small)) == {"group_by"}
    assert set(errors(op("outliers", columns=["n"], group_by="zz"), small)) == {"group_by"}
    assert set(errors(op("outliers", columns=["n"], method="quantile", lower=0.9, upper=0.1), small)) == {
        "upper"
    }
    assert set(errors(op("outliers", columns=["n"], threshold=0), small)) == {"threshold"}
    assert set(errors(op("outliers", columns=["n"], threshold=-1), small)) == {"threshold"}
    assert set(errors(op("outliers", columns=["n"]), small.assign(n_outlier=1))) == {"action"}
    assert errors(op("outliers", columns=["n"], action="clip"), small.assign(n_outlier=1)) == {}


@pytest.mark.parametrize("action", ["flag", "clip", "remove_rows"])
def test_outliers_when_no_row_has_a_group_value(action):
    df = pd.DataFrame({"g": pd.Series([None] * 6, dtype="str"), "x": [1.0, 2.0, 3.0, 2.0, 1.0, 50.0]})
    grouped = assert_code_matches(op("outliers", columns=["x"], group_by="g", action=action), df)
    alone = assert_code_matches(op("outliers", columns=["x"], action=action), df)
    pd.testing.assert_frame_equal(grouped, alone)  # one group: the whole column
    assert (
        len(assert_code_matches(op("outliers", columns=["x"], group_by="g", action=action), df.iloc[:0])) == 0
    )
