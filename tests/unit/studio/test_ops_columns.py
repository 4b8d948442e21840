"""Column operations: select, rename, drop, duplicate, cast, split, combine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services.demo_data import daily_hydrometeo
from hydroml.services.studio.operations import OPERATIONS, Context, OperationError, schema_of
from tests.unit.studio.helpers import assert_code_matches

NAN = np.nan
ODD = "débit 'm3/s' \"x\""  # a column name with spaces, quotes and unicode


def op(key: str, **values):
    return OPERATIONS[key](values)


def errors_of(operation, df: pd.DataFrame) -> list[str]:
    return [e.param for e in operation.validate(schema_of(df))]


def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], ODD: [1.5, NAN, -2.0], "s": ["x", None, "z"]})


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return daily_hydrometeo()


# ------------------------------------------------------------------ select / rename / drop / duplicate


def test_select_keeps_and_reorders():
    out = assert_code_matches(op("select_columns", columns=["s", ODD]), frame())
    assert list(out.columns) == ["s", ODD]
    assert out["s"].tolist()[0] == "x"
    assert errors_of(op("select_columns", columns=["s", "nope"]), frame()) == ["columns"]
    assert errors_of(op("select_columns", columns=["s", "s"]), frame()) == ["columns"]


def test_rename_and_its_collision_checks():
    step = op("rename_columns", mapping={ODD: "flow_m3s", "a": "b"})
    out = assert_code_matches(step, frame())
    assert list(out.columns) == ["b", "flow_m3s", "s"]
    assert step.describe() == f"Rename {ODD} → flow_m3s, a → b"
    # Swapping two names is fine; colliding with a kept column or with each other is not.
    assert list(assert_code_matches(op("rename_columns", mapping={"a": "s", "s": "a"}), frame()).columns) == [
        "s",
        ODD,
        "a",
    ]
    assert errors_of(op("rename_columns", mapping={"a": "s"}), frame()) == ["mapping"]
    assert errors_of(op("rename_columns", mapping={"a": "z", "s": "z"}), frame()) == ["mapping"]
    assert errors_of(op("rename_columns", mapping={"a": "  "}), frame()) == ["mapping"]
    assert errors_of(op("rename_columns", mapping={"nope": "z"}), frame()) == ["mapping"]
    assert errors_of(op("rename_columns", mapping={}), frame()) == ["mapping"]


def test_drop_columns():
    out = assert_code_matches(op("drop_columns", columns=[ODD, "a"]), frame())
    assert list(out.columns) == ["s"]
    assert errors_of(op("drop_columns", columns=["zzz"]), frame()) == ["columns"]


def test_duplicate_puts_the_copy_after_the_original():
    out = assert_code_matches(op("duplicate_column", column=ODD, new_name="copy é"), frame())
    assert list(out.columns) == ["a", ODD, "copy é", "s"]
    np.testing.assert_array_equal(out["copy é"].to_numpy(), frame()[ODD].to_numpy())
    assert errors_of(op("duplicate_column", column="a", new_name="s"), frame()) == ["new_name"]
    assert errors_of(op("duplicate_column", column="a", new_name=" "), frame()) == ["new_name"]
    assert errors_of(op("duplicate_column", column="q", new_name="r"), frame()) == ["column"]


# ------------------------------------------------------------------ cast


def cast(df: pd.DataFrame, columns: list[str], to: str, **extra) -> tuple[pd.DataFrame, dict]:
    step = op("cast_column", columns=columns, to=to, **extra)
    out = assert_code_matches(step, df)
    return out, step.invalid_counts


def test_cast_text_to_int_truncates_and_counts_invalid_values():
    df = pd.DataFrame({"t": ["1", " 2 ", "x", "3.7", None, "-2.5"], "ok": ["1", "2", "3", "4", "5", "6"]})
    out, invalid = cast(df, ["t", "ok"], "int")
    assert str(out["t"].dtype) == "Int64" and str(out["ok"].dtype) == "int64"
    assert out["t"].tolist() == [1, 2, pd.NA, 3, pd.NA, -2]
    assert out["ok"].tolist() == [1, 2, 3, 4, 5, 6]
    assert invalid == {"t": 1, "ok": 0}


def test_cast_numbers_and_booleans_to_int():
    df = pd.DataFrame(
        {
            "f": [1.9, -1.9, NAN],
            "big": [1e19, 2.0, 3.0],
            "b": [True, False, True],
            "n": pd.array([1, None, 3], "Int64"),
        }
    )
    out, invalid = cast(df, ["f", "big", "b", "n"], "int")
    assert out["f"].tolist() == [1, -1, pd.NA]
    assert out["big"].tolist() == [pd.NA, 2, 3]
    assert out["b"].tolist() == [1, 0, 1] and str(out["b"].dtype) == "int64"
    assert str(out["n"].dtype) == "Int64"
    assert invalid == {"f": 0, "big": 1, "b": 0, "n": 0}


def test_cast_to_float_and_string():
    df = pd.DataFrame(
        {"t": ["1.5", "x", None], "i": [1, 2, 3], "when": pd.to_datetime(["2020-01-31", None, "2021-12-01"])}
    )
    out, invalid = cast(df, ["t", "i"], "float")
    np.testing.assert_array_equal(out["t"].to_numpy(), [1.5, NAN, NAN])
    assert out["i"].dtype == "float64" and invalid == {"t": 1, "i": 0}
    out, _ = cast(df, ["i", "when"], "string")
    assert out["i"].tolist() == ["1", "2", "3"]
    assert out["when"].tolist()[0] == "2020-01-31" and pd.isna(out["when"].iloc[1])
    out, _ = cast(df, ["when"], "string", format="%d/%m/%Y")
    assert out["when"].tolist()[2] == "01/12/2021"


def test_cast_to_bool_reads_words_and_zero_one():
    df = pd.DataFrame(
        {
            "t": ["Yes", " no ", "TRUE", "0", "maybe", None],
            "f": [1.0, 0.0, 2.0, NAN, 1.0, 0.0],
            "all": ["1", "0"] * 3,
        }
    )
    out, invalid = cast(df, ["t", "f", "all"], "bool")
    assert out["t"].tolist() == [True, False, True, False, pd.NA, pd.NA] and str(out["t"].dtype) == "boolean"
    assert out["f"].tolist() == [True, False, pd.NA, pd.NA, True, False]
    assert out["all"].tolist() == [True, False] * 3 and out["all"].dtype == bool
    assert invalid == {"t": 1, "f": 1, "all": 0}


def test_cast_to_category(demo):
    out, _ = cast(demo, ["station_id"], "category")
    assert isinstance(out["station_id"].dtype, pd.CategoricalDtype)
    assert list(out["station_id"].cat.categories) == ["ST01", "ST02", "ST03", "ST04", "ST05"]


def test_cast_text_to_datetime_with_format_and_timezone():
    df = pd.DataFrame(
        {"d": ["31/01/2020", "bad", None], "local": ["2020-03-29 02:30", "2020-01-01 12:00", None]}
    )
    out, invalid = cast(df, ["d"], "datetime", format="%d/%m/%Y")
    assert out["d"].iloc[0] == pd.Timestamp("2020-01-31") and out["d"].iloc[1:].isna().all()
    assert invalid == {"d": 1}
    out, invalid = cast(df, ["local"], "datetime", timezone="Europe/Paris")
    assert pd.isna(out["local"].iloc[0])  # 02:30 did not exist that night (clocks went forward)
    assert out["local"].iloc[1] == pd.Timestamp("2020-01-01 12:00", tz="Europe/Paris")
    assert invalid == {"local": 1}


def test_cast_converts_zoned_times_to_another_zone():
    df = pd.DataFrame(
        {
            "utc": pd.date_range("2020-01-01", periods=2, freq="h", tz="UTC"),
            "o": ["2020-01-01T00:00+01:00"] * 2,
        }
    )
    out, _ = cast(df, ["utc", "o"], "datetime", timezone="Europe/Paris")
    assert out["utc"].iloc[0] == pd.Timestamp("2020-01-01 01:00", tz="Europe/Paris")
    assert out["o"].iloc[0] == pd.Timestamp("2019-12-31 23:00", tz="UTC")
    mixed = pd.DataFrame({"o": ["2020-01-01T00:00+01:00", "2020-07-01T00:00+02:00"]})
    with pytest.raises(OperationError, match="time zone offsets"):
        op("cast_column", columns=["o"], to="datetime").apply(mixed, Context())


def test_cast_validation_names_the_bad_parameter(demo):
    assert errors_of(op("cast_column", columns=["date"], to="int"), demo) == ["to"]
    assert errors_of(op("cast_column", columns=["flow"], to="datetime"), demo) == ["to"]
    assert errors_of(op("cast_column", columns=["flow"], to="complex"), demo) == ["to"]
    assert errors_of(op("cast_column", columns=["nope"], to="int"), demo) == ["columns"]
    assert errors_of(
        op("cast_column", columns=["station_id"], to="datetime", timezone="Mars/Olympus"), demo
    ) == ["timezone"]
    step = op("cast_column", columns=["station_id", "flow"], to="int")
    assert step.describe() == "Change station_id, flow to int"
    out = assert_code_matches(step, demo)
    assert step.invalid_counts == {"station_id": len(demo), "flow": 0}
    assert out["flow"].isna().sum() == demo["flow"].isna().sum()


# ------------------------------------------------------------------ split / combine


def test_split_into_a_fixed_number_of_parts():
    df = pd.DataFrame({ODD: ["a-b-c", "d", None, "e-f"]})
    step = op("split_column", column=ODD, delimiter="-", parts=2, prefix="p")
    out = assert_code_matches(step, df)
    assert list(out.columns) == [ODD, "p1", "p2"]
    assert out["p1"].tolist()[:2] == ["a", "d"] and out["p2"].tolist()[0] == "b-c"
    assert out["p2"].iloc[1:3].isna().all() and out["p2"].iloc[3] == "f"
    out = assert_code_matches(op("split_column", column=ODD, delimiter="-", parts=4), df)
    assert list(out.columns)[1:] == [f"{ODD}_{i}" for i in range(1, 5)]
    assert out[f"{ODD}_4"].isna().all()
    assert schema_of(out)[f"{ODD}_4"] == "string"


def test_split_treats_the_delimiter_as_plain_text_and_checks_names():
    df = pd.DataFrame({"s": ["a.b", "c.d"], "s_1": ["x", "y"], "n": [1, 2]})
    out = assert_code_matches(op("split_column", column="s", delimiter=".", prefix="part "), df)
    assert out["part 1"].tolist() == ["a", "c"]
    assert errors_of(op("split_column", column="s", delimiter="."), df) == ["prefix"]
    assert errors_of(op("split_column", column="n", delimiter="."), df) == ["column"]
    assert errors_of(op("split_column", column="s", delimiter=""), df) == ["delimiter"]
    assert errors_of(op("split_column", column="s", delimiter=".", parts=1, prefix="q"), df) == ["parts"]


def test_combine_columns_treats_missing_as_empty(demo):
    df = pd.DataFrame({"a": ["x", None, "z"], ODD: [1.5, 2.0, NAN], "n": [1, 2, 3]})
    out = assert_code_matches(
        op("combine_columns", columns=["a", ODD, "n"], separator="|", new_name="key"), df
    )
    assert out["key"].tolist() == ["x|1.5|1", "|2.0|2", "z||3"]
    out = assert_code_matches(op("combine_columns", columns=["n", "a"], separator="", new_name="k"), df)
    assert out["k"].tolist() == ["1x", "2", "3z"]
    out = assert_code_matches(op("combine_columns", columns=["station_id", "date"], new_name="id"), demo)
    assert out["id"].iloc[0] == "ST01_1999-01-01"
    assert errors_of(op("combine_columns", columns=["a"], new_name="k"), df) == ["columns"]
    assert errors_of(op("combine_columns", columns=["a", "n"], new_name="n"), df) == ["new_name"]
    assert errors_of(op("combine_columns", columns=["a", "n"]), df) == ["new_name"]


# ------------------------------------------------------------------ edge frames


EDGE_STEPS = [
    ("select_columns", {"columns": ["s", "x"]}),
    ("rename_columns", {"mapping": {"x": "y"}}),
    ("drop_columns", {"columns": ["t"]}),
    ("duplicate_column", {"column": "s", "new_name": "s2"}),
    ("cast_column", {"columns": ["x", "s"], "to": "int"}),
    ("cast_column", {"columns": ["x", "s"], "to": "float"}),
    ("cast_column", {"columns": ["x", "s", "t"], "to": "string"}),
    ("cast_column", {"columns": ["t"], "to": "string", "format": "%Y"}),
    ("cast_column", {"columns": ["x", "s"], "to": "bool"}),
    ("cast_column", {"columns": ["x", "s", "t"], "to": "category"}),
    ("cast_column", {"columns": ["s", "t"], "to": "datetime", "timezone": "UTC"}),
    ("split_column", {"column": "s", "delimiter": ",", "parts": 3}),
    ("combine_columns", {"columns": ["s", "x", "t"], "new_name": "c"}),
]


@pytest.mark.parametrize(("key", "values"), EDGE_STEPS)
@pytest.mark.parametrize("rows", ["empty", "all_missing"])
def test_column_operations_handle_empty_and_all_missing_frames(key, values, rows):
    df = pd.DataFrame(
        {
            "t": pd.to_datetime([None, None, None]),
            "x": [NAN] * 3,
            "s": pd.Series([None] * 3, dtype="str"),
        }
    )
    frame_ = df.iloc[:0] if rows == "empty" else df
    out = assert_code_matches(op(key, **values), frame_)
    assert len(out) == len(frame_)


# ------------------------------------------------------------------ regressions


def test_select_and_drop_keep_at_least_one_column():
    """Regression: a frame without columns comes back from Parquet with 0 rows."""
    for step in (op("drop_columns", columns=["a", ODD, "s"]), op("select_columns", columns=[])):
        errors = step.validate(schema_of(frame()))
        assert [e.param for e in errors] == ["columns"]
        assert "keep at least one column" in errors[0].message
    assert list(assert_code_matches(op("drop_columns", columns=["a", "s"]), frame()).columns) == [ODD]


def category_frame() -> pd.DataFrame:
    """Category columns whose categories are not text, as "Change column type" to category makes them."""
    return pd.DataFrame(
        {
            "f": pd.Categorical([1.5, 0.0, None, 1.0]),
            "i": pd.Series([1, 0, None, 1], dtype="Int64").astype("category"),
            "b": pd.Series([True, False, None, True], dtype="boolean").astype("category"),
            "d": pd.Series(pd.to_datetime(["2020-01-01", None, "2020-01-02", "2020-01-01"])).astype(
                "category"
            ),
        }
    )


@pytest.mark.parametrize("column", ["f", "i", "b", "d"])
def test_category_columns_of_numbers_split_and_cast_as_text(column):
    """Regression: split_column and cast to bool used .str on non-text categories (AttributeError)."""
    df = category_frame()
    out = assert_code_matches(op("split_column", column=column, delimiter=".", parts=2), df)
    text = df[column].astype("str")
    assert out[f"{column}_1"].isna().tolist() == text.isna().tolist()
    assert out[f"{column}_1"].dropna().tolist() == [v.split(".")[0] for v in text.dropna()]
    out = assert_code_matches(op("cast_column", columns=[column], to="bool"), df)
    expected = {
        "f": [NAN, 0.0, NAN, 1.0],  # 1.5 is not true/false; 0.0 and 1.0 are
        "i": [1.0, 0.0, NAN, 1.0],
        "b": [1.0, 0.0, NAN, 1.0],
        "d": [NAN, NAN, NAN, NAN],
    }[column]
    assert out[column].astype("float").tolist() == pytest.approx(expected, nan_ok=True)
