"""The safe formula language: what it accepts, what it computes, what it refuses, and its printed code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services.studio.expressions import MAX_LENGTH, FormulaError, compile_formula
from hydroml.services.studio.operations.base import schema_of


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "flow": [1.0, -2.0, np.nan, 4.0],
            "n": [1, 2, 3, 4],
            "flow (m3/s)": [10.0, 20.0, 30.0, 40.0],
            'it\'s "odd"': [1.0, 1.0, 2.0, 2.0],
            "débit": [0.5, 1.5, 2.5, 3.5],
            "station": pd.Series(["ST01", None, "ST04", "ST01"], dtype="str"),
            "date": pd.to_datetime(["2020-01-01", "2020-02-03", None, "2021-12-31"]),
            "ok": [True, False, True, True],
            "cat": pd.Series(["x", "y", "x", None]).astype("category"),
            "class": [5.0, 6.0, 7.0, 8.0],
        }
    )


def run_code(code: str, df: pd.DataFrame) -> pd.Series:
    """Evaluate printed code with nothing but pd, np and df in scope (not even Python's builtins)."""
    return eval(code, {"__builtins__": {}, "pd": pd, "np": np, "df": df})  # noqa: S307 - our own generated code


def check(text: str, df: pd.DataFrame) -> pd.Series:
    """Compile, evaluate, compare with the printed code (bit for bit); return the values."""
    formula = compile_formula(text, schema_of(df))
    before = df.copy()
    result = formula.evaluate(df)
    pd.testing.assert_frame_equal(df, before)
    assert isinstance(result, pd.Series)
    assert result.index.equals(df.index)
    pd.testing.assert_series_equal(result, run_code(formula.code(), df), check_exact=True, check_names=False)
    # the printed code does not depend on knowing the schema (operations print their code without data)
    assert compile_formula(text, None).code() == formula.code()
    return result


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series.tolist()]


