"""The pipeline that travels with the model pickles and predicts the same; leaks and bad targets show."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning

from hydroml.services.errors import InvalidInput
from hydroml.services.experiments import pipeline
from hydroml.services.experiments.catalog import MODELS
from hydroml.services.experiments.pipeline import (
    PreprocessingSpec,
    build_pipeline,
    default_preprocessing,
    feature_warnings,
    rows_with_target,
    target_problems,
)

FEATURES = ["precip_mm", "temp_c", "station", "frozen"]
CASES = [
    (key, pt) for key, m in MODELS.items() for pt in ("regression", "binary", "multiclass") if m.supports(pt)
]


def hydro_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Daily rain, temperature and flow at three stations, a few rain values missing, and three targets."""
    rng = np.random.default_rng(seed)
    date = pd.date_range("2021-01-01", periods=n, freq="D")
    station = pd.Series(rng.choice(["Rhine", "Aare", "Reuss"], n), dtype="category")
    precip = rng.gamma(0.6, 6.0, n)
    temp = 10 + 8 * np.sin(np.arange(n) * 2 * np.pi / 365) + rng.normal(0, 2, n)
    base = station.map({"Rhine": 20.0, "Aare": 8.0, "Reuss": 4.0}).to_numpy(dtype=float)
    flow = base + 1.5 * precip + 0.1 * np.maximum(temp, 0) + rng.gamma(1.0, 1.0, n)
    frame = pd.DataFrame(
        {
            "date": date,
            "station": station,
            "precip_mm": precip,
            "temp_c": temp,
            "frozen": temp < 3,
            "flow": flow,
            "flood": flow > np.quantile(flow, 0.8),
            "level": pd.cut(flow, [-np.inf, 8, 20, np.inf], labels=["low", "mid", "high"]).astype(str),
        }
    )
    frame.loc[rng.choice(n, 12, replace=False), "precip_mm"] = np.nan
    return frame


TARGET = {"regression": "flow", "binary": "flood", "multiclass": "level"}


def _fit(model, frame, target):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(frame[FEATURES], frame[target])


@pytest.mark.parametrize(("key", "problem_type"), CASES)
def test_every_model_trains_on_mixed_features_with_missing_values(key, problem_type):
    frame = hydro_frame()
    target = TARGET[problem_type]
    model = build_pipeline(frame, FEATURES, problem_type, key, {}, PreprocessingSpec(), target=target)
    _fit(model, frame, target)
    predicted = model.predict(frame[FEATURES])
    assert len(predicted) == len(frame)
    if problem_type == "regression":
        assert np.isfinite(predicted).all()
    else:
        assert set(predicted) <= set(frame[target])


def test_fitted_pipeline_pickles_and_predicts_the_same():
    frame = hydro_frame()
    model = build_pipeline(frame, FEATURES, "regression", "random_forest", {"n_estimators": 10}, None)
    _fit(model, frame, "flow")
    blob = pickle.dumps(model)
    assert b"hydroml" not in blob  # loads wherever pandas and scikit-learn are installed
    again = pickle.loads(blob)
    # Trees are summed by parallel threads in any order: equal up to the last bits of a float.
    np.testing.assert_allclose(again.predict(frame[FEATURES]), model.predict(frame[FEATURES]), rtol=1e-12)


def test_log1p_target_predicts_in_the_target_units_and_pickles():
    frame = hydro_frame()
    frame["bacteria"] = np.exp(0.25 * frame["precip_mm"].fillna(0)) * 50  # skewed counts, exponential in rain
    spec = PreprocessingSpec(log1p_target=True)
    model = build_pipeline(frame, FEATURES, "regression", "linear_regression", {}, spec, target="bacteria")
    assert isinstance(model.named_steps["model"], TransformedTargetRegressor)
    model.fit(frame[FEATURES], frame["bacteria"])
    predicted = model.predict(frame[FEATURES])
    rows = frame["precip_mm"].notna()
    error = np.abs(predicted[rows] - frame["bacteria"][rows]) / frame["bacteria"][rows]
    assert np.median(error) < 0.05  # a straight line in log space fits the exponential: back in counts
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict(frame[FEATURES]), predicted)


def test_log1p_target_refuses_values_at_or_below_minus_one():
    frame = hydro_frame()
    frame["change"] = frame["flow"] - frame["flow"].mean()
    with pytest.raises(InvalidInput) as caught:
        build_pipeline(frame, FEATURES, "regression", "ridge", {}, {"log1p_target": True}, target="change")
    assert caught.value.field == "log1p_target"
    assert "above -1" in caught.value.message and "'change'" in caught.value.message


def test_log1p_target_is_for_regression_only():
    frame = hydro_frame()
    with pytest.raises(InvalidInput) as caught:
        build_pipeline(frame, FEATURES, "binary", "random_forest", {}, {"log1p_target": True})
    assert caught.value.field == "log1p_target"


