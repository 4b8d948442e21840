"""Text operations: trim, case, find and replace, extract, length."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services.studio.operations import OPERATIONS, schema_of
from tests.unit.studio.helpers import assert_code_matches


def op(key: str, **values):
    return OPERATIONS[key](values)


def errors(operation, df: pd.DataFrame) -> dict[str, str]:
    return {e.param: e.message for e in operation.validate(schema_of(df))}


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series.tolist()]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name 'x'": pd.Series(["  Río Grande ", None, "st01\t", "ÉTÉ  été"], dtype="str"),
            "kind": pd.Series([" a", "b ", None, " a"]).astype("category"),
            "n": [1, 2, 3, 4],
        }
    )


EMPTY = pd.DataFrame({"s": pd.Series([], dtype="str"), "c": pd.Series([], dtype="str").astype("category")})


def test_registered_in_the_text_group():
    for key in ("text_trim", "text_case", "text_replace", "text_extract", "text_length"):
        assert OPERATIONS[key].group == "Text" and OPERATIONS[key].summary


def test_trim(frame):
    out = assert_code_matches(op("text_trim", columns=["name 'x'", "kind"]), frame)
    assert values(out["name 'x'"]) == ["Río Grande", None, "st01", "ÉTÉ  été"]
    assert values(out["kind"]) == ["a", "b", None, "a"]
    assert out["kind"].dtype == "str"  # categories become text
    out = assert_code_matches(op("text_trim", columns=["name 'x'"], side="left"), frame)
    assert values(out["name 'x'"]) == ["Río Grande ", None, "st01\t", "ÉTÉ  été"]
    out = assert_code_matches(op("text_trim", columns=["name 'x'"], side="right"), frame)
    assert values(out["name 'x'"]) == ["  Río Grande", None, "st01", "ÉTÉ  été"]
    assert op("text_trim", columns=["name 'x'"]).code() == [
        "df[\"name 'x'\"] = df[\"name 'x'\"].astype('str').str.strip()"
    ]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("lower", ["  río grande ", None, "st01\t", "été  été"]),
        ("upper", ["  RÍO GRANDE ", None, "ST01\t", "ÉTÉ  ÉTÉ"]),
        ("title", ["  Río Grande ", None, "St01\t", "Été  Été"]),
    ],
)
def test_case(frame, case, expected):
    out = assert_code_matches(op("text_case", columns=["name 'x'"], case=case), frame)
    assert values(out["name 'x'"]) == expected
    assert out["n"].equals(frame["n"])


def test_replace_plain_and_regex(frame):
    out = assert_code_matches(op("text_replace", columns=["name 'x'"], find="é", replace_with="e"), frame)
    assert values(out["name 'x'"]) == ["  Río Grande ", None, "st01\t", "ÉTÉ  ete"]
    # plain text: regex symbols are literal
    dots = pd.DataFrame({"s": pd.Series(["a.b", "axb", None], dtype="str")})
    out = assert_code_matches(op("text_replace", columns=["s"], find=".", replace_with="-"), dots)
    assert values(out["s"]) == ["a-b", "axb", None]
    out = assert_code_matches(op("text_replace", columns=["s"], find=".", replace_with="-", regex=True), dots)
    assert values(out["s"]) == ["---", "---", None]
    out = assert_code_matches(op("text_replace", columns=["name 'x'"], find=r"\s+", regex=True), frame)
    assert values(out["name 'x'"]) == ["RíoGrande", None, "st01", "ÉTÉété"]
    step = op(
        "text_replace", columns=["name 'x'", "kind"], find=r"st(\d+)", replace_with=r"ST-\1", regex=True
    )
    out = assert_code_matches(step, frame)
    assert out.loc[2, "name 'x'"] == "ST-01\t"
    assert values(out["kind"]) == [" a", "b ", None, " a"]
    assert step.describe() == "Replace pattern 'st(\\\\d+)' with 'ST-\\\\1' in name 'x', kind"


def test_replace_validation(frame):
    assert set(errors(op("text_replace", columns=["n"], find="a"), frame)) == {"columns"}
    assert set(errors(op("text_replace", columns=["name 'x'"], find=""), frame)) == {"find"}
    bad = errors(op("text_replace", columns=["name 'x'"], find="(a", regex=True), frame)
    assert set(bad) == {"find"} and "not a valid regular expression" in bad["find"]
    assert errors(op("text_replace", columns=["name 'x'"], find="(a", regex=False), frame) == {}
    bad = errors(op("text_replace", columns=["name 'x'"], find="(a)", replace_with=r"\2", regex=True), frame)
    assert set(bad) == {"replace_with"} and "invalid group reference" in bad["replace_with"]


def test_extract(frame):
    step = op("text_extract", column="name 'x'", pattern=r"(\d+)")
    out = assert_code_matches(step, frame)
    assert values(out["name 'x'_extract"]) == [None, None, "01", None]
    assert out["name 'x'_extract"].dtype == "str"
    # several groups: the first is kept
    step = op("text_extract", column="name 'x'", pattern=r"(\w+)\s+(\w+)", new_name="first")
    out = assert_code_matches(step, frame)
    assert values(out["first"]) == ["Río", None, None, "ÉTÉ"]
    assert step.code()[0].endswith(".str.extract('(\\\\w+)\\\\s+(\\\\w+)', expand=True).iloc[:, 0]")
    out = assert_code_matches(op("text_extract", column="kind", pattern="(b)"), frame)
    assert values(out["kind_extract"]) == [None, "b", None, None]


def test_extract_validation(frame):
    bad = errors(op("text_extract", column="name 'x'", pattern=r"\d+"), frame)
    assert set(bad) == {"pattern"} and "capture group" in bad["pattern"]
    assert set(errors(op("text_extract", column="name 'x'", pattern="(["), frame)) == {"pattern"}
    assert set(errors(op("text_extract", column="n", pattern="(1)"), frame)) == {"column"}
    assert set(errors(op("text_extract", column="name 'x'", pattern="(a)", new_name="n"), frame)) == {
        "new_name"
    }


def test_length(frame):
    out = assert_code_matches(op("text_length", column="name 'x'"), frame)
    assert values(out["name 'x'_length"]) == [13.0, None, 5.0, 8.0]
    out = assert_code_matches(op("text_length", column="kind", new_name="len"), frame)
    assert values(out["len"]) == [2.0, 2.0, None, 2.0]
    full = pd.DataFrame({"s": pd.Series(["ab", "", "xyz"], dtype="str")})
    out = assert_code_matches(op("text_length", column="s"), full)
    assert out["s_length"].tolist() == [2, 0, 3] and out["s_length"].dtype == "int64"
    assert set(errors(op("text_length", column="s", new_name="s"), full)) == {"new_name"}
    assert set(errors(op("text_length", column="n"), frame)) == {"column"}


def test_demo_frame():
    from hydroml.services.demo_data import daily_hydrometeo

    demo = daily_hydrometeo()
    out = assert_code_matches(op("text_case", columns=["station_id"], case="lower"), demo)
    assert sorted(out["station_id"].unique()) == [f"st0{i}" for i in range(1, 6)]
    out = assert_code_matches(
        op("text_extract", column="station_id", pattern=r"ST(\d+)", new_name="number"), demo
    )
    assert out["number"].value_counts().to_dict() == {f"0{i}": 9131 for i in range(1, 6)}
    out = assert_code_matches(op("text_replace", columns=["station_id"], find="ST0", replace_with="S"), demo)
    assert set(out["station_id"]) == {"S1", "S2", "S3", "S4", "S5"}


@pytest.mark.parametrize(
    "step",
    [
        op("text_trim", columns=["s", "c"]),
        op("text_case", columns=["s", "c"], case="upper"),
        op("text_replace", columns=["s", "c"], find="a", regex=True),
        op("text_extract", column="c", pattern="(a)"),
        op("text_length", column="s"),
    ],
    ids=lambda s: s.key,
)
def test_empty_and_all_missing(step):
    assert len(assert_code_matches(step, EMPTY)) == 0
    missing = pd.DataFrame(
        {"s": pd.Series([None, None], dtype="str"), "c": pd.Series([None, np.nan]).astype("category")}
    )
    out = assert_code_matches(step, missing)
    assert out.iloc[:, -1].isna().all()