# ---------------------------------------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flow * 1000", [1000.0, -2000.0, None, 4000.0]),
        ("`flow (m3/s)` / 10", [1.0, 2.0, 3.0, 4.0]),
        ('`it\'s "odd"` + 1', [2.0, 2.0, 3.0, 3.0]),
        ("débit * 2", [1.0, 3.0, 5.0, 7.0]),
        ("`class` - 5", [0.0, 1.0, 2.0, 3.0]),
        ("n // 2 + n % 2", [1, 1, 2, 2]),
        ("-n ** 2", [-1, -4, -9, -16]),
        ("(-n) ** 2", [1, 4, 9, 16]),
        ("2 ** -1 + n", [1.5, 2.5, 3.5, 4.5]),
        ("n - (n - 1)", [1, 1, 1, 1]),
        ("n - n - 1", [-1, -1, -1, -1]),
        ("2 ** 3 ** 2 + 0 * n", [512, 512, 512, 512]),
        ("+flow", [1.0, -2.0, None, 4.0]),
        ("- - flow", [1.0, -2.0, None, 4.0]),
        ("flow > 0", [True, False, False, True]),
        ("0 < flow < 3", [True, False, False, False]),
        ("1 < n <= 3 != n", [False, True, False, False]),
        ("not ok", [False, True, False, False]),
        ("~ok", [False, True, False, False]),
        ("ok and flow > 0 or n == 2", [True, True, False, True]),
        ("ok & (flow > 0) | (n == 2)", [True, True, False, True]),
        ("not (ok and n > 1)", [True, True, False, False]),
        ("flow if flow > 0 else 0", [1.0, 0.0, 0.0, 4.0]),
        ("where(flow < 0, nan, flow)", [1.0, None, None, 4.0]),
        ("where(ok, 1, 2)", [1, 2, 1, 1]),
        ("where(ok, station, 'none')", ["ST01", "none", "ST04", "ST01"]),
        ("1 if n > 2 else flow", [1.0, -2.0, 1.0, 1.0]),
        ("flow if 2 > 1 else 0", [1.0, -2.0, None, 4.0]),
        ("fillna(flow, 0) if 2 > 1 else n", [1.0, -2.0, 0.0, 4.0]),
        ("where(ok, flow if 1 > 2 else 9, n)", [9, 2, 9, 9]),
        ("(-8) ** 2 + n * 0.5 ** 2", [64.25, 64.5, 64.75, 65.0]),
        ("abs(flow)", [1.0, 2.0, None, 4.0]),
        ("sqrt(n * n)", [1.0, 2.0, 3.0, 4.0]),
        ("log(exp(n))", [1.0, 2.0, 3.0, 4.0]),
        ("log10(`flow (m3/s)`)", [1.0, np.log10(20.0), np.log10(30.0), np.log10(40.0)]),
        ("log1p(n - 1)", [0.0, np.log(2.0), np.log(3.0), np.log(4.0)]),
        ("round(débit / 3, 2)", [0.17, 0.5, 0.83, 1.17]),
        ("round(`flow (m3/s)` * 11, -2)", [100.0, 200.0, 300.0, 400.0]),
        ("floor(débit) + ceil(débit)", [1.0, 3.0, 5.0, 7.0]),
        ("clip(flow, 0, 2)", [1.0, 0.0, None, 2.0]),
        ("min(flow, 2)", [1.0, -2.0, None, 2.0]),
        ("max(flow, n, 3)", [3.0, 3.0, None, 4.0]),
        ("isna(flow)", [False, False, True, False]),
        ("notna(station)", [True, False, True, True]),
        ("fillna(flow, 0)", [1.0, -2.0, 0.0, 4.0]),
        ("fillna(station, 'unknown')", ["ST01", "unknown", "ST04", "ST01"]),
        ("year(date) * 100 + month(date)", [202001.0, 202002.0, None, 202112.0]),
        ("day(date)", [1.0, 3.0, None, 31.0]),
        ("dayofyear(date)", [1.0, 34.0, None, 365.0]),
        ("date >= '2020-02-01'", [False, True, False, True]),
        ("station + '_x'", ["ST01_x", None, "ST04_x", "ST01_x"]),
        ("station == 'ST01'", [True, False, False, True]),
        ("cat == 'x'", [True, False, True, False]),
        ("cat != 'x'", [False, True, False, True]),
        ("(flow > 0) * 1", [1, 0, 0, 1]),
        ("'a`b' + station", ["a`bST01", None, "a`bST04", "a`bST01"]),
        ("flow -\n 1", [0.0, -3.0, None, 3.0]),
        ("   flow", [1.0, -2.0, None, 4.0]),
    ],
)
def test_accepted_formulas_compute_like_their_code(df, text, expected):
    result = check(text, df)
    got = values(result)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        if isinstance(e, float):
            assert g == pytest.approx(e, abs=1e-12)
        else:
            assert g == e


@pytest.mark.parametrize(
    ("text", "expected", "dtype"),
    [
        ("3", [3, 3, 3, 3], "int64"),
        ("2.5 * 2", [5.0] * 4, "float64"),
        ("'abc'", ["abc"] * 4, "str"),
        ("True", [True] * 4, "bool"),
        ("1 < 2 < 3", [True] * 4, "bool"),
        ("not 1 < 2", [False] * 4, "bool"),
        ("1 if 2 > 1 else 2", [1] * 4, "int64"),
        ("sqrt(16)", [4.0] * 4, "float64"),
        ("nan", [None] * 4, "float64"),
        ("flow if 1 > 2 else 0", [0] * 4, "int64"),
    ],
)
def test_scalar_results_broadcast_to_the_frame(df, text, expected, dtype):
    result = check(text, df)
    assert values(result) == expected
    assert result.dtype == dtype


