"""The model catalog: every model fits what it claims, forms validate by name, problem types are guessed."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from hydroml.services.errors import InvalidInput
from hydroml.services.experiments import catalog
from hydroml.services.experiments.catalog import (
    MODELS,
    build_estimator,
    detect_problem_type,
    form_values,
    get_model,
    models_for,
    parse_form,
    problem_family,
    validate_params,
)

CASES = [
    (key, pt) for key, m in MODELS.items() for pt in ("regression", "binary", "multiclass") if m.supports(pt)
]


def _hydro(n: int = 300, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Precipitation and temperature, with a flow that follows the rain and the three targets built on it."""
    rng = np.random.default_rng(seed)
    precip = rng.gamma(0.6, 6.0, n)
    temp = 10 + 8 * np.sin(np.arange(n) * 2 * np.pi / 365) + rng.normal(0, 2, n)
    flow = 2 + 0.8 * precip + 0.05 * np.maximum(temp, 0) + rng.gamma(1.0, 0.5, n)
    targets = {
        "regression": flow,
        "binary": flow > np.quantile(flow, 0.8),
        "multiclass": np.select(
            [flow < np.quantile(flow, 0.33), flow < np.quantile(flow, 0.66)], ["low", "mid"], "high"
        ),
    }
    X = (np.column_stack([precip, temp]) - [3.6, 10.0]) / [
        5.0,
        6.0,
    ]  # roughly standardised, as a pipeline would
    return X, targets