def test_no_imputation_with_missing_values_is_refused_with_advice():
    frame = hydro_frame()
    with pytest.raises(InvalidInput) as caught:
        build_pipeline(frame, FEATURES, "regression", "random_forest", {}, {"numeric_imputation": "none"})
    assert caught.value.field == "numeric_imputation"
    assert "precip_mm (12 rows)" in caught.value.message
    assert "imputation" in caught.value.message and "studio" in caught.value.message


def test_histogram_boosting_learns_with_missing_values_as_they_are():
    frame = hydro_frame()
    spec = default_preprocessing("hist_gradient_boosting")
    assert spec.numeric_imputation == "none" and spec.scaling == "none"
    model = build_pipeline(frame, FEATURES, "regression", "hist_gradient_boosting", {"max_iter": 20}, spec)
    _fit(model, frame, "flow")
    assert np.isfinite(model.predict(frame[FEATURES])).all()


def test_date_features_are_refused_with_a_pointer_to_calendar_features():
    frame = hydro_frame()
    with pytest.raises(InvalidInput) as caught:
        build_pipeline(frame, [*FEATURES, "date"], "regression", "ridge", {}, None)
    assert caught.value.field == "features"
    assert "calendar features" in caught.value.message


def test_unknown_station_at_prediction_is_ignored_by_one_hot():
    frame = hydro_frame()
    model = _fit(build_pipeline(frame, FEATURES, "regression", "ridge", {}, None), frame, "flow")
    new = frame[FEATURES].head(3).copy()
    new["station"] = pd.Series(["Ticino"] * 3, dtype="category")
    assert np.isfinite(model.predict(new)).all()


def test_ordinal_codes_are_native_categories_for_histogram_boosting():
    frame = hydro_frame()
    spec = PreprocessingSpec(one_hot=False, numeric_imputation="none", scaling="none")
    model = build_pipeline(frame, FEATURES, "regression", "hist_gradient_boosting", {"max_iter": 20}, spec)
    assert model.named_steps["model"].categorical_features == [3]  # after precip, temp and frozen
    _fit(model, frame, "flow")
    new = frame[FEATURES].head(2).copy()
    new["station"] = pd.Series(["Ticino", None], dtype="category")
    assert np.isfinite(model.predict(new)).all()


def test_one_hot_columns_are_capped():
    frame = hydro_frame()
    frame["gauge"] = [f"G{i % 40}" for i in range(len(frame))]
    model = build_pipeline(frame, ["temp_c", "gauge"], "regression", "ridge", {}, {"max_categories": 5})
    model.fit(frame[["temp_c", "gauge"]], frame["flow"])
    names = model.named_steps["preprocess"].get_feature_names_out()
    assert sum(name.startswith("categorical__gauge") for name in names) == 5


def test_nullable_integer_and_boolean_features_with_missing_values_train():
    frame = hydro_frame()
    frame["rain_days"] = pd.array([i % 7 if i % 10 else None for i in range(len(frame))], dtype="Int64")
    frame["snow"] = pd.array([bool(i % 3) if i % 11 else None for i in range(len(frame))], dtype="boolean")
    features = ["rain_days", "snow", "temp_c"]
    model = build_pipeline(frame, features, "regression", "knn", {}, None)
    model.fit(frame[features], frame["flow"])
    assert np.isfinite(model.predict(frame[features])).all()


def test_preprocessing_spec_json_round_trip():
    spec = PreprocessingSpec(numeric_imputation="mean", scaling="robust", one_hot=False, log1p_target=True)
    assert PreprocessingSpec.from_dict(spec.as_dict()) == spec
    assert PreprocessingSpec.from_dict({"max_categories": 30.0}).max_categories == 30
    assert PreprocessingSpec.from_dict(None) == PreprocessingSpec()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"scaling": "zscore"}, "scaling"),
        ({"numeric_imputation": "knn"}, "numeric_imputation"),
        ({"one_hot": "yes"}, "one_hot"),
        ({"max_categories": 1}, "max_categories"),
        ({"imputation": "median"}, "imputation"),
    ],
)
def test_bad_preprocessing_names_the_option(data, field):
    with pytest.raises(InvalidInput) as caught:
        PreprocessingSpec.from_dict(data)
    assert caught.value.field == field


def test_default_preprocessing_scales_only_models_that_need_it():
    assert default_preprocessing("mlp").scaling == "standard"
    assert default_preprocessing("random_forest").scaling == "none"
    assert default_preprocessing("random_forest").numeric_imputation == "median"


def test_target_cannot_be_a_feature():
    frame = hydro_frame()
    with pytest.raises(InvalidInput) as caught:
        build_pipeline(frame, ["flow", "temp_c"], "regression", "ridge", {}, None, target="flow")
    assert caught.value.field == "features"


# ------------------------------------------------------------------------------------------------ leaks


