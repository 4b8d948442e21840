"""Row operations and the shared condition builder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services.demo_data import daily_hydrometeo
from hydroml.services.studio.operations import OPERATIONS, Context, OperationError, schema_of
from hydroml.services.studio.operations.rows import (
    CONDITION_OPS,
    check_conditions,
    condition_code,
    condition_mask,
)
from tests.unit.studio.helpers import assert_code_matches

NAN = np.nan
NAME = "nom 'station' é"  # a column name with spaces, quotes and unicode


def op(key: str, **values):
    return OPERATIONS[key](values)


def errors_of(operation, df: pd.DataFrame) -> list[str]:
    return [e.param for e in operation.validate(schema_of(df))]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "flow": [1.0, NAN, 3.0, 4.0, 5.0, NAN],
            "n": [10, 20, 30, 40, 50, 60],
            NAME: ["ST01", "ST02", None, "ST01", "xST01", "ST03"],
            "date": pd.to_datetime(
                ["2020-01-01", "2020-01-02", None, "2020-01-04", "2020-01-05", "2020-01-06"]
            ),
            "ok": [True, False, True, False, True, False],
            "kind": pd.Categorical(["a", "b", "a", None, "b", "a"]),
        }
    )


def where(*rules, combine="all") -> dict:
    return {
        "combine": combine,
        "rules": [dict(zip(("column", "op", "value"), r, strict=False)) for r in rules],
    }


def rows_kept(conditions: dict, df: pd.DataFrame | None = None) -> list[int]:
    """Indices of the rows the filter keeps (checked against the generated code too)."""
    df = frame() if df is None else df
    out = assert_code_matches(op("filter_rows", conditions=conditions), df.assign(_row=range(len(df))))
    mask = condition_mask(df, conditions)
    assert out["_row"].tolist() == list(np.flatnonzero(mask.fillna(False).to_numpy()))
    return out["_row"].tolist()


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return daily_hydrometeo()


# ------------------------------------------------------------------ conditions


def test_condition_ops_are_the_builders_fourteen_tests():
    assert CONDITION_OPS == (
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "between",
        "in",
        "not in",
        "contains",
        "starts with",
        "regex",
        "is missing",
        "not missing",
    )


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (("flow", "=", "3"), [2]),
        (("flow", "!=", "3"), [0, 1, 3, 4, 5]),  # missing is "not equal" (pandas semantics)
        (("flow", "<", "3"), [0]),
        (("flow", "<=", "3"), [0, 2]),
        (("flow", ">", 3), [3, 4]),
        (("flow", ">=", "3.0"), [2, 3, 4]),
        (("flow", "between", "2,4"), [2, 3]),
        (("flow", "between", [1, 3]), [0, 2]),
        (("n", "in", "10, 30,60"), [0, 2, 5]),
        (("n", "not in", ["10", "20"]), [2, 3, 4, 5]),
        ((NAME, "=", "ST01"), [0, 3]),
        ((NAME, "in", "ST01, ST03"), [0, 3, 5]),
        ((NAME, "not in", "ST01"), [1, 2, 4, 5]),
        ((NAME, "contains", "ST0"), [0, 1, 3, 4, 5]),
        ((NAME, "starts with", "ST01"), [0, 3]),
        ((NAME, "regex", r"^ST0[13]$"), [0, 3, 5]),
        ((NAME, ">=", "ST02"), [1, 4, 5]),
        ((NAME, "is missing"), [2]),
        (("flow", "not missing"), [0, 2, 3, 4]),
        (("date", ">=", "2020-01-04"), [3, 4, 5]),
        (("date", "between", "2020-01-02, 2020-01-04"), [1, 3]),
        (("date", "in", "2020-01-01,2020-01-06"), [0, 5]),
        (("date", "is missing"), [2]),
        (("ok", "=", "yes"), [0, 2, 4]),
        (("ok", "!=", "TRUE"), [1, 3, 5]),
        (("ok", "=", False), [1, 3, 5]),
        (("kind", "=", "a"), [0, 2, 5]),
        (("kind", "contains", "b"), [1, 4]),
        (("kind", "not missing"), [0, 1, 2, 4, 5]),
    ],
)
def test_each_condition_test_keeps_the_expected_rows(rule, expected):
    assert rows_kept(where(rule)) == expected


def test_all_any_and_nested_groups():
    assert rows_kept(where(("flow", ">", "1"), ("n", "<", "50"))) == [2, 3]
    assert rows_kept(where(("flow", ">", "4"), ("n", "<", "20"), combine="any")) == [0, 4]
    nested = {
        "combine": "all",
        "rules": [
            {"column": NAME, "op": "starts with", "value": "ST0"},
            {
                "combine": "any",
                "rules": [{"column": "flow", "op": "is missing"}, {"column": "n", "op": "=", "value": "40"}],
            },
        ],
    }
    assert rows_kept(nested) == [1, 3, 5]
    code = condition_code(nested, schema_of(frame()))
    assert code == (
        f"df[{NAME!r}].astype('str').str.startswith('ST0', na=False) & (df['flow'].isna() | (df['n'] == 40))"
    )


def test_condition_code_uses_typed_literals_from_the_schema():
    schema = schema_of(frame())
    assert condition_code(where(("flow", ">", "3")), schema) == "(df['flow'] > 3.0)"
    assert condition_code(where(("n", "in", "10,20")), schema) == "df['n'].isin([10, 20])"
    assert condition_code(where(("date", "<", "2020-01-04 06:30")), schema) == (
        "(df['date'] < pd.Timestamp('2020-01-04T06:30:00'))"
    )
    assert (
        condition_code(where(("date", "<", "2020-01-04")), schema)
        == "(df['date'] < pd.Timestamp('2020-01-04'))"
    )
    assert condition_code(where(("ok", "=", "no")), schema) == "(df['ok'] == False)"
    # Without a schema, values are written as given (right for text columns and JSON-typed values).
    assert (
        condition_code(where((NAME, "=", "ST01"), ("flow", ">", 2)))
        == f"(df[{NAME!r}] == 'ST01') & (df['flow'] > 2)"
    )


def test_bad_condition_values_are_errors_naming_conditions():
    df = frame()
    bad = [
        where(("flow", ">", "abc")),
        where(("flow", ">", "1,5")),
        where(("flow", "between", "1")),
        where(("flow", "between", "5,1")),
        where(("flow", "contains", "1")),
        where(("ok", "<", "true")),
        where(("ok", "=", "maybe")),
        where(("date", ">", "not a date")),
        where((NAME, "regex", "([unclosed")),
        where((NAME, "contains", "")),
        where(("nope", "=", "1")),
        where(("flow", "~", "1")),
        where(("flow", "=", "")),
        where(("flow", "=", ["1", "2"])),
        {"combine": "all", "rules": []},
        {"combine": "every", "rules": [{"column": "flow", "op": "is missing"}]},
        {"combine": "all", "rules": [{"combine": "any", "rules": [{"column": "nope", "op": "is missing"}]}]},
        None,
    ]
    for conditions in bad:
        errors = op("filter_rows", conditions=conditions).validate(schema_of(df))
        assert [e.param for e in errors] == ["conditions"], conditions
        assert errors[0].message.startswith("Conditions: ")
    message = check_conditions(where(("flow", ">", "abc")), schema_of(df))[0].message
    assert "'abc' is not a number" in message


def test_condition_mask_raises_operation_error_for_bad_rules():
    with pytest.raises(OperationError, match="not a number"):
        condition_mask(frame(), where(("flow", ">", "abc")))
    aware = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=3, tz="UTC")})
    with pytest.raises(OperationError, match="offset"):
        condition_mask(aware, where(("t", ">", "2020-01-02")))
    assert condition_mask(aware, where(("t", ">", "2020-01-02T00:00+00:00"))).tolist() == [False, False, True]


def test_filter_on_demo_data(demo):
    conditions = where(("station_id", "in", "ST01,ST03"), ("flow", ">", "10"), ("date", ">=", "2010-01-01"))
    step = op("filter_rows", conditions=conditions)
    out = assert_code_matches(step, demo)
    expected = demo[
        demo["station_id"].isin(["ST01", "ST03"]) & (demo["flow"] > 10) & (demo["date"] >= "2010-01-01")
    ]
    assert len(out) == len(expected) > 0
    assert step.describe() == "Keep rows where station_id in ST01, ST03 and flow > 10 and date >= 2010-01-01"


# ------------------------------------------------------------------ sort


def test_sort_is_stable_with_missing_last():
    df = pd.DataFrame({"k": [2.0, NAN, 1.0, 2.0, 1.0], "id": [0, 1, 2, 3, 4]})
    out = assert_code_matches(op("sort_rows", columns=["k"]), df)
    assert out["id"].tolist() == [2, 4, 0, 3, 1]
    out = assert_code_matches(op("sort_rows", columns=["k"], ascending=False), df)
    assert out["id"].tolist() == [0, 3, 2, 4, 1]


def test_sort_with_a_direction_per_column():
    df = pd.DataFrame({"g": ["b", "a", "b", "a", None], "x": [1, 2, 3, 4, 5]})
    step = op("sort_rows", columns=["g", "x"], directions={"x": "descending"})
    out = assert_code_matches(step, df)
    assert out["x"].tolist() == [4, 2, 3, 1, 5]
    assert step.describe() == "Sort by g ↑, x ↓"
    assert "ascending=[True, False]" in step.code()[0]


def test_sort_validation():
    df = pd.DataFrame({"g": ["b"], "x": [1]})
    assert errors_of(op("sort_rows", columns=["nope"]), df) == ["columns"]
    assert errors_of(op("sort_rows", columns=[]), df) == ["columns"]
    assert errors_of(op("sort_rows", columns=["g"], directions={"x": "descending"}), df) == ["directions"]
    assert errors_of(op("sort_rows", columns=["g"], directions={"g": "up"}), df) == ["directions"]


# ------------------------------------------------------------------ duplicates / missing / first-last / sample


def test_drop_duplicates_keep_first_last_none():
    df = pd.DataFrame({"a": [1, 1, 2, 1], "b": ["x", "x", "y", "z"], "id": [0, 1, 2, 3]})
    assert assert_code_matches(op("drop_duplicates", subset=["a", "b"]), df)["id"].tolist() == [0, 2, 3]
    assert assert_code_matches(op("drop_duplicates", subset=["a"], keep="last"), df)["id"].tolist() == [2, 3]
    assert assert_code_matches(op("drop_duplicates", subset=["a", "b"], keep="none"), df)["id"].tolist() == [
        2,
        3,
    ]
    assert assert_code_matches(op("drop_duplicates"), df)["id"].tolist() == [0, 1, 2, 3]
    assert errors_of(op("drop_duplicates", keep="middle"), df) == ["keep"]


def test_drop_missing_how_subset_threshold():
    df = pd.DataFrame({"a": [1.0, NAN, NAN, 4.0], "b": [NAN, NAN, 3.0, 4.0], "c": ["x", None, "y", "z"]})
    keep = lambda **v: assert_code_matches(op("drop_missing", **v), df.assign(id=range(4)))["id"].tolist()  # noqa: E731
    assert keep(subset=["a", "b", "c"]) == [3]
    assert keep(subset=["a", "b"], how="all") == [0, 2, 3]
    assert keep(subset=["a", "b", "c"], threshold=2) == [0, 2, 3]
    assert keep(subset=["a", "b", "c"], threshold=3) == [3]
    assert keep(subset=["a"]) == [0, 3]
    assert errors_of(op("drop_missing", subset=["a", "b"], threshold=3), df) == ["threshold"]
    assert errors_of(op("drop_missing", threshold=0), df) == ["threshold"]
    assert errors_of(op("drop_missing", how="some"), df) == ["how"]


def test_keep_first_and_last_rows():
    df = pd.DataFrame({"id": range(10)})
    assert assert_code_matches(op("keep_rows", which="first", n=3), df)["id"].tolist() == [0, 1, 2]
    assert assert_code_matches(op("keep_rows", which="last", n=3), df)["id"].tolist() == [7, 8, 9]
    assert assert_code_matches(op("keep_rows", which="last", n=30), df)["id"].tolist() == list(range(10))
    assert errors_of(op("keep_rows", n=0), df) == ["n"]


def test_sample_keeps_the_original_order_and_is_reproducible(demo):
    step = op("sample_rows", n=500, seed=7)
    out = assert_code_matches(step, demo)
    assert len(out) == 500
    assert out.sort_values(["station_id", "date"], ignore_index=True).equals(out)
    pd.testing.assert_frame_equal(out, op("sample_rows", n=500, seed=7).apply(demo, Context()))
    other = op("sample_rows", n=500, seed=8).apply(demo, Context())
    assert not out.equals(other)
    assert len(assert_code_matches(op("sample_rows", fraction=0.1), demo)) == round(len(demo) * 0.1)
    small = demo.head(20)
    pd.testing.assert_frame_equal(assert_code_matches(op("sample_rows", n=100), small), small)


def test_sample_needs_exactly_one_of_n_and_fraction():
    df = pd.DataFrame({"a": [1]})
    assert errors_of(op("sample_rows"), df) == ["n"]
    assert errors_of(op("sample_rows", n=5, fraction=0.5), df) == ["n"]
    assert errors_of(op("sample_rows", fraction=0.0), df) == ["fraction"]
    assert errors_of(op("sample_rows", fraction=1.5), df) == ["fraction"]


# ------------------------------------------------------------------ time range


def test_drop_and_keep_a_time_range():
    df = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", None, "2020-01-05"])})
    df["id"] = range(5)
    ids = lambda **v: assert_code_matches(op("drop_time_range", column="t", **v), df)["id"].tolist()  # noqa: E731
    assert ids(start="2020-01-02", end="2020-01-03") == [0, 3, 4]
    assert ids(start="2020-01-02", end="2020-01-03", mode="keep") == [1, 2]
    assert ids(start="2020-01-01", end="2020-01-05", inclusive=False) == [0, 3, 4]
    assert ids(start="2020-01-03") == [0, 1, 3]
    assert ids(end="2020-01-02", inclusive=False, mode="keep") == [0]


def test_time_range_validation_and_time_zones():
    df = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=3), "x": [1, 2, 3]})
    assert errors_of(op("drop_time_range", column="t"), df) == ["start"]
    assert errors_of(op("drop_time_range", column="t", start="soon"), df) == ["start"]
    assert errors_of(op("drop_time_range", column="t", start="2020-02-01", end="2020-01-01"), df) == ["end"]
    assert errors_of(op("drop_time_range", column="x", start="2020-01-01"), df) == ["column"]
    aware = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=3, tz="UTC")})
    with pytest.raises(OperationError, match="time zones"):
        op("drop_time_range", column="t", start="2020-01-02").apply(aware, Context())
    out = assert_code_matches(op("drop_time_range", column="t", start="2020-01-02T00:00+00:00"), aware)
    assert len(out) == 1


def test_time_range_on_demo_keeps_one_year_per_station(demo):
    step = op("drop_time_range", column="date", start="2020-01-01", end="2020-12-31", mode="keep")
    out = assert_code_matches(step, demo)
    assert len(out) == 5 * 366
    assert step.describe() == "Keep only rows with date 2020-01-01 to 2020-12-31"


# ------------------------------------------------------------------ edge frames


EDGE_STEPS = [
    ("filter_rows", {"conditions": where(("x", ">", "1"), ("s", "contains", "a"), combine="any")}),
    ("filter_rows", {"conditions": where(("t", "between", "2020-01-01,2020-01-02"))}),
    ("sort_rows", {"columns": ["s", "x"]}),
    ("drop_duplicates", {"subset": ["s"]}),
    ("drop_missing", {"how": "all"}),
    ("keep_rows", {"which": "last", "n": 2}),
    ("sample_rows", {"n": 2}),
    ("sample_rows", {"fraction": 0.5, "seed": 3}),
    ("drop_time_range", {"column": "t", "start": "2020-01-02"}),
]


@pytest.mark.parametrize(("key", "values"), EDGE_STEPS)
@pytest.mark.parametrize("rows", ["empty", "all_missing"])
def test_row_operations_handle_empty_and_all_missing_frames(key, values, rows):
    df = pd.DataFrame(
        {
            "t": pd.to_datetime([None, "2020-01-02", None]),
            "x": [NAN] * 3,
            "s": pd.Series([None] * 3, dtype="str"),
        }
    )
    frame_ = df.iloc[:0] if rows == "empty" else df
    out = assert_code_matches(op(key, **values), frame_)
    assert list(out.columns) == list(df.columns)


@pytest.mark.parametrize(
    ("test", "value", "kept"),
    [("contains", "1", [0, 3]), ("starts with", "0", [1]), ("regex", r"^\d\.5$", [0])],
)
def test_text_tests_read_category_columns_of_numbers_as_text(test, value, kept):
    """Regression: .str on a category column of numbers raised AttributeError."""
    df = pd.DataFrame({"f": pd.Categorical([1.5, 0.0, None, 1.0]), "n": [1, 2, 3, 4]})
    conditions = {"combine": "all", "rules": [{"column": "f", "op": test, "value": value}]}
    out = assert_code_matches(op("filter_rows", conditions=conditions), df)
    assert out["n"].tolist() == [n + 1 for n in kept]  # missing values never match
    dates = pd.DataFrame({"d": pd.Series(pd.to_datetime(["2020-01-01", None])).astype("category")})
    starts = {"combine": "all", "rules": [{"column": "d", "op": "starts with", "value": "2020-01"}]}
    assert len(assert_code_matches(op("filter_rows", conditions=starts), dates)) == 1