@pytest.mark.parametrize(("key", "problem_type"), CASES)
def test_every_model_fits_with_default_params(key, problem_type):
    X, targets = _hydro()
    y = targets[problem_type]
    estimator = build_estimator(key, problem_type, {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    predicted = estimator.predict(X)
    assert len(predicted) == len(y)
    if problem_type == "regression":
        assert np.isfinite(predicted).all()
        assert np.corrcoef(predicted, y)[0, 1] > 0.5  # it learned something from the rain
    else:
        assert set(predicted) <= set(y)


def test_regression_and_classification_lists_differ():
    regression = {m.key for m in models_for("regression")}
    classification = {m.key for m in models_for("binary")}
    assert {"linear_regression", "ridge", "lasso", "elastic_net"} <= regression - classification
    assert "logistic_regression" in classification - regression
    assert {m.key for m in models_for("multiclass")} == classification
    assert len(MODELS) == 13


def test_svm_is_svr_for_regression_and_svc_for_classification():
    assert type(build_estimator("svm", "regression")).__name__ == "SVR"
    assert type(build_estimator("svm", "binary")).__name__ == "SVC"


def test_unknown_model_is_refused_on_the_model_field():
    with pytest.raises(InvalidInput) as caught:
        get_model("xgboost")
    assert caught.value.field == "model"


def test_model_used_for_a_problem_it_does_not_do_is_refused():
    with pytest.raises(InvalidInput) as caught:
        validate_params("lasso", "binary", {})
    assert caught.value.field == "model"
    assert "classification" in caught.value.message


def test_defaults_are_filled_in_with_their_types():
    params = validate_params("random_forest", "regression", {"n_estimators": 10.0})
    assert params["n_estimators"] == 10 and isinstance(params["n_estimators"], int)
    assert params["max_depth"] == 14
    assert params["min_samples_leaf"] == 5
    assert params["random_state"] == 42
    assert "class_weight" not in params  # classification only


def test_out_of_range_value_names_the_parameter():
    with pytest.raises(InvalidInput) as caught:
        validate_params("random_forest", "regression", {"n_estimators": 0})
    assert caught.value.field == "n_estimators"
    assert "at least 1" in caught.value.message


def test_wrong_type_names_the_parameter():
    with pytest.raises(InvalidInput) as caught:
        validate_params("decision_tree", "binary", {"max_depth": "deep"})
    assert caught.value.field == "max_depth"
    assert "whole number" in caught.value.message


def test_fraction_above_one_names_the_parameter():
    with pytest.raises(InvalidInput) as caught:
        validate_params("random_forest", "binary", {"max_features": 1.5})
    assert caught.value.field == "max_features"


def test_unknown_choice_names_the_parameter():
    with pytest.raises(InvalidInput) as caught:
        validate_params("svm", "regression", {"kernel": "cubic"})
    assert caught.value.field == "kernel"
    assert "rbf" in caught.value.message


def test_unknown_parameter_is_named():
    with pytest.raises(InvalidInput) as caught:
        validate_params("ridge", "regression", {"max_depth": 3})
    assert caught.value.field == "max_depth"
    assert "no parameter" in caught.value.message


def test_parameter_of_the_other_problem_family_is_refused_by_name():
    with pytest.raises(InvalidInput) as caught:
        validate_params("svm", "binary", {"epsilon": 0.2})
    assert caught.value.field == "epsilon"
    assert "regression only" in caught.value.message


def test_empty_optional_integer_means_no_limit():
    assert validate_params("random_forest", "regression", {"max_depth": None})["max_depth"] is None
    assert build_estimator("random_forest", "regression", {"max_depth": None}).max_depth is None


def test_required_parameter_cannot_be_empty():
    with pytest.raises(InvalidInput) as caught:
        validate_params("gradient_boosting", "regression", {"max_depth": None})
    assert caught.value.field == "max_depth"


def test_empty_max_features_takes_the_problem_default():
    assert build_estimator("random_forest", "regression").max_features == 1.0
    assert build_estimator("random_forest", "binary").max_features == "sqrt"


def test_class_weight_none_and_balanced():
    assert build_estimator("random_forest", "binary").class_weight is None
    assert build_estimator("random_forest", "binary", {"class_weight": "balanced"}).class_weight == "balanced"


def test_n_jobs_is_set_only_where_the_model_takes_it():
    assert build_estimator("random_forest", "regression", n_jobs=2).n_jobs == 2
    assert build_estimator("knn", "binary").n_jobs == -1
    assert "n_jobs" not in validate_params("random_forest", "regression", {})


def test_stochastic_models_default_to_seed_42():
    for key in (
        "decision_tree",
        "random_forest",
        "extra_trees",
        "gradient_boosting",
        "hist_gradient_boosting",
        "mlp",
    ):
        assert build_estimator(key, "regression").random_state == 42


def test_logistic_regression_with_l1_penalty_fits():
    X, targets = _hydro()
    model = build_estimator("logistic_regression", "binary", {"l1_ratio": 1.0, "C": 0.5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, targets["binary"])
    assert model.solver == "saga"
    assert model.score(X, targets["binary"]) > 0.7


def test_mlp_layers_become_a_tuple_and_each_size_is_checked():
    assert build_estimator("mlp", "regression", {"hidden_layer_sizes": [16, 8]}).hidden_layer_sizes == (16, 8)
    with pytest.raises(InvalidInput) as caught:
        validate_params("mlp", "regression", {"hidden_layer_sizes": [16, 0]})
    assert caught.value.field == "hidden_layer_sizes"


def test_form_texts_round_trip_to_the_same_params():
    texts = form_values("hist_gradient_boosting", "binary")
    assert texts["max_depth"] == "" and texts["max_iter"] == "200"
    texts["max_depth"] = "6"
    texts["class_weight"] = "balanced"
    params = parse_form("hist_gradient_boosting", "binary", texts)
    assert params["max_depth"] == 6 and params["class_weight"] == "balanced"
    assert (
        parse_form(
            "hist_gradient_boosting", "binary", form_values("hist_gradient_boosting", "binary", params)
        )
        == params
    )


def test_unreadable_form_text_names_the_field():
    texts = form_values("ridge", "regression")
    texts["alpha"] = "lots"
    with pytest.raises(InvalidInput) as caught:
        parse_form("ridge", "regression", texts)
    assert caught.value.field == "alpha"


def test_search_space_covers_declared_params_within_their_bounds():
    for model in MODELS.values():
        params = {p.name: p for p in model.params}
        for name, dim in model.search_space.items():
            assert name in params, f"{model.key}: {name}"
            p = params[name]
            if dim.kind == "choice":
                assert dim.choices
                if p.kind == "choice":
                    assert set(dim.choices) <= set(p.choices)
            else:
                assert dim.low < dim.high
                assert p.minimum is None or dim.low >= p.minimum
                assert p.maximum is None or dim.high <= p.maximum
                assert not dim.log or dim.low > 0


def test_catalog_is_json_for_the_wizard():
    payload = [m.as_dict("binary") for m in models_for("binary")]
    text = json.dumps(payload)
    svm = next(m for m in payload if m["key"] == "svm")
    assert "epsilon" not in {p["name"] for p in svm["params"]}
    assert "epsilon" not in svm["search_space"]
    assert "mlp" in text


def test_every_default_passes_validation():
    for model in MODELS.values():
        for problem_type in ("regression", "binary"):
            if model.supports(problem_type):
                defaults = {p.name: p.default for p in model.params_for(problem_type)}
                assert validate_params(model.key, problem_type, defaults) == validate_params(
                    model.key, problem_type, {}
                )


# -------------------------------------------------------------------------------------------- problem types


def test_continuous_flow_is_regression():
    assert (
        detect_problem_type(pd.Series(np.random.default_rng(0).gamma(1, 3, 500), name="flow")) == "regression"
    )


def test_integer_counts_with_many_values_are_regression():
    counts = pd.Series(np.random.default_rng(0).poisson(40, 500), name="e_coli")
    assert detect_problem_type(counts) == "regression"


def test_booleans_and_zero_one_integers_are_binary():
    assert detect_problem_type(pd.Series([True, False, True, None], dtype="boolean")) == "binary"
    assert detect_problem_type(pd.Series([0, 1, 1, 0, 1])) == "binary"
    assert detect_problem_type(pd.Series([0.0, 1.0, np.nan, 1.0])) == "binary"


def test_few_integer_levels_and_text_are_multiclass():
    assert detect_problem_type(pd.Series([0, 1, 2, 3, 4] * 20)) == "multiclass"
    assert detect_problem_type(pd.Series(["low", "mid", "high", None])) == "multiclass"
    assert detect_problem_type(pd.Series(["A", "B", "C"], dtype="category")) == "multiclass"
    assert detect_problem_type(pd.Series(["wet", "dry"])) == "binary"


def test_more_integer_levels_than_the_threshold_is_regression():
    levels = catalog.MAX_CLASS_LEVELS + 1
    assert detect_problem_type(pd.Series(list(range(levels)) * 3)) == "regression"


def test_a_date_target_is_refused():
    with pytest.raises(InvalidInput) as caught:
        detect_problem_type(pd.Series(pd.date_range("2020-01-01", periods=3), name="date"))
    assert caught.value.field == "target"


def test_problem_family():
    assert problem_family("regression") == "regression"
    assert problem_family("binary") == problem_family("multiclass") == "classification"
    with pytest.raises(InvalidInput) as caught:
        problem_family("forecast")
    assert caught.value.field == "problem_type"
