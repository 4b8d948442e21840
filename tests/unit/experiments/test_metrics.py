"""Scores equal independent references (HydroErr, scikit-learn, hand computation) and survive degenerate data."""

from __future__ import annotations

import math

import HydroErr as he
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from hydroml.services.errors import InvalidInput
from hydroml.services.experiments import metrics
from hydroml.services.experiments.metrics import (
    METRICS,
    compute,
    evaluate,
    metrics_for,
    per_group,
    summarize_folds,
)


def _flows(seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    observed = rng.lognormal(mean=2.0, sigma=0.8, size=n)
    simulated = observed * rng.normal(1.05, 0.2, size=n) + rng.normal(0, 0.5, size=n)
    return observed, np.abs(simulated)


# --- regression: hand-checked fixture ---------------------------------------------------------------------------


def test_regression_metrics_match_a_hand_computed_example():
    # obs = [1, 2, 3, 4] (mean 2.5, sum 10), sim = [2, 2, 3, 5]: errors sim - obs = [1, 0, 0, 1]
    # SSE = 2, sum((obs - 2.5)^2) = 2.25 + 0.25 + 0.25 + 2.25 = 5  ->  NSE = 1 - 2/5 = 0.6
    # RMSE = sqrt(2/4); MAE = 2/4; bias = 2/4; PBIAS = 100 * 2 / 10 = 20
    # MAPE = 100 * (1/1 + 0 + 0 + 1/4) / 4 = 31.25
    # KGE: sim mean 3 -> beta = 3 / 2.5 = 1.2; sim deviations [-1, -1, 0, 2] (SS 6), obs deviations
    # [-1.5, -0.5, 0.5, 1.5] (SS 5), cross products 1.5 + 0.5 + 0 + 3 = 5 -> r = 5 / sqrt(30); alpha = sqrt(6 / 5)
    values = compute("regression", [1, 2, 3, 4], [2, 2, 3, 5])
    r, alpha, beta = 5 / math.sqrt(30), math.sqrt(6 / 5), 1.2
    assert values["nse"] == pytest.approx(0.6)
    assert values["r2"] == pytest.approx(0.6)
    assert values["rmse"] == pytest.approx(math.sqrt(0.5))
    assert values["mae"] == pytest.approx(0.5)
    assert values["bias"] == pytest.approx(0.5)
    assert values["pbias"] == pytest.approx(20.0)
    assert values["mape"] == pytest.approx(31.25)
    assert values["kge_r"] == pytest.approx(r)
    assert values["kge_alpha"] == pytest.approx(alpha)
    assert values["kge_beta"] == pytest.approx(beta)
    assert values["kge"] == pytest.approx(1 - math.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2))


def test_log_nse_uses_one_hundredth_of_the_mean_observed_flow_as_offset():
    # obs mean = 2.5 -> eps = 0.025; NSE of the logs
    observed, simulated = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 3.0, 5.0])
    expected = he.nse(np.log(simulated + 0.025), np.log(observed + 0.025))
    assert compute("regression", observed, simulated, keys=["log_nse"])["log_nse"] == pytest.approx(expected)


def test_results_are_plain_python_floats():
    values = compute("regression", [1, 2, 3], [1, 2, 4])
    assert all(type(v) is float for v in values.values())


# --- regression and hydrology against HydroErr and scikit-learn -------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hydrology_metrics_equal_hydroerr(seed):
    observed, simulated = _flows(seed)
    values = compute("regression", observed, simulated)
    r, alpha, beta, kge = he.kge_2009(simulated, observed, return_all=True)
    assert values["nse"] == pytest.approx(he.nse(simulated, observed))
    assert values["kge"] == pytest.approx(kge)
    assert values["kge_r"] == pytest.approx(r)
    assert values["kge_alpha"] == pytest.approx(alpha)
    assert values["kge_beta"] == pytest.approx(beta)
    assert values["rmse"] == pytest.approx(he.rmse(simulated, observed))
    assert values["mae"] == pytest.approx(he.mae(simulated, observed))
    assert values["mape"] == pytest.approx(he.mape(simulated, observed))
    assert values["bias"] == pytest.approx(he.me(simulated, observed))
    eps = observed.mean() / 100
    assert values["log_nse"] == pytest.approx(he.nse(np.log(simulated + eps), np.log(observed + eps)))