def _leaky_frame() -> pd.DataFrame:
    frame = hydro_frame(n=600)
    frame["record_id"] = [f"r-{i:05d}" for i in range(len(frame))]
    frame["flow_lps"] = frame["flow"] * 1000  # the target in other units
    frame["flow_log"] = np.log(frame["flow"])  # a monotone rescaling
    frame["flow_lag1"] = frame["flow"].shift(1)  # yesterday's flow: known when predicting
    frame["flow_lag3"] = frame["flow"].shift(3)
    frame["upstream_tomorrow"] = frame["flow"].shift(-1) * 0.9  # tomorrow's flow under an innocent name
    frame["flow_lead2"] = frame["flow"].shift(-2)
    frame["sensor"] = "ISCO-6712"
    return frame


def _flagged(frame: pd.DataFrame, features: list[str], time_column: str | None = "date") -> dict[str, str]:
    return {w["column"]: w["reason"] for w in feature_warnings(frame, "flow", features, time_column)}


def test_id_column_is_flagged():
    assert "identifier" in _flagged(_leaky_frame(), ["record_id", "temp_c"])["record_id"]


def test_integer_row_counter_is_flagged_but_a_measurement_is_not():
    frame = _leaky_frame()
    frame["n"] = np.arange(len(frame))
    assert set(_flagged(frame, ["n", "precip_mm", "temp_c"])) == {"n"}


def test_time_column_is_flagged():
    assert "time column" in _flagged(_leaky_frame(), ["date", "temp_c"])["date"]


def test_rescaled_copies_of_the_target_are_flagged():
    flagged = _flagged(_leaky_frame(), ["flow_lps", "flow_log", "precip_mm"])
    assert "same row" in flagged["flow_lps"]
    assert "same row" in flagged["flow_log"]
    assert "precip_mm" not in flagged


def test_a_lead_of_the_target_is_flagged_by_its_values_and_by_its_name():
    flagged = _flagged(_leaky_frame(), ["upstream_tomorrow", "flow_lead2"])
    assert "1 row(s) later" in flagged["upstream_tomorrow"]
    assert "lead" in flagged["flow_lead2"]


def test_lags_of_the_target_are_fine():
    assert _flagged(_leaky_frame(), ["flow_lag1", "flow_lag3", "temp_c", "station", "frozen"]) == {}


def test_constant_column_is_flagged():
    assert "constant" in _flagged(_leaky_frame(), ["sensor"])["sensor"]


def test_class_under_another_name_is_flagged():
    frame = hydro_frame()
    frame["level_code"] = frame["level"].map({"low": 1, "mid": 2, "high": 3})
    warned = feature_warnings(frame, "level", ["level_code", "station", "temp_c"])
    assert [w["column"] for w in warned] == ["level_code"]


def test_leak_checks_sample_large_tables():
    n = pipeline.SAMPLE_ROWS * 3
    rng = np.random.default_rng(1)
    flow = np.cumsum(rng.normal(size=n)) + 1000
    frame = pd.DataFrame(
        {"flow": flow, "copy": flow * 2, "lag": np.roll(flow, 1), "noise": rng.normal(size=n)}
    )
    flagged = {w["column"] for w in feature_warnings(frame, "flow", ["copy", "lag", "noise"])}
    assert flagged == {"copy"}


# ------------------------------------------------------------------------------------------------ targets


def test_a_clean_target_has_no_problems():
    frame = hydro_frame()
    assert target_problems(frame, "flow", "regression") == []
    assert target_problems(frame, "flood", "binary") == []
    assert target_problems(frame, "level", "multiclass") == []


def test_many_missing_target_values_are_a_problem_and_a_few_are_not():
    frame = hydro_frame(n=200)
    frame.loc[:79, "flow"] = np.nan  # 40%
    problems = target_problems(frame, "flow", "regression")
    assert len(problems) == 1
    assert "'flow' has 40% missing values" in problems[0] and "leave those rows out" in problems[0]
    frame.loc[:59, "flow"] = 1.0  # 10% missing left
    assert target_problems(frame, "flow", "regression") == []
    assert rows_with_target(frame, "flow").sum() == 180


def test_a_single_class_is_a_problem():
    frame = hydro_frame()
    frame["flood"] = False
    assert "single class" in target_problems(frame, "flood", "binary")[0]


def test_text_target_for_regression_is_a_problem():
    assert "not numeric" in target_problems(hydro_frame(), "level", "regression")[0]


def test_three_classes_for_binary_is_a_problem():
    assert "multiclass" in target_problems(hydro_frame(), "level", "binary")[0]


def test_a_class_with_one_row_is_a_problem():
    frame = hydro_frame()
    frame.loc[0, "level"] = "extreme"
    assert "'extreme'" in target_problems(frame, "level", "multiclass")[0]


def test_a_constant_or_empty_regression_target_is_a_problem():
    frame = hydro_frame()
    frame["flow"] = 3.0
    assert "single value" in target_problems(frame, "flow", "regression")[0]
    frame["flow"] = np.nan
    assert "no values" in target_problems(frame, "flow", "regression")[0]
