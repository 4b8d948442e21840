"""Training runs end to end on the demo catchments: the spec check, a forest with time-series CV logged to a
real MLflow store, the reloaded model predicting exactly what the run recorded, a studio session as data, and
runs through the runner's child process (finished, failed in plain words)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from hydroml.services import auth, datasources, projects
from hydroml.services.demo_data import daily_hydrometeo
from hydroml.services.errors import InvalidInput, NotFound
from hydroml.services.experiments import metrics, runs, tracking, training
from hydroml.services.experiments.runner import Runner
from hydroml.services.studio import sessions

pytestmark = pytest.mark.integration


@pytest.fixture
def team(app_db, cheap_password_hashing, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    users = {name: auth.register(name, "gauge-reading-7") for name in ("olga", "vera")}
    project = projects.create_project(users["olga"], "Catchments")
    projects.add_member(users["olga"], project.id, "vera", "viewer")
    return users, project.id


def monthly_lags() -> pd.DataFrame:
    """Monthly flow and precipitation per station with 1-3 month lags (what the studio journey builds)."""
    daily = daily_hydrometeo()
    monthly = (
        daily.groupby(["station_id", pd.Grouper(key="date", freq="MS")])
        .agg(precip_mm=("precip_mm", "sum"), flow=("flow", "mean"))
        .reset_index()
    )
    for lag in (1, 2, 3):
        for column in ("flow", "precip_mm"):
            monthly[f"{column}_lag{lag}"] = monthly.groupby("station_id")[column].shift(lag)
    return monthly.dropna().reset_index(drop=True)


def forest_spec(data: dict, **overrides) -> dict:
    return {
        "data": data,
        "target": "flow",
        "features": ["precip_mm", "flow_lag1", "flow_lag2", "flow_lag3", "precip_mm_lag1", "precip_mm_lag2"],
        "model": "random_forest",
        "params": {"n_estimators": 30},
        "split": {"strategy": "time_series_cv", "time_column": "date", "n_splits": 3},
        "metrics": ["nse", "kge", "pbias", "rmse"],
        "time_column": "date",
        "group_column": "station_id",
        **overrides,
    }


class Reports:
    def __init__(self):
        self.seen = []

    def __call__(self, payload):
        self.seen.append(payload)
        return True


def test_forest_with_time_series_cv_is_logged_and_reloads_exactly(team):
    users, project_id = team
    frame = monthly_lags()
    source = datasources.create_from_frame(users["olga"], project_id, "Monthly flows", frame)
    data = training.pin_data(users["olga"], project_id, data_source_id=str(source.id))
    assert data == {
        "kind": "data_source",
        "data_source_id": str(source.id),
        "version": 1,
        "label": "Monthly flows v1",
    }
    reports = Reports()
    progress = training.Progress(reports)
    result = training.train(
        users["olga"], project_id, forest_spec(data), "Forest", progress, project_name="C"
    )

    summary = result.summary
    assert summary["folds"] == 3 and summary["primary"] == "nse"
    assert set(summary["metrics"]) == {"nse", "kge", "pbias", "rmse"}
    assert 0.3 < summary["metrics"]["nse"]["mean"] <= 1 and len(summary["metrics"]["nse"]["folds"]) == 3
    assert {g["group"] for g in summary["groups"]} == {"ST01", "ST02", "ST03", "ST04", "ST05"}
    stages = [r["stage"] for r in reports.seen]
    assert "Fold 1 of 3: fitting" in stages and "Fitting the final model on all rows" in stages
    assert [r.get("fold") for r in reports.seen if r.get("folds") == 3][0] == 1

    recorded = tracking.run_summary(result.mlflow_run_id)
    assert (
        recorded["status"] == "FINISHED"
        and recorded["tags"]["hydroml.data_fingerprint"] == result.fingerprint
    )
    assert recorded["metrics"]["nse"] == pytest.approx(summary["metrics"]["nse"]["mean"])
    predictions = tracking.load_predictions(result.mlflow_run_id)
    # every fold's metric is the metric of its recorded out-of-sample predictions
    for number, fold_value in enumerate(summary["metrics"]["nse"]["folds"], start=1):
        part = predictions[predictions["fold"] == number]
        expected = metrics.compute("regression", part["observed"], part["predicted"], keys=["nse"])["nse"]
        assert fold_value == pytest.approx(expected)
    # the logged model predicts exactly what the run recorded
    model = tracking.load_model(result.mlflow_run_id)
    rows = predictions["row"].to_numpy()
    features = forest_spec(data)["features"]
    np.testing.assert_array_equal(model.predict(frame[features].iloc[rows]), predictions["model_prediction"])
    # time-series CV: every test row is later than every training row of its fold
    tested_first = predictions.groupby("fold")["date"].min()
    assert list(tested_first) == sorted(tested_first)
    assert {"hydrograph", "predicted_vs_observed", "residuals", "feature_importance"} <= {
        path.split("/")[-1].removesuffix(".json") for path, _ in tracking.list_artifacts(result.mlflow_run_id)
    }


def test_the_spec_check_names_the_field_to_fix(team):
    frame = monthly_lags()
    data = {"kind": "data_source"}
    with pytest.raises(InvalidInput) as caught:
        training.check_spec(forest_spec(data, target="runoff"), frame)
    assert caught.value.field == "target"
    with pytest.raises(InvalidInput) as caught:
        training.check_spec(forest_spec(data, features=["flow", "precip_mm"]), frame)
    assert caught.value.field == "features" and "cannot also be a feature" in str(caught.value)
    with pytest.raises(InvalidInput) as caught:
        training.check_spec(forest_spec(data, split={"strategy": "random_holdout"}), frame)
    assert caught.value.field == "split" and "future" in str(caught.value)
    allowed = training.check_spec(
        forest_spec(data, split={"strategy": "random_holdout"}, allow_shuffle=True), frame
    )
    assert allowed.warnings and allowed.spec["split"]["strategy"] == "random_holdout"
    with pytest.raises(InvalidInput) as caught:
        training.check_spec(forest_spec(data, params={"n_estimators": 0}), frame)
    assert caught.value.field == "n_estimators"
    holes = frame.copy()
    holes.loc[holes.sample(frac=0.4, random_state=1).index, "flow"] = np.nan
    with pytest.raises(InvalidInput) as caught:
        training.check_spec(forest_spec(data), holes)
    assert "40% missing" in str(caught.value) and "studio" in str(caught.value)
    with pytest.raises(InvalidInput) as caught:
        training.check_spec(forest_spec(data, metrics=["accuracy"]), frame)
    assert caught.value.field == "metrics"


def test_a_studio_session_is_trained_as_pinned(team):
    users, project_id = team
    source = datasources.create_from_frame(users["olga"], project_id, "Monthly flows", monthly_lags())
    session = sessions.create_session(users["olga"], project_id, source.id, "Clean")
    state = sessions.open_session(users["olga"], project_id, session.id)
    sessions.add_step(
        users["olga"], project_id, session.id, state.info.revision, "filter_rows",
        {"conditions": {"combine": "all", "rules": [{"column": "station_id", "op": "!=", "value": "ST05"}]}},
    )  # fmt: skip
    data = training.pin_data(users["olga"], project_id, session_id=str(session.id))
    assert data["kind"] == "studio_session" and "Clean (studio" in data["label"]
    spec = forest_spec(data, split={"strategy": "chronological_holdout", "time_column": "date"})
    result = training.train(users["olga"], project_id, spec, "Pinned", training.Progress(Reports()), log=True)
    assert {g["group"] for g in result.summary["groups"]} == {"ST01", "ST02", "ST03", "ST04"}
    assert result.summary["folds"] == 1
    artifacts = {path for path, _ in tracking.list_artifacts(result.mlflow_run_id)}
    assert {"recipe/recipe.json", "recipe/recipe.py"} <= artifacts


def test_runs_through_the_runner_finish_or_fail_in_plain_words(team):
    users, project_id = team
    frame = monthly_lags()
    frame.loc[frame.sample(n=40, random_state=3).index, "precip_mm"] = np.nan
    source = datasources.create_from_frame(users["olga"], project_id, "Monthly flows", frame)
    data = training.pin_data(users["olga"], project_id, data_source_id=str(source.id))
    good = runs.queue_run(users["olga"], project_id, forest_spec(data), "Forest")
    no_imputation = forest_spec(data, preprocessing={"numeric_imputation": "none"}, model="ridge", params={})
    bad = runs.queue_run(users["olga"], project_id, no_imputation, "Ridge without imputation")
    runner = Runner(slots=2)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            runner.tick()
            states = {r.id: r for r in runs.list_runs(users["vera"], project_id)}
            if all(states[i].status in runs.DONE for i in (good.id, bad.id)):
                break
            time.sleep(0.5)
    finally:
        runner.stop()
    finished, failed = states[good.id], states[bad.id]
    assert finished.status == runs.FINISHED, finished.error
    assert finished.metrics["metrics"]["nse"]["mean"] > 0.3 and finished.mlflow_run_id
    assert tracking.run_summary(finished.mlflow_run_id)["status"] == "FINISHED"
    assert failed.status == runs.FAILED
    assert "missing values" in failed.error and "imputation" in failed.error
    assert tracking.run_summary(failed.mlflow_run_id)["status"] == "FAILED"
    runs.delete_run_everywhere(users["olga"], project_id, finished.id)
    with pytest.raises(NotFound, match="not in MLflow"):
        tracking.run_summary(finished.mlflow_run_id)