def test_printed_code_is_readable_with_few_parentheses(df):
    schema = schema_of(df)
    assert compile_formula("flow * 1000", schema).code() == "df['flow'] * 1000"
    assert compile_formula("a + b + c", None).code() == "df['a'] + df['b'] + df['c']"
    assert compile_formula("a - (b - c)", None).code() == "df['a'] - (df['b'] - df['c'])"
    assert compile_formula("(a > 1) and (b < 2)", None).code() == "(df['a'] > 1) & (df['b'] < 2)"
    assert compile_formula("0 < a < 5", None).code() == "(0 < df['a']) & (df['a'] < 5)"
    assert compile_formula("where(a < 0, nan, a)", None).code() == "df['a'].mask(df['a'] < 0, np.nan)"
    assert compile_formula("a if ok else 0", None).code() == "df['a'].where(df['ok'], 0)"
    assert compile_formula("`flow (m3/s)` * 2", schema).code() == "df['flow (m3/s)'] * 2"
    assert compile_formula("year(d)", None).code() == "df['d'].dt.year"
    assert compile_formula("7", None).code() == "pd.Series(7, index=df.index)"


def test_formula_reports_kind_and_columns(df):
    formula = compile_formula("where(ok, `flow (m3/s)`, flow) + n", schema_of(df))
    assert formula.kind == "number"
    assert formula.columns == ("flow", "flow (m3/s)", "n", "ok")
    assert compile_formula("station + 'x'", schema_of(df)).kind == "text"
    assert compile_formula("flow > 1", schema_of(df)).kind == "boolean"


def test_empty_frame_and_all_missing_column():
    empty = pd.DataFrame({"a": pd.Series([], dtype="float64"), "s": pd.Series([], dtype="str")})
    assert len(check("a * 2 + 1", empty)) == 0
    assert len(check("5", empty)) == 0
    assert len(check("s + 'x'", empty)) == 0
    missing = pd.DataFrame({"a": [np.nan, np.nan], "s": pd.Series([None, None], dtype="str")})
    assert values(check("fillna(a * 2, -1)", missing)) == [-1.0, -1.0]
    assert values(check("isna(s)", missing)) == [True, True]
    assert values(check("s + 'x'", missing)) == [None, None]


def test_non_default_index_is_kept():
    frame = pd.DataFrame({"a": [1.0, 2.0]}, index=[10, 20])
    result = compile_formula("a + 1", schema_of(frame)).evaluate(frame)
    assert list(result.index) == [10, 20]
    assert list(compile_formula("3", schema_of(frame)).evaluate(frame).index) == [10, 20]


def test_formula_runs_on_the_demo_frame():
    from hydroml.services.demo_data import daily_hydrometeo

    demo = daily_hydrometeo()
    text = "where(station_id == 'ST04', flow / 1000, where(flow < 0, nan, flow))"
    result = check(text, demo)
    st04 = demo["station_id"] == "ST04"
    assert result[st04].equals(demo.loc[st04, "flow"] / 1000)
    assert (result[~st04].dropna() >= 0).all()
    assert (
        result[~st04].isna().sum() == (demo.loc[~st04, "flow"].isna() | (demo.loc[~st04, "flow"] < 0)).sum()
    )


# ---------------------------------------------------------------------------------------------- refused