@pytest.mark.parametrize("seed", [0, 1])
def test_pbias_is_positive_for_overestimation_and_relates_to_hydroerr_mean_error(seed):
    # HydroErr 2.0 has no PBIAS; ours is 100 * sum(sim - obs) / sum(obs) = 100 * ME / mean(obs).
    observed, simulated = _flows(seed)
    pbias = compute("regression", observed, simulated, keys=["pbias"])["pbias"]
    assert pbias == pytest.approx(100 * he.me(simulated, observed) / observed.mean())
    assert compute("regression", observed, observed * 1.1, keys=["pbias"])["pbias"] == pytest.approx(10.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_regression_metrics_equal_scikit_learn(seed):
    observed, simulated = _flows(seed)
    values = compute("regression", observed, simulated)
    assert values["r2"] == pytest.approx(skm.r2_score(observed, simulated))
    assert values["rmse"] == pytest.approx(skm.root_mean_squared_error(observed, simulated))
    assert values["mae"] == pytest.approx(skm.mean_absolute_error(observed, simulated))
    assert values["mape"] == pytest.approx(100 * skm.mean_absolute_percentage_error(observed, simulated))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.01, 1e4), st.floats(0.0, 1e4)),
        min_size=3,
        max_size=60,
    ).filter(lambda pairs: np.std([p[0] for p in pairs]) > 1e-3 and np.std([p[1] for p in pairs]) > 1e-3)
)
def test_nse_and_kge_equal_hydroerr_for_any_positive_series(pairs):
    observed = np.array([p[0] for p in pairs])
    simulated = np.array([p[1] for p in pairs])
    values = compute("regression", observed, simulated, keys=["nse", "kge"])
    assert values["nse"] == pytest.approx(he.nse(simulated, observed), rel=1e-9, abs=1e-9)
    assert values["kge"] == pytest.approx(he.kge_2009(simulated, observed), rel=1e-9, abs=1e-9)


def test_mape_ignores_rows_observed_zero():
    # only rows 2 and 3 count: 100 * (|3 - 2| / 2 + |3 - 4| / 4) / 2 = 37.5
    assert compute("regression", [0, 2, 4], [5, 3, 3], keys=["mape"])["mape"] == pytest.approx(37.5)


def test_missing_rows_are_dropped_and_counted():
    evaluation = evaluate("regression", [1.0, np.nan, 3.0, 4.0, 5.0], [1.5, 2.0, None, 4.0, np.inf])
    assert (evaluation.rows_used, evaluation.rows_dropped) == (2, 3)
    assert evaluation.values == compute("regression", [1.0, 4.0], [1.5, 4.0])


def test_nullable_pandas_columns_are_accepted():
    observed = pd.Series([1.0, None, 3.0, 4.0], dtype="Float64")
    values = compute("regression", observed, pd.Series([1, 2, 3, 5], dtype="Int64"), keys=["mae"])
    assert values["mae"] == pytest.approx(1 / 3)


# --- degenerate data: NaN, never an exception -------------------------------------------------------------------


