"""Splits: time-aware ones never train on the future, folds cover what they claim, bad settings read clearly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hydroml.services.errors import InvalidInput
from hydroml.services.experiments.splits import (
    SplitSpec,
    detect_time_column,
    make_folds,
    validate,
    warnings,
)

FAST = settings(max_examples=60, deadline=None)


def _stations(days: int = 10, stations: tuple[str, ...] = ("A", "B", "C"), seed: int = 0) -> pd.DataFrame:
    """Several stations sharing the same dates, rows shuffled so row order is not time order."""
    dates = pd.date_range("2020-01-01", periods=days, freq="D")
    frame = pd.DataFrame(
        {
            "date": np.repeat(dates, len(stations)),
            "station": list(stations) * days,
            "flow": np.arange(days * len(stations), dtype=float),
        }
    )
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _assert_disjoint_and_in_range(folds, n_rows):
    for fold in folds:
        assert len(fold.train) and len(fold.test)
        assert np.intersect1d(fold.train, fold.test).size == 0
        for positions in (fold.train, fold.test):
            assert np.all(np.diff(positions) > 0)  # ascending, no repeats
            assert positions.min() >= 0 and positions.max() < n_rows


def _assert_train_before_test(frame, folds, time_column="date"):
    times = frame[time_column]
    for fold in folds:
        assert times.iloc[fold.train].max() < times.iloc[fold.test].min()


# --- time-aware splits ------------------------------------------------------------------------------------------


def test_time_series_split_never_trains_on_the_future():
    frame = _stations()
    folds = make_folds(frame, SplitSpec("time_series_cv", time_column="date", n_splits=3), None)
    assert len(folds) == 3
    _assert_train_before_test(frame, folds)
    _assert_disjoint_and_in_range(folds, len(frame))


def test_time_series_split_keeps_every_station_of_a_date_on_one_side():
    frame = _stations()
    for fold in make_folds(frame, SplitSpec("time_series_cv", time_column="date", n_splits=4), None):
        test_dates = set(frame["date"].iloc[fold.test])
        assert set(frame["date"].iloc[fold.train]).isdisjoint(test_dates)
        assert len(fold.test) == 3 * len(test_dates)  # all three stations for every test date


def test_time_series_steps_are_distinct_dates_with_gap_and_sliding_window():
    frame = _stations(days=10)
    spec = SplitSpec(
        "time_series_cv",
        time_column="date",
        n_splits=2,
        test_size=2,
        gap=1,
        window="sliding",
        max_train_size=3,
    )
    folds = make_folds(frame, spec, None)
    day = frame["date"].dt.day
    # 10 dates: tests are days 7-8 and 9-10; one day of gap; training is the 3 days before the gap
    assert sorted(set(day.iloc[folds[0].test])) == [7, 8]
    assert sorted(set(day.iloc[folds[0].train])) == [3, 4, 5]
    assert sorted(set(day.iloc[folds[1].test])) == [9, 10]
    assert sorted(set(day.iloc[folds[1].train])) == [5, 6, 7]


def test_expanding_window_trains_on_everything_before_the_test_block():
    frame = _stations(days=9)
    folds = make_folds(frame, SplitSpec("time_series_cv", time_column="date", n_splits=2), None)
    day = frame["date"].dt.day
    # default test size = 9 // (2 + 1) = 3 dates
    assert sorted(set(day.iloc[folds[0].train])) == [1, 2, 3]
    assert sorted(set(day.iloc[folds[1].train])) == [1, 2, 3, 4, 5, 6]
    assert sorted(set(day.iloc[folds[1].test])) == [7, 8, 9]


def test_chronological_holdout_tests_on_the_latest_share_of_rows():
    frame = _stations(days=10)
    [fold] = make_folds(
        frame, SplitSpec("chronological_holdout", time_column="date", test_fraction=0.2), None
    )
    assert sorted(set(frame["date"].dt.day.iloc[fold.test])) == [9, 10]
    assert len(fold.train) + len(fold.test) == len(frame)


def test_chronological_holdout_moves_tied_rows_to_one_side():
    # 5 rows, 40 % test = 2 rows, but the last two timestamps hold 1 and 3 rows: the closest cut keeps ties together
    frame = pd.DataFrame(
        {"t": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-02", "2020-01-02", "2020-01-03"])}
    )
    [fold] = make_folds(frame, SplitSpec("chronological_holdout", time_column="t", test_fraction=0.4), None)
    _assert_train_before_test(frame, [fold], "t")
    assert fold.test.tolist() in ([4], [1, 2, 3, 4])


def test_chronological_holdout_with_a_cut_date_tests_rows_on_and_after_it():
    frame = _stations(days=10)
    spec = SplitSpec("chronological_holdout", time_column="date", cut_date="2020-01-08")
    [fold] = make_folds(frame, spec, None)
    assert (frame["date"].iloc[fold.test] >= "2020-01-08").all()
    assert (frame["date"].iloc[fold.train] < "2020-01-08").all()
    assert len(fold.train) + len(fold.test) == len(frame)


def test_positions_index_the_frame_as_given_not_time_order():
    frame = pd.DataFrame({"date": pd.to_datetime(["2020-01-03", "2020-01-01", "2020-01-04", "2020-01-02"])})
    [fold] = make_folds(
        frame, SplitSpec("chronological_holdout", time_column="date", test_fraction=0.5), None
    )
    assert fold.train.tolist() == [1, 3] and fold.test.tolist() == [0, 2]


def test_rows_without_a_time_are_left_out_and_reported():
    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2020-01-01", None, "2020-01-02", "2020-01-03", "2020-01-04"])}
    )
    spec = SplitSpec("chronological_holdout", time_column="date", test_fraction=0.25)
    [fold] = make_folds(frame, spec, None)
    assert 1 not in fold.train and 1 not in fold.test
    assert any("1 row with no value in 'date'" in note for note in warnings(spec, frame))


def test_timezone_aware_numeric_and_text_time_columns_are_ordered():
    aware = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=6, freq="h", tz="Europe/Paris")})
    numeric = pd.DataFrame({"year": [2004, 2001, 2003, 2002, 2005, 2006]})
    text = pd.DataFrame({"day": ["2020-01-03", "2020-01-01", "2020-01-02", "2020-01-05", "2020-01-04"]})
    for frame, column in ((aware, "date"), (numeric, "year"), (text, "day")):
        spec = SplitSpec("time_series_cv", time_column=column, n_splits=2)
        folds = make_folds(frame, spec, None)
        ordered = pd.to_datetime(frame[column]) if column == "day" else frame[column]
        for fold in folds:
            assert ordered.iloc[fold.train].max() < ordered.iloc[fold.test].min()
    spec = SplitSpec("chronological_holdout", time_column="date", cut_date="2020-01-01T03:00")
    [fold] = make_folds(aware, spec, None)
    assert fold.test.tolist() == [3, 4, 5]  # the naive cut is read in the column's time zone


# --- shuffling and grouped splits -------------------------------------------------------------------------------


def test_kfold_tests_every_row_exactly_once():
    frame = _stations(days=7)
    folds = make_folds(frame, SplitSpec("kfold", n_splits=4, shuffle=True, seed=1), None)
    tested = np.concatenate([fold.test for fold in folds])
    assert sorted(tested.tolist()) == list(range(len(frame)))
    for fold in folds:
        assert sorted([*fold.train.tolist(), *fold.test.tolist()]) == list(range(len(frame)))


def test_same_seed_gives_the_same_folds():
    frame = _stations()
    spec = SplitSpec("random_holdout", test_fraction=0.3, seed=7)
    first, second = make_folds(frame, spec, None)[0], make_folds(frame, spec, None)[0]
    assert first.test.tolist() == second.test.tolist()


def test_group_kfold_leaves_whole_stations_out():
    frame = _stations(stations=("A", "B", "C", "D", "E"))
    folds = make_folds(frame, SplitSpec("group_kfold", group_column="station", n_splits=3), None)
    for fold in folds:
        assert set(frame["station"].iloc[fold.train]).isdisjoint(frame["station"].iloc[fold.test])
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == list(range(len(frame)))


def test_stratified_holdout_keeps_class_proportions():
    frame = pd.DataFrame({"wet": ["yes"] * 30 + ["no"] * 70})
    [fold] = make_folds(frame, SplitSpec("stratified_holdout", test_fraction=0.2), "wet")
    assert frame["wet"].iloc[fold.test].value_counts().to_dict() == {"no": 14, "yes": 6}


# --- spec, validation, warnings ---------------------------------------------------------------------------------


def test_spec_round_trips_through_json():
    spec = SplitSpec(
        "time_series_cv", time_column="date", n_splits=3, window="sliding", max_train_size=30, gap=2
    )
    data = json.loads(json.dumps(spec.as_dict()))
    assert data["version"] == 1
    assert SplitSpec.from_dict(data) == spec


def test_spec_from_dict_refuses_unknown_settings():
    with pytest.raises(InvalidInput, match="Unknown split setting 'folds'"):
        SplitSpec.from_dict({"strategy": "kfold", "folds": 3})
    with pytest.raises(InvalidInput, match="choose a split strategy"):
        SplitSpec.from_dict({})


@pytest.mark.parametrize(
    ("spec", "target", "field", "words"),
    [
        (SplitSpec("time_series_cv", time_column="when"), None, "time_column", "'when' is not in the table"),
        (SplitSpec("chronological_holdout"), None, "time_column", "needs a date/time column"),
        (
            SplitSpec("chronological_holdout", time_column="station"),
            None,
            "time_column",
            "does not hold dates",
        ),
        (
            SplitSpec("kfold", n_splits=31),
            None,
            "n_splits",
            "31 folds need at least 31 rows; the table has 30",
        ),
        (SplitSpec("kfold", n_splits=1), None, "n_splits", "at least 2"),
        (SplitSpec("random_holdout", test_fraction=1.5), None, "test_fraction", "between 0 and 1"),
        (SplitSpec("random_holdout", test_fraction=0), None, "test_fraction", "between 0 and 1"),
        (
            SplitSpec("chronological_holdout", time_column="date", cut_date="2021-06-01"),
            None,
            "cut_date",
            "after 2020-01-01 and no later than 2020-01-10",
        ),
        (
            SplitSpec("chronological_holdout", time_column="date", cut_date="soon"),
            None,
            "cut_date",
            "not a date",
        ),
        (SplitSpec("group_kfold", group_column="one"), None, "group_column", "fewer than 2 groups"),
        (
            SplitSpec("group_kfold", group_column="station", n_splits=4),
            None,
            "n_splits",
            "at least 4 groups in 'station'; the table has 3",
        ),
        (SplitSpec("group_kfold"), None, "group_column", "needs a group column"),
        (SplitSpec("stratified_holdout"), None, "target", "needs the target column"),
        (SplitSpec("stratified_holdout"), "rare", "target", "class 'r' has only 1"),
        (SplitSpec("stratified_holdout"), "flow", "target", "30 different values in 30 rows"),
        (
            SplitSpec("time_series_cv", time_column="date", n_splits=5, gap=5),
            None,
            "n_splits",
            "need at least 11; the table has 10",
        ),
        (
            SplitSpec("time_series_cv", time_column="date", window="sliding"),
            None,
            "max_train_size",
            "sliding",
        ),
        (SplitSpec("time_series_cv", time_column="date", gap=-1), None, "gap", "0 or more"),
        (SplitSpec("bootstrap"), None, "strategy", "Unknown split strategy 'bootstrap'"),
    ],
)
def test_bad_settings_are_reported_in_words_and_refused(spec, target, field, words):
    frame = _stations().assign(one="x", rare=["r"] + ["c"] * 29)
    problems = validate(spec, frame, target)
    assert any(words in problem for problem in problems), problems
    with pytest.raises(InvalidInput) as error:
        make_folds(frame, spec, target)
    assert error.value.field == field


def test_a_table_with_one_row_cannot_be_split():
    with pytest.raises(InvalidInput, match="The table has 1 row; a split needs at least 2"):
        make_folds(pd.DataFrame({"x": [1]}), SplitSpec("random_holdout"), None)


@pytest.mark.parametrize(
    "spec",
    [
        SplitSpec("random_holdout"),
        SplitSpec("stratified_holdout"),
        SplitSpec("kfold"),
        SplitSpec("kfold", shuffle=True),
    ],
)
def test_splits_that_ignore_time_warn_on_time_ordered_data(spec):
    notes = warnings(spec, _stations(), None)
    assert len(notes) == 1 and notes[0].startswith("Rows from the future will be used to predict the past:")


def test_time_safe_splits_and_tables_without_time_do_not_warn():
    assert warnings(SplitSpec("time_series_cv", time_column="date"), _stations(), "date") == []
    assert warnings(SplitSpec("kfold"), pd.DataFrame({"x": [1, 2, 3]}), None) == []


def test_detect_time_column_prefers_a_column_named_like_a_date():
    frame = pd.DataFrame(
        {
            "updated": pd.to_datetime(["2021-01-01"]),
            "Date": pd.to_datetime(["2020-01-01"]),
            "text": ["2020-01-01"],
        }
    )
    assert detect_time_column(frame) == "Date"
    assert detect_time_column(frame[["updated", "text"]]) == "updated"
    assert detect_time_column(frame[["text"]]) is None


# --- properties -------------------------------------------------------------------------------------------------


@st.composite
def _time_frames(draw):
    """Tables with repeated timestamps (several stations, duplicates), in random row order, maybe with gaps."""
    n_rows = draw(st.integers(2, 80))
    days = draw(st.lists(st.integers(0, draw(st.integers(1, 40))), min_size=n_rows, max_size=n_rows))
    dates = pd.Timestamp("2000-01-01") + pd.to_timedelta(days, unit="D")
    missing = draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows)) if draw(st.booleans()) else []
    series = pd.Series(dates)
    if missing:
        series = series.mask(pd.Series(missing) & (pd.Series(range(n_rows)) % 5 == 0))
    return pd.DataFrame(
        {"date": series, "station": draw(st.lists(st.sampled_from("ABC"), min_size=n_rows, max_size=n_rows))}
    )


def _time_specs():
    chronological = st.builds(
        SplitSpec,
        strategy=st.just("chronological_holdout"),
        time_column=st.just("date"),
        test_fraction=st.floats(0.01, 0.99),
        cut_date=st.one_of(
            st.none(),
            st.integers(-2, 45).map(lambda d: str(pd.Timestamp("2000-01-01") + pd.Timedelta(days=d))),
        ),
    )
    time_series = st.builds(
        SplitSpec,
        strategy=st.just("time_series_cv"),
        time_column=st.just("date"),
        n_splits=st.integers(1, 6),
        window=st.sampled_from(["expanding", "sliding"]),
        max_train_size=st.integers(1, 20),
        gap=st.integers(0, 4),
        test_size=st.one_of(st.none(), st.integers(1, 8)),
    )
    return st.one_of(chronological, time_series)


@FAST
@given(frame=_time_frames(), spec=_time_specs())
def test_time_aware_splits_never_put_a_training_row_later_than_a_test_row(frame, spec):
    if validate(spec, frame, None):
        with pytest.raises(InvalidInput):
            make_folds(frame, spec, None)
        return
    folds = make_folds(frame, spec, None)
    _assert_disjoint_and_in_range(folds, len(frame))
    _assert_train_before_test(frame, folds)
    assert not any(frame["date"].iloc[np.concatenate([f.train, f.test])].isna().any() for f in folds)


@FAST
@given(
    classes=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=2, max_size=120),
    test_fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 1000),
)
def test_stratified_holdout_keeps_each_class_within_one_row_of_its_exact_share(classes, test_fraction, seed):
    frame = pd.DataFrame({"label": classes})
    spec = SplitSpec("stratified_holdout", test_fraction=test_fraction, seed=seed)
    if validate(spec, frame, "label"):
        with pytest.raises(InvalidInput):
            make_folds(frame, spec, "label")
        return
    [fold] = make_folds(frame, spec, "label")
    _assert_disjoint_and_in_range([fold], len(frame))
    assert len(fold.train) + len(fold.test) == len(frame)
    in_test = frame["label"].iloc[fold.test].value_counts()
    for label, size in frame["label"].value_counts().items():
        assert abs(in_test.get(label, 0) - test_fraction * size) <= 1


@FAST
@given(
    groups=st.lists(st.integers(0, 8), min_size=2, max_size=100),
    n_splits=st.integers(2, 6),
)
def test_group_kfold_never_shares_a_group_and_tests_each_row_once(groups, n_splits):
    frame = pd.DataFrame({"station": groups})
    spec = SplitSpec("group_kfold", group_column="station", n_splits=n_splits)
    if validate(spec, frame, None):
        with pytest.raises(InvalidInput):
            make_folds(frame, spec, None)
        return
    folds = make_folds(frame, spec, None)
    _assert_disjoint_and_in_range(folds, len(frame))
    for fold in folds:
        assert set(frame["station"].iloc[fold.train]).isdisjoint(frame["station"].iloc[fold.test])
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == list(range(len(frame)))


@FAST
@given(
    n_rows=st.integers(2, 200),
    n_splits=st.integers(2, 10),
    shuffle=st.booleans(),
    seed=st.integers(0, 10_000),
    test_fraction=st.floats(0.01, 0.99),
)
def test_kfold_and_random_holdout_cover_every_row(n_rows, n_splits, shuffle, seed, test_fraction):
    frame = pd.DataFrame({"x": np.arange(n_rows)})
    holdout = make_folds(frame, SplitSpec("random_holdout", test_fraction=test_fraction, seed=seed), None)
    _assert_disjoint_and_in_range(holdout, n_rows)
    assert len(holdout[0].train) + len(holdout[0].test) == n_rows
    spec = SplitSpec("kfold", n_splits=n_splits, shuffle=shuffle, seed=seed)
    if n_rows < n_splits:
        with pytest.raises(InvalidInput, match="folds need at least"):
            make_folds(frame, spec, None)
        return
    folds = make_folds(frame, spec, None)
    _assert_disjoint_and_in_range(folds, n_rows)
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == list(range(n_rows))
    for fold in folds:
        assert len(fold.train) + len(fold.test) == n_rows


def test_every_strategy_names_the_settings_it_reads():
    from dataclasses import fields

    from hydroml.services.experiments import splits

    names = {f.name for f in fields(splits.SplitSpec)}
    assert set(splits.STRATEGY_FIELDS) == set(splits.STRATEGIES)
    assert all(set(used) <= names for used in splits.STRATEGY_FIELDS.values())