def refused(text: str, df: pd.DataFrame) -> FormulaError:
    with pytest.raises(FormulaError) as info:
        compile_formula(text, schema_of(df))
    assert str(info.value) == info.value.message and info.value.message
    return info.value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "Names starting with '__' are not allowed"),
        ("__import__('os').system('ls')", "Attribute access ('.system') is not allowed"),
        ("__builtins__", "Names starting with '__' are not allowed"),
        ("().__class__", "Attribute access ('.__class__') is not allowed"),
        ("().__class__.__bases__[0].__subclasses__()", "Attribute access"),
        ("open('x')", "Unknown function 'open'"),
        ("eval('1')", "Unknown function 'eval'"),
        ("exec('import os')", "Unknown function 'exec'"),
        ("getattr(flow, 'real')", "Unknown function 'getattr'"),
        ("flow.real", "Attribute access ('.real') is not allowed"),
        ("station.str.upper()", "Attribute access"),
        ("np.sqrt(flow)", "Attribute access"),
        ("lambda: 1", "lambda is not allowed"),
        ("(lambda x: x)(1)", "Only named functions can be called"),
        ("f'{flow}'", "f-strings are not allowed"),
        ("[x for x in flow]", "Comprehensions are not allowed"),
        ("(x for x in flow)", "Comprehensions are not allowed"),
        ("{x: 1 for x in flow}", "Comprehensions are not allowed"),
        ("[1, 2]", "Lists, tuples and sets are not allowed"),
        ("(1, 2)", "Lists, tuples and sets are not allowed"),
        ("{}", "Lists, tuples and sets are not allowed"),
        ("flow[0]", "Indexing with [...] is not allowed"),
        ("(x := 1)", "Assignments (:=) are not allowed"),
        ("abs(*flow)", "Starred arguments (*) are not allowed"),
        ("round(flow, ndigits=2)", "without names"),
        ("abs(**{'x': 1})", "without names"),
        ("flow is None", "None is not allowed"),
        ("flow in flow", "'in' is not allowed"),
        ("flow @ flow", "The operator '@' is not allowed"),
        ("n << 2", "The operator '<<' is not allowed"),
        ("n ^ 2", "The operator '^' is not allowed"),
        ("b'x'", "The value b'x' is not allowed"),
        ("1j", "The value 1j is not allowed"),
        ("...", "is not allowed"),
        ("None", "None is not allowed"),
        ("import os", "cannot be read"),
        ("flow; 1", "cannot be read"),
        ("flow = 1", "cannot be read"),
        ("'abc", "cannot be read"),
        ("`flow", "no closing backtick"),
        ("``", "Empty backticks"),
        ("flow(1)", "The column 'flow' is not a function"),
        ("`flow (m3/s)`(1)", "is not a function"),
        ("foo(1)", "Unknown function 'foo'"),
        ("log()", "log() got 0 values; use log(x)"),
        ("round(flow, 1, 2)", "round() got 3 values; use round(x) or round(x, digits)"),
        ("where(ok, 1)", "where() got 2 values; use where(condition, a, b)"),
        ("min(flow)", "min() got 1 value; use min(a, b)"),
        ("1e999", "The number 1e999 is too large"),
        ("99999999999999999999 + n", "is too large"),
        ("10 ** 10 ** 10", "is too large"),
        ("1 / 0", "divides a number by zero"),
        ("(-8) ** 0.5 + n", "is not a real number"),
    ],
)
def test_refused_formulas_name_the_problem(df, text, message):
    assert message in refused(text, df).message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("station - 1", "Cannot use '-' between text (station) and a number (1)"),
        ("station * 2", "Cannot use '*' between text"),
        ("ok + ok", "'+' between two true/false values"),
        ("date - date", "Cannot use '-' between a date (date) and a date (date)"),
        ("not flow", "'not' needs a true/false value, but flow is a number"),
        ("~n", "'not' needs a true/false value"),
        ("flow and ok", "'and' needs a true/false value, but flow is a number"),
        ("ok | n", "'or' needs a true/false value, but n is a number"),
        ("-station", "'-' needs a number, but station is text"),
        ("sqrt(station)", "sqrt() needs a number, but station is text"),
        ("year(flow)", "year() needs a date, but flow is a number"),
        ("round(flow, 1.5)", "must be a whole number"),
        ("round(flow, n)", "must be a whole number"),
        ("clip(flow, n, 2)", "clip()'s bounds must be numbers, not columns"),
        ("where(flow, 1, 2)", "The condition needs a true/false value"),
        ("where(ok, 1, 'a')", "Both values must be of the same kind: 1 is a number, 'a' is text"),
        ("where(ok, cat, 'z')", "The category column cat cannot be used as a value here"),
        ("fillna(1, 2)", "fillna() needs a column as its first value"),
        ("fillna(station, 0)", "Both values must be of the same kind"),
        ("flow > station", "Cannot compare a number (flow) with text (station)"),
        ("date > station", "Cannot compare a date (date) with text (station)"),
        ("cat < 'x'", "A category column can only be compared with == or !="),
        ("cat + 'x'", "Cannot use '+' between a category (cat) and text ('x')"),
        ("date > 'not a date'", "could not be computed"),
    ],
)
def test_kind_mismatches_are_refused(df, text, message):
    assert message in refused(text, df).message