def test_constant_observed_series_gives_nan_efficiencies():
    values = compute("regression", [2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert math.isnan(values["nse"]) and math.isnan(values["r2"]) and math.isnan(values["kge"])
    assert math.isnan(values["kge_alpha"])
    assert values["rmse"] == pytest.approx(math.sqrt(2 / 3))


def test_constant_prediction_gives_nan_correlation_but_finite_nse():
    values = compute("regression", [1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert math.isnan(values["kge_r"]) and math.isnan(values["kge"])
    assert values["nse"] == pytest.approx(0.0)
    assert values["kge_alpha"] == 0.0


def test_all_observed_zero_gives_nan_mape_pbias_and_log_nse():
    values = compute("regression", [0.0, 0.0, 0.0], [1.0, 0.0, 2.0])
    assert math.isnan(values["mape"]) and math.isnan(values["pbias"]) and math.isnan(values["log_nse"])


def test_negative_predictions_count_as_zero_flow_in_log_nse():
    observed = [1.0, 2.0, 4.0]
    clipped = compute("regression", observed, [-3.0, 2.0, 4.0], keys=["log_nse"])["log_nse"]
    assert clipped == compute("regression", observed, [0.0, 2.0, 4.0], keys=["log_nse"])["log_nse"]


def test_no_rows_left_after_dropping_missing_gives_all_nan():
    evaluation = evaluate("regression", [np.nan, 1.0], [1.0, np.nan])
    assert evaluation.rows_used == 0 and evaluation.rows_dropped == 2
    assert all(math.isnan(v) for v in evaluation.values.values())


def test_a_single_row_does_not_raise():
    values = compute("regression", [3.0], [2.0])
    assert values["mae"] == 1.0 and math.isnan(values["nse"])


# --- bad calls --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("y_true", "y_pred", "field", "words"),
    [
        ([1, 2, 3], [1, 2], "y_pred", "2 predicted values for 3 observed"),
        ([], [], "y_true", "no observed values"),
        (["a", "b"], [1, 2], "y_true", "must be numbers"),
        ([[1, 2], [3, 4]], [1, 2], "y_true", "single column"),
        (None, [1, 2], "y_true", "No observed values"),
    ],
)
def test_bad_regression_input_raises_a_readable_invalid_input(y_true, y_pred, field, words):
    with pytest.raises(InvalidInput) as error:
        compute("regression", y_true, y_pred)
    assert error.value.field == field
    assert words in str(error.value)
    assert "numpy" not in str(error.value) and "array" not in str(error.value)


def test_unknown_metric_and_problem_type_are_refused_by_name():
    with pytest.raises(InvalidInput, match="'accuracy' is not a regression metric"):
        compute("regression", [1, 2], [1, 2], keys=["accuracy"])
    with pytest.raises(InvalidInput, match="Unknown problem type 'clustering'"):
        metrics_for("clustering")


# --- classification against scikit-learn -----------------------------------------------------------------------


def test_classification_metrics_match_a_hand_computed_example():
    # a: 1 of 1 predicted right (precision 1), 1 of 2 found (recall 0.5); b: precision 2/3, recall 1
    values = compute("classification", ["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert values["accuracy"] == pytest.approx(0.75)
    assert values["precision_macro"] == pytest.approx((1 + 2 / 3) / 2)
    assert values["recall_macro"] == pytest.approx(0.75)
    assert values["f1_macro"] == pytest.approx((2 / 3 + 0.8) / 2)  # F1 a = 2*1*.5/1.5, F1 b = 2*(2/3)/(5/3)


def test_label_metrics_equal_scikit_learn_on_three_classes():
    rng = np.random.default_rng(3)
    observed = rng.choice(["low", "mid", "high"], size=300, p=[0.5, 0.3, 0.2])
    predicted = np.where(rng.random(300) < 0.7, observed, rng.choice(["low", "mid", "high"], size=300))
    values = compute("classification", observed, predicted)
    assert values["accuracy"] == pytest.approx(skm.accuracy_score(observed, predicted))
    for average in ("macro", "weighted"):
        assert values[f"precision_{average}"] == pytest.approx(
            skm.precision_score(observed, predicted, average=average)
        )
        assert values[f"recall_{average}"] == pytest.approx(
            skm.recall_score(observed, predicted, average=average)
        )
        assert values[f"f1_{average}"] == pytest.approx(skm.f1_score(observed, predicted, average=average))


def test_binary_roc_auc_and_log_loss_equal_scikit_learn_for_one_or_two_probability_columns():
    rng = np.random.default_rng(4)
    observed = rng.integers(0, 2, size=200)
    positive = np.clip(observed * 0.4 + rng.random(200) * 0.6, 0.01, 0.99)
    predicted = (positive > 0.5).astype(int)
    one_column = compute("classification", observed, predicted, proba=positive)
    two_columns = compute(
        "classification", observed, predicted, proba=np.column_stack([1 - positive, positive])
    )
    assert one_column["roc_auc"] == pytest.approx(skm.roc_auc_score(observed, positive))
    assert one_column["log_loss"] == pytest.approx(skm.log_loss(observed, positive))
    assert two_columns["roc_auc"] == pytest.approx(one_column["roc_auc"])
    assert two_columns["log_loss"] == pytest.approx(one_column["log_loss"])


def test_binary_positive_class_is_the_second_label():
    observed = ["wet", "dry", "wet", "dry"]
    probability_of_wet = [0.9, 0.2, 0.6, 0.7]
    auc = compute("classification", observed, observed, proba=probability_of_wet, labels=["dry", "wet"])[
        "roc_auc"
    ]
    assert auc == pytest.approx(skm.roc_auc_score([1, 0, 1, 0], probability_of_wet))  # 0.75


def test_multiclass_roc_auc_is_one_vs_rest_macro():
    rng = np.random.default_rng(5)
    observed = rng.integers(0, 3, size=300)
    scores = rng.random((300, 3)) + np.eye(3)[observed]
    proba = scores / scores.sum(axis=1, keepdims=True)
    values = compute("classification", observed, proba.argmax(axis=1), proba=proba)
    assert values["roc_auc"] == pytest.approx(
        skm.roc_auc_score(observed, proba, multi_class="ovr", average="macro")
    )
    assert values["log_loss"] == pytest.approx(skm.log_loss(observed, proba))


def test_roc_auc_with_a_single_observed_class_is_nan():
    values = compute("classification", [1, 1, 1], [1, 0, 1], proba=[0.8, 0.4, 0.9], labels=[0, 1])
    assert math.isnan(values["roc_auc"])
    assert values["log_loss"] == pytest.approx(skm.log_loss([1, 1, 1], [0.8, 0.4, 0.9], labels=[0, 1]))


def test_probability_metrics_are_left_out_without_probabilities_and_nan_when_asked():
    assert "roc_auc" not in compute("classification", [0, 1], [0, 1])
    assert math.isnan(compute("classification", [0, 1], [0, 1], keys=["roc_auc"])["roc_auc"])


def test_classification_drops_rows_with_a_missing_label_or_probability():
    evaluation = evaluate(
        "classification", ["a", None, "b", "a"], ["a", "b", "b", np.nan], proba=[0.1, 0.5, np.nan, 0.3]
    )
    assert (evaluation.rows_used, evaluation.rows_dropped) == (1, 3)


def test_confusion_matrix_follows_the_given_label_order():
    matrix = metrics.confusion_matrix(["a", "b", "b", "c"], ["a", "b", "a", "c"], labels=["c", "b", "a"])
    assert matrix.labels == ["c", "b", "a"]
    assert (
        matrix.counts
        == skm.confusion_matrix(["a", "b", "b", "c"], ["a", "b", "a", "c"], labels=["c", "b", "a"]).tolist()
    )
    assert matrix.counts == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]  # rows observed, columns predicted


def test_bad_classification_input_raises_readable_invalid_input():
    with pytest.raises(InvalidInput, match="'d' appears in the data but not in the class labels"):
        compute("classification", ["a", "d"], ["a", "a"], labels=["a", "b"])
    with pytest.raises(InvalidInput, match="mix text and numbers"):
        compute("classification", ["a", "b"], [1, 2])
    with pytest.raises(InvalidInput, match="probabilities for 3 classes but the data shows 2"):
        compute("classification", [0, 1], [0, 1], proba=[[0.2, 0.3, 0.5], [0.1, 0.8, 0.1]])
    with pytest.raises(InvalidInput, match="3 rows of probabilities for 2 observed values"):
        compute("classification", [0, 1], [0, 1], proba=[0.2, 0.3, 0.5])


# --- registry, folds and groups ---------------------------------------------------------------------------------


def test_every_registered_metric_is_computed_for_its_problem_type():
    assert set(compute("regression", [1, 2, 3], [1, 2, 2])) == set(metrics_for("regression"))
    classification = compute("classification", [0, 1, 1], [0, 1, 0], proba=[0.2, 0.7, 0.4])
    assert set(classification) == set(metrics_for("classification"))
    assert set(metrics_for("regression")) | set(metrics_for("classification")) == set(METRICS)


def test_ranking_score_prefers_values_closest_to_the_optimum():
    assert METRICS["pbias"].ranking_score(-3.0) > METRICS["pbias"].ranking_score(5.0)
    assert METRICS["kge_beta"].ranking_score(1.1) > METRICS["kge_beta"].ranking_score(0.8)
    assert METRICS["rmse"].ranking_score(1.0) > METRICS["rmse"].ranking_score(2.0)
    assert METRICS["nse"].ranking_score(0.8) > METRICS["nse"].ranking_score(0.5)


def test_summarize_folds_gives_mean_sample_std_and_per_fold_values():
    summary = summarize_folds([{"nse": 0.5, "kge": 0.1}, {"nse": 0.7, "kge": float("nan")}, {"nse": 0.9}])
    assert summary["nse"]["mean"] == pytest.approx(0.7)
    assert summary["nse"]["std"] == pytest.approx(0.2)  # sqrt((0.04 + 0 + 0.04) / (3 - 1))
    assert summary["nse"]["folds"] == [0.5, 0.7, 0.9]
    assert summary["kge"]["mean"] == pytest.approx(0.1) and math.isnan(summary["kge"]["std"])
    assert summary["kge"]["n_valid"] == 1 and summary["kge"]["n_folds"] == 3


def test_per_group_scores_each_station_on_its_own_rows():
    frame = pd.DataFrame(
        {
            "group": ["B", "A", "B", "A", "B", None],
            "y_true": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "y_pred": [1.5, 2.0, 2.5, np.nan, 5.0, 6.0],
        }
    )
    rows = per_group("regression", frame, ["mae", "rmse"])
    assert [row["group"] for row in rows] == ["A", "B", None]
    assert rows[0] == {"group": "A", "rows": 1, "dropped": 1, "mae": 0.0, "rmse": 0.0}
    assert rows[1]["mae"] == pytest.approx(
        compute("regression", [1, 3, 5], [1.5, 2.5, 5], keys=["mae"])["mae"]
    )
    with pytest.raises(InvalidInput, match="'station' is not in the table"):
        per_group("regression", frame, ["mae"], group_column="station")
