"""Grid views of an in-memory frame: pages, multi-column sort, filters, search, caching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services import tables
from hydroml.services.studio import view
from hydroml.services.studio.view import ViewSpec, view_page

WEIRD = 'flow "m3/s" <b>é</b>'


@pytest.fixture(autouse=True)
def _clean_cache():
    view.forget("")
    yield
    view.forget("")


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(8, dtype="int64"),
            "station": pd.array(["b", "a", "b", None, "A", "c", "b", "a"], dtype="str"),
            WEIRD: [0.1, 1.5, np.nan, 3.0, 1.5, 12345678901.0, -2.25, np.nan],
            "day": pd.date_range("2024-01-01", periods=8, freq="D"),
            "wet": [True, False, True, True, False, False, True, False],
            "kind": pd.Categorical(["x", "y", None, "x", "z", "y", "x", "z"]),
        }
    )


def ids(page: view.ViewPage) -> list[int]:
    return [int(row[0]) for row in page.rows]


def page(frame, spec=None, offset=0, limit=50, key="s1:f", **kwargs) -> view.ViewPage:
    return view_page(frame, key, spec or ViewSpec(), offset, limit, **kwargs)


# ------------------------------------------------------------------------------------------ plain pages


def test_plain_page_is_a_slice_with_display_strings_and_whole_frame_missing_counts(frame):
    result = page(frame, offset=1, limit=3)

    assert (result.total_rows, result.frame_rows, result.total_columns, result.offset) == (8, 8, 6, 1)
    assert result.columns == [
        {"name": "id", "dtype": "integer", "missing": 0, "numeric": True},
        {"name": "station", "dtype": "string", "missing": 1, "numeric": False},
        {"name": WEIRD, "dtype": "float", "missing": 2, "numeric": True},
        {"name": "day", "dtype": "datetime", "missing": 0, "numeric": False},
        {"name": "wet", "dtype": "boolean", "missing": 0, "numeric": False},
        {"name": "kind", "dtype": "category", "missing": 1, "numeric": False},
    ]
    assert result.rows == [
        ["1", "a", "1.5", "2024-01-02", "False", "y"],
        ["2", "b", "", "2024-01-03", "True", ""],
        ["3", "", "3.0", "2024-01-04", "True", "x"],
    ]


def test_display_strings_match_tables_read_page(frame, tmp_path):
    path = tmp_path / "data.parquet"
    frame.to_parquet(path, index=False)

    assert page(frame, limit=8).rows == tables.read_page(path, 0, 8).rows


def test_column_window_limits_columns_but_missing_counts_stay_whole_frame(frame):
    result = page(frame, ViewSpec(filters=((WEIRD, "not missing", ""),)), column_offset=2, column_limit=2)

    assert [c["name"] for c in result.columns] == [WEIRD, "day"]
    assert result.columns[0]["missing"] == 2  # the frame's, not the view's (which has none)
    assert result.column_offset == 2
    assert result.total_rows == 6
    assert result.rows[0] == ["0.1", "2024-01-01"]
    beyond = page(frame, column_offset=10)
    assert beyond.columns == [] and beyond.rows == [[] for _ in range(8)]


def test_offsets_past_the_end_and_limits(frame):
    assert page(frame, offset=8).rows == [] and page(frame, offset=8).total_rows == 8
    assert page(frame, offset=-5, limit=2).offset == 0
    big = pd.DataFrame({"v": np.arange(2_000)})
    assert len(page(big, limit=10_000).rows) == tables.MAX_PAGE_ROWS
    assert page(big, limit=0).rows == []


def test_long_texts_are_cut_and_not_escaped():
    frame = pd.DataFrame({"t": ["x" * 5_000, "<script>&"]})
    rows = page(frame).rows
    assert len(rows[0][0]) == tables.MAX_CELL_CHARS and rows[0][0].endswith("…")
    assert rows[1][0] == "<script>&"


def test_the_frame_is_never_changed(frame):
    before = frame.copy()
    page(frame, ViewSpec(sort=((WEIRD, False), ("station", True)), filters=(("id", ">", "1"),), search="b"))
    pd.testing.assert_frame_equal(frame, before)


# ----------------------------------------------------------------------------------------------- sort


def test_sort_puts_missing_last_in_both_directions_and_keeps_ties_stable(frame):
    ascending = page(frame, ViewSpec(sort=((WEIRD, True),)))
    descending = page(frame, ViewSpec(sort=((WEIRD, False),)))

    assert ids(ascending) == [6, 0, 1, 4, 3, 5, 2, 7]
    assert ids(descending) == [5, 3, 1, 4, 0, 6, 2, 7]


def test_text_sort_is_by_code_point_with_missing_last(frame):
    assert ids(page(frame, ViewSpec(sort=(("station", True),)))) == [4, 1, 7, 0, 2, 6, 5, 3]
    assert ids(page(frame, ViewSpec(sort=(("station", False),)))) == [5, 0, 2, 6, 1, 7, 4, 3]


def test_multi_column_sort(frame):
    spec = ViewSpec(sort=(("wet", False), (WEIRD, False)))
    assert ids(page(frame, spec)) == [3, 0, 6, 2, 5, 1, 4, 7]


def test_categories_sort_by_value_unless_ordered():
    unordered = pd.DataFrame({"c": pd.Categorical(["b", "a", None, "c"], categories=["c", "b", "a"])})
    ordered = pd.DataFrame(
        {"c": pd.Categorical(["low", "high", None, "mid"], ["low", "mid", "high"], ordered=True)}
    )

    assert [r[0] for r in page(unordered, ViewSpec(sort=(("c", True),))).rows] == ["a", "b", "c", ""]
    assert [r[0] for r in page(ordered, ViewSpec(sort=(("c", False),)), key="k2").rows] == [
        "high",
        "mid",
        "low",
        "",
    ]


def random_frame(rows: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "f": np.round(rng.normal(size=rows), 1),
            "i": rng.integers(0, 5, rows),
            "s": pd.array(np.array(["aa", "b", "B", "é", "z"])[rng.integers(0, 5, rows)], dtype="str"),
            "d": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 20, rows), unit="D"),
            "c": pd.Categorical(np.array(["p", "q", "r"])[rng.integers(0, 3, rows)]),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "f"] = np.nan
    frame.loc[rng.random(rows) < 0.1, "s"] = None
    frame.loc[rng.random(rows) < 0.1, "d"] = pd.NaT
    frame.loc[rng.random(rows) < 0.1, "c"] = None
    return frame


@pytest.mark.parametrize(
    "keys",
    [
        (("f", True),),
        (("f", False),),
        (("s", False),),
        (("d", True),),
        (("c", False),),
        (("i", True), ("f", False)),
        (("s", True), ("d", False), ("f", True)),
        (("c", True), ("i", False)),
    ],
)
def test_sort_agrees_with_a_stable_pandas_sort(keys):
    frame = random_frame(3_000)
    expected = frame.sort_values(
        [k for k, _a in keys], ascending=[a for _k, a in keys], kind="stable", na_position="last"
    ).index.to_numpy()

    order = view.row_order(frame, "s1:r", ViewSpec(sort=keys))

    np.testing.assert_array_equal(order, expected)


def test_sort_of_a_column_with_many_distinct_texts():
    rng = np.random.default_rng(0)
    texts = np.array([f"id{v:06d}" for v in rng.permutation(60_000)], dtype=object)
    texts[::9] = None
    frame = pd.DataFrame({"s": pd.array(texts, dtype="str")})
    for ascending in (True, False):
        expected = frame.sort_values("s", ascending=ascending, kind="stable").index.to_numpy()
        np.testing.assert_array_equal(
            view.row_order(frame, "s1:u", ViewSpec(sort=(("s", ascending),))), expected
        )


def test_an_already_sorted_column_keeps_stable_ties():
    frame = pd.DataFrame({"t": [1, 1, 2, 3, 3]})
    assert view.row_order(frame, "s1:t", ViewSpec(sort=(("t", True),))).tolist() == [0, 1, 2, 3, 4]
    assert view.row_order(frame, "s1:t", ViewSpec(sort=(("t", False),))).tolist() == [3, 4, 2, 0, 1]
    strictly = pd.DataFrame({"t": [1.0, 2.0, 5.0]})
    assert view.row_order(strictly, "s1:t2", ViewSpec(sort=(("t", False),))).tolist() == [2, 1, 0]
    with_nan = pd.DataFrame({"t": [1.0, np.nan, 5.0]})
    assert view.row_order(with_nan, "s1:t3", ViewSpec(sort=(("t", True),))).tolist() == [0, 2, 1]
    assert view.row_order(with_nan, "s1:t3", ViewSpec(sort=(("t", False),))).tolist() == [2, 0, 1]


def test_pages_of_a_sorted_view_never_overlap_or_skip():
    frame = random_frame(1_234).assign(row=np.arange(1_234))
    spec = ViewSpec(sort=(("i", True), ("s", False)), filters=(("f", "not missing", ""),))
    pages = [
        page(frame, spec, offset=o, limit=100, key="s1:p", column_offset=5) for o in range(0, 1_300, 100)
    ]
    seen = [int(row[0]) for result in pages for row in result.rows]
    order = view.row_order(frame, "s1:p", spec)
    assert seen == order.tolist()
    assert sorted(seen) == np.flatnonzero(frame["f"].notna().to_numpy()).tolist()


def test_unknown_sort_column_names_it(frame):
    with pytest.raises(ValueError, match="'nope'"):
        page(frame, ViewSpec(sort=(("nope", True),)))


# --------------------------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (("id", ">=", "5"), [5, 6, 7]),
        (("id", "!=", "3"), [0, 1, 2, 4, 5, 6, 7]),
        ((WEIRD, "<", "1.5"), [0, 6]),
        ((WEIRD, "<=", "1.5"), [0, 1, 4, 6]),
        ((WEIRD, "!=", "1.5"), [0, 3, 5, 6]),  # missing values never match a comparison
        ((WEIRD, "=", "1e0"), []),
        ((WEIRD, "is missing", ""), [2, 7]),
        ((WEIRD, "not missing", "ignored"), [0, 1, 3, 4, 5, 6]),
        (("station", "=", "a"), [1, 7]),
        (("station", "!=", "a"), [0, 2, 4, 5, 6]),
        (("station", "contains", "A"), [1, 4, 7]),
        (("station", ">", "a"), [0, 2, 5, 6]),
        (("station", "is missing", ""), [3]),
        (("day", ">", "2024-01-06"), [6, 7]),
        (("day", "<=", "2024-01-02 00:00"), [0, 1]),
        (("wet", "=", "yes"), [0, 2, 3, 6]),
        (("wet", "!=", "TRUE"), [1, 4, 5, 7]),
        (("kind", "=", "x"), [0, 3, 6]),
        (("kind", "!=", "x"), [1, 4, 5, 7]),
        (("kind", ">=", "y"), [1, 4, 5, 7]),
        (("kind", "contains", "Z"), [4, 7]),
        (("kind", "is missing", ""), [2]),
    ],
)
def test_filters(frame, rule, expected):
    result = page(frame, ViewSpec(filters=(rule,)))
    assert ids(result) == expected
    assert result.total_rows == len(expected)


def test_filters_are_combined_with_and_then_sorted(frame):
    spec = ViewSpec(filters=(("wet", "=", "false"), (WEIRD, "not missing", "")), sort=((WEIRD, False),))
    assert ids(page(frame, spec)) == [5, 1, 4]


def test_filter_on_time_zone_aware_dates_reads_the_value_in_the_column_zone():
    frame = pd.DataFrame(
        {"t": pd.date_range("2024-01-01", periods=4, freq="h", tz="Europe/Paris"), "id": range(4)}
    )
    assert [int(r[1]) for r in page(frame, ViewSpec(filters=(("t", ">=", "2024-01-01 02:00"),))).rows] == [
        2,
        3,
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (("nope", "=", "1"), "'nope'"),
        (("id", "=", "abc"), "'abc' is not a number"),
        ((WEIRD, ">", ""), "is not a number"),
        (("day", ">", "yesterday-ish"), "is not a date"),
        (("wet", "=", "maybe"), "'maybe' is not a yes/no value"),
        (("id", "contains", "1"), "text columns only"),
        (("id", "~", "1"), "Unknown filter operator '~'"),
    ],
)
def test_bad_filters_raise_readable_errors(frame, rule, message):
    with pytest.raises(ValueError, match=message):
        page(frame, ViewSpec(filters=(rule,)))


# ---------------------------------------------------------------------------------------------- search


def test_search_is_case_insensitive_over_text_and_category_columns(frame):
    assert ids(page(frame, ViewSpec(search=" A "))) == [1, 4, 7]
    assert ids(page(frame, ViewSpec(search="Z"))) == [4, 7]


def test_search_matches_numbers_exactly(frame):
    assert ids(page(frame, ViewSpec(search="1.5"))) == [1, 4]
    assert ids(page(frame, ViewSpec(search="3"))) == [3]  # id 3 and flow 3.0, the same row
    assert ids(page(frame, ViewSpec(search="12345678901"))) == [5]


def test_search_and_filter_with_no_match_give_an_empty_view(frame):
    result = page(frame, ViewSpec(search="nothing like this", sort=(("id", True),)))
    assert (result.rows, result.total_rows, result.frame_rows) == ([], 0, 8)


# ------------------------------------------------------------------------------------------ edge cases


def test_empty_frame_and_all_missing_column():
    empty = pd.DataFrame({"a": pd.Series([], dtype="float64"), "b": pd.Series([], dtype="str")})
    result = page(empty, ViewSpec(sort=(("a", True),), filters=(("b", "contains", "x"),), search="1"))
    assert (result.rows, result.total_rows) == ([], 0)

    missing = pd.DataFrame({"m": [np.nan, np.nan], "n": [None, None], "id": [0, 1]})
    result = page(missing, ViewSpec(sort=(("m", False), ("n", True))), key="s1:m")
    assert result.rows == [["", "", "0"], ["", "", "1"]]
    assert [c["missing"] for c in result.columns] == [2, 2, 0]


def test_unicode_and_quoted_column_names_in_every_part_of_a_spec(frame):
    spec = ViewSpec(sort=((WEIRD, True),), filters=((WEIRD, ">", "0"),), search="b")
    assert ids(page(frame, spec)) == [0]


def test_mixed_object_column_is_shown_and_sorted_as_text():
    frame = pd.DataFrame({"o": pd.Series([3, "b", None, 1.5], dtype=object)})
    assert [r[0] for r in page(frame, ViewSpec(sort=(("o", True),))).rows] == ["1.5", "3", "b", ""]


# ----------------------------------------------------------------------------------------------- cache


def test_row_order_is_computed_once_per_key_and_spec_and_forgotten_by_prefix(frame, monkeypatch):
    calls = []
    real = view._compute_order
    monkeypatch.setattr(view, "_compute_order", lambda f, s: calls.append(s) or real(f, s))
    spec = ViewSpec(sort=[("id", False)])  # lists become tuples: the spec is hashable

    first = page(frame, spec, key="sessA:v1", limit=3)
    second = page(frame, spec, key="sessA:v1", offset=3, limit=3)
    assert (ids(first), ids(second), len(calls)) == ([7, 6, 5], [4, 3, 2], 1)

    page(frame, spec, key="sessB:v1")
    view.forget("sessA")
    page(frame, spec, key="sessA:v1")
    page(frame, spec, key="sessB:v1")
    assert len(calls) == 3

    page(frame, ViewSpec(), key="sessA:v1")  # a plain view caches nothing
    assert len(calls) == 3


def test_order_cache_is_bounded(frame):
    for n in range(view.ORDER_CACHE_ENTRIES + 5):
        page(frame, ViewSpec(sort=(("id", n % 2 == 0),)), key=f"s:{n}")
    assert len(view._orders) == view.ORDER_CACHE_ENTRIES


def test_a_cached_order_is_read_only(frame):
    order = view.row_order(frame, "s1:ro", ViewSpec(sort=(("id", False),)))
    with pytest.raises(ValueError):
        order[0] = 1