def test_unknown_columns_suggest_the_closest_name(df):
    error = refused("flw * 2", df)
    assert error.message == "Unknown column 'flw' (at character 1). Did you mean 'flow'?"
    assert error.position == 0
    assert refused("FLOW + 1", df).message.endswith("Did you mean 'flow'?")
    assert refused("1 + `flow m3/s`", df).message == (
        "Unknown column 'flow m3/s' (at character 5). Did you mean `flow (m3/s)`?"
    )
    assert "backticks" in refused("zzz", df).message
    assert "log is a function" in refused("log + 1", df).message


def test_names_that_need_backticks(df):
    message = refused("flow (m3/s) * 2", df).message
    assert message == (
        "The column 'flow' is not a function (at character 1). "
        "Names with spaces or symbols go in backticks, like `flow (m3/s)`."
    )
    assert "backticks, like `flow (m3/s)`" in refused("flo (m3/s)", df).message
    # keywords and nan need backticks; a column named like a function works bare
    frame = pd.DataFrame({"nan": [1.0], "if": [2.0], "log": [3.0]})
    assert values(check("`nan` + `if` + log + log(1)", frame)) == [6.0]
    assert values(check("nan", frame)) == [None]  # bare nan is the missing number


def test_error_positions_point_into_the_original_text(df):
    text = "`flow (m3/s)` + `débit` + bogus"
    error = refused(text, df)
    assert error.position == text.index("bogus")
    assert f"(at character {text.index('bogus') + 1})" in error.message
    error = refused("débit + sqrt(station)", df)
    assert error.position == len("débit + sqrt(")
    assert refused("débit ; 1", df).position == len("débit ")
    assert refused("`flow (m3/s)` ; 1", df).position == len("`flow (m3/s)` ")
    error = refused("`flow (m3/s)` * `nope`", df)
    assert error.position == len("`flow (m3/s)` * ")


def test_messages_quote_backtick_names_whole(df):
    assert refused("sqrt(`st 'id'`)", df.rename(columns={"station": "st 'id'"})).message == (
        "sqrt() needs a number, but `st 'id'` is text (at character 6)."
    )
    assert (
        "between text (`st x`) and a number (1)"
        in refused("`st x` - 1", df.rename(columns={"station": "st x"})).message
    )


def test_backticks_inside_strings_are_text(df):
    assert values(check("station == '`flow`'", df)) == [False, False, False, False]
    assert values(check('fillna(station, "`x`")', df))[1] == "`x`"


def test_length_and_depth_limits(df):
    assert "too long" in refused("1+" * (MAX_LENGTH // 2) + "1", df).message
    assert "nested too deeply" in refused("-" * 150 + "flow", df).message
    assert "cannot be read" in refused("(" * 300 + "1" + ")" * 300, df).message
    assert "empty" in refused("   ", df).message
    # long but flat formulas are fine
    assert values(check(" + ".join(["n"] * 90), df)) == [90, 180, 270, 360]


def test_evaluate_reports_missing_columns_and_runtime_failures():
    formula = compile_formula("a + 1", {"a": "float"})
    with pytest.raises(FormulaError, match="Unknown column 'a'"):
        formula.evaluate(pd.DataFrame({"b": [1.0]}))
    # a schema-less formula is checked when computed
    with pytest.raises(FormulaError, match="could not be computed"):
        compile_formula("a - b", None).evaluate(pd.DataFrame({"a": ["x"], "b": [1.0]}))


def test_never_calls_python_eval(monkeypatch, df):
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec must not be used")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    formula = compile_formula("where(flow > 0, log(flow), 0) + year(date)", schema_of(df))
    assert len(formula.evaluate(df)) == 4
