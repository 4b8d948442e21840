"""MLflow tracking of training runs on a real SQLite-backed MLflow store in tmp_path: what a run records, what
comes back (the model predicts exactly what the run recorded), deleting, one experiment per project, failures."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from hydroml.services.errors import InvalidInput, NotFound
from hydroml.services.experiments import tracking

PROJECT_ID = "3f6c1d2e-0000-4000-8000-00000000a001"
FIGURE = {
    "data": [{"type": "scatter", "x": [1.0, 2.0, 3.0], "y": [1.5, 2.5, 2.0], "mode": "markers"}],
    "layout": {"title": {"text": "Predicted vs observed"}},
}


@pytest.fixture(scope="session")
def _migrated_store(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store with its tables (creating them takes ~3 s): each test copies the file."""
    from mlflow import MlflowClient

    db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture
def store(tmp_path, monkeypatch, _migrated_store) -> Path:
    """A fresh tracking store for this test; MLFLOW_TRACKING_URI and the data dir point into tmp_path."""
    folder = tmp_path / "tracking"
    folder.mkdir()
    shutil.copy(_migrated_store, folder / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
    monkeypatch.setenv("HYDROML_DATA_DIR", str(tmp_path / "data"))
    return folder


@pytest.fixture(scope="module")
def training():
    """A small fitted random forest on rain and temperature -> flow, with out-of-fold style predictions."""
    rng = np.random.default_rng(7)
    n = 120
    X = pd.DataFrame(
        {
            "rain_mm": rng.gamma(2.0, 3.0, n),
            "temperature_c": rng.normal(12.0, 6.0, n),
            "station": rng.integers(0, 3, n).astype(float),
        }
    )
    y = 0.8 * X["rain_mm"] - 0.1 * X["temperature_c"] + rng.normal(0, 0.5, n)
    model = Pipeline(
        [("scale", StandardScaler()), ("forest", RandomForestRegressor(n_estimators=10, random_state=0))]
    )
    model.fit(X, y)
    predictions = pd.DataFrame(
        {
            "time": pd.date_range("2024-01-01", periods=n, freq="D"),
            "observed": y.to_numpy(),
            "predicted": model.predict(X),
            "fold": np.arange(n) % 3,
        }
    )
    return model, X, predictions


def _log(training, **overrides) -> str:
    model, X, predictions = training
    arguments = {
        "project_id": PROJECT_ID,
        "project_name": "Emme catchment",
        "run_name": "Forest, 3 folds",
        "params": {"model": "random_forest", "target": "flow_m3s", "model.n_estimators": 10},
        "metrics": {"rmse": 0.61, "r2": 0.93},
        "fold_metrics": [{"rmse": 0.58, "r2": 0.94}, {"rmse": 0.66, "r2": 0.91}, {"rmse": 0.6, "r2": 0.93}],
        "pipeline": model,
        "input_example": X.head(5),
        "predictions": predictions,
        "figures": {"predicted_vs_observed": FIGURE},
        "data_fingerprint": "sha256:abc123",
        "recipe_json": '{"steps": [{"kind": "fill_missing", "version": 1}]}',
        "recipe_script": "df = df.fillna(df.median())\n",
        "tags": {"hydroml.model": "random_forest"},
    }
    arguments.update(overrides)
    return tracking.log_training_run(**arguments)


def test_a_logged_run_reads_back_its_params_metrics_folds_and_tags(store, training):
    run_id = _log(training)

    summary = tracking.run_summary(run_id)

    assert summary["status"] == "FINISHED"
    assert summary["run_name"] == "Forest, 3 folds"
    assert summary["params"] == {"model": "random_forest", "target": "flow_m3s", "model.n_estimators": "10"}
    assert summary["metrics"] == {"rmse": 0.61, "r2": 0.93}
    assert summary["fold_metrics"] == {"r2": [0.94, 0.91, 0.93], "rmse": [0.58, 0.66, 0.6]}
    assert summary["tags"]["hydroml.data_fingerprint"] == "sha256:abc123"
    assert summary["tags"]["hydroml.model"] == "random_forest"
    assert summary["tags"]["hydroml.project_id"] == PROJECT_ID
    assert summary["start_time"] <= summary["end_time"]


def test_artifacts_and_metadata_stay_in_the_tracking_folder(store, training):
    run_id = _log(training)

    assert tracking.run_summary(run_id)["artifact_uri"].startswith((store / "mlruns").as_uri())
    assert (store / "mlruns" / PROJECT_ID).is_dir()
    assert not (Path.cwd() / "mlruns").exists()


def test_the_run_keeps_model_predictions_charts_params_and_recipe(store, training, tmp_path):
    run_id = _log(training)

    paths = dict(tracking.list_artifacts(run_id))

    for path in (
        "model/MLmodel",
        "model/model.pkl",
        "model/requirements.txt",
        "predictions.parquet",
        "charts/predicted_vs_observed.json",
        "params.json",
        "recipe/recipe.json",
        "recipe/recipe.py",
    ):
        assert paths.get(path, 0) > 0, path
    assert tracking.load_figure(run_id, "predicted_vs_observed") == FIGURE
    script = tracking.download_artifact(run_id, "recipe/recipe.py", tmp_path / "download")
    assert script.read_text() == "df = df.fillna(df.median())\n"
    mlmodel = tracking.download_artifact(run_id, "model/MLmodel", tmp_path / "download").read_text()
    assert "cloudpickle" in mlmodel and "signature" in mlmodel and "rain_mm" in mlmodel


def test_reloaded_model_predicts_exactly_what_the_run_recorded(store, training):
    _, X, _ = training
    run_id = _log(training)

    model = tracking.load_model(run_id)
    recorded = tracking.load_predictions(run_id)

    np.testing.assert_array_equal(model.predict(X), recorded["predicted"].to_numpy())
    pd.testing.assert_frame_equal(recorded, training[2], check_dtype=False)


def test_long_and_nested_params_are_flattened_truncated_and_kept_in_full(store, training, tmp_path):
    features = [f"lagged_discharge_{i:03d}" for i in range(60)]
    run_id = _log(training, params={"features": features, "model": {"max_depth": None, "n_estimators": 10}})

    params = tracking.run_summary(run_id)["params"]
    assert params["model.max_depth"] == "None"
    assert params["model.n_estimators"] == "10"
    assert len(params["features"]) == tracking.PARAM_VALUE_LIMIT
    assert params["features"].endswith("[truncated]")
    assert tracking.run_summary(run_id)["tags"]["hydroml.truncated_params"] == "features"
    full = tracking.download_artifact(run_id, "params.json", tmp_path / "download").read_text()
    assert all(name in full for name in features)


def test_a_nan_metric_is_skipped_and_named_in_a_tag(store, training):
    run_id = _log(
        training,
        metrics={"rmse": 0.61, "nse": float("nan")},
        fold_metrics=[{"rmse": 0.5, "nse": 0.8}, {"rmse": 0.7, "nse": float("inf")}],
    )

    summary = tracking.run_summary(run_id)
    assert summary["metrics"] == {"rmse": 0.61}
    assert summary["fold_metrics"] == {"nse": [0.8], "rmse": [0.5, 0.7]}
    assert summary["tags"]["hydroml.skipped_metrics"] == "nse, fold_nse[1]"


def test_a_failure_while_logging_leaves_the_run_failed(store, training):
    _, X, predictions = training
    unfitted = Pipeline([("forest", RandomForestRegressor(n_estimators=10))])
    run_id = tracking.start_run(project_id=PROJECT_ID, project_name="Emme catchment", run_name="Broken")

    with pytest.raises(Exception, match="not fitted"):
        tracking.finish_run(
            run_id,
            params={"model": "random_forest"},
            metrics={"rmse": 0.6},
            fold_metrics=None,
            pipeline=unfitted,
            input_example=X.head(5),
            predictions=predictions,
            figures={},
            data_fingerprint="sha256:abc123",
        )

    summary = tracking.run_summary(run_id)
    assert summary["status"] == "FAILED"
    assert "not fitted" in summary["tags"]["hydroml.error"]
    assert summary["end_time"] is not None


def test_a_started_run_is_running_until_finished(store, training):
    model, X, predictions = training
    run_id = tracking.start_run(project_id=PROJECT_ID, project_name="Emme catchment", run_name="Two steps")
    assert tracking.run_summary(run_id)["status"] == "RUNNING"

    tracking.finish_run(
        run_id,
        params={"model": "random_forest"},
        metrics={"rmse": 0.6},
        fold_metrics=None,
        pipeline=model,
        input_example=X.head(3),
        predictions=predictions,
        figures={},
        data_fingerprint="sha256:abc123",
    )

    assert tracking.run_summary(run_id)["status"] == "FINISHED"
    assert tracking.fail_run(run_id, "too late") is False
    assert tracking.run_summary(run_id)["status"] == "FINISHED"


def test_a_cancelled_training_ends_its_run_killed(store):
    run_id = tracking.start_run(project_id=PROJECT_ID, project_name="Emme catchment", run_name="Cancelled")

    assert tracking.fail_run(run_id, "Cancelled by a user.", cancelled=True) is True

    summary = tracking.run_summary(run_id)
    assert summary["status"] == "KILLED"
    assert summary["tags"]["hydroml.error"] == "Cancelled by a user."


def test_delete_removes_the_run_and_its_artifact_files(store, training):
    run_id = _log(training)
    run_folder = store / "mlruns" / PROJECT_ID / run_id
    assert (run_folder / "artifacts" / "model" / "model.pkl").is_file()

    assert tracking.delete_run(run_id) is True

    assert not run_folder.exists()
    with pytest.raises(NotFound):
        tracking.run_summary(run_id)
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="not found|does not exist|No run"):
        MlflowClient(tracking_uri=tracking.tracking_uri()).get_run(run_id)  # hard-deleted, not just hidden


def test_deleting_an_unknown_run_is_a_no_op(store, training):
    kept = _log(training)

    assert tracking.delete_run("0" * 32) is False
    assert tracking.delete_run("../../etc") is False
    assert tracking.run_summary(kept)["status"] == "FINISHED"


def test_reading_an_unknown_run_says_not_found(store):
    with pytest.raises(NotFound):
        tracking.load_model("0" * 32)
    with pytest.raises(NotFound):
        tracking.run_summary("0" * 32)


def test_download_refuses_paths_outside_the_run(store, training, tmp_path):
    run_id = _log(training)

    for path in ("../../mlflow.db", "/etc/passwd", ""):
        with pytest.raises(InvalidInput):
            tracking.download_artifact(run_id, path, tmp_path / "download")


def test_one_experiment_per_project_whatever_the_number_of_calls(store):
    first = tracking.experiment_for_project(PROJECT_ID, "Emme catchment")
    again = tracking.experiment_for_project(PROJECT_ID, "Emme catchment (renamed)")
    other = tracking.experiment_for_project("other-project", "Aare")

    assert first == again != other
    from mlflow import MlflowClient

    experiment = MlflowClient(tracking_uri=tracking.tracking_uri()).get_experiment(first)
    assert experiment.name == f"hydroml/{PROJECT_ID}"
    assert experiment.tags["hydroml.project_name"] == "Emme catchment (renamed)"


def test_concurrent_creation_of_a_project_experiment_gives_one_experiment(store):
    barrier = threading.Barrier(6)
    ids: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            barrier.wait()
            ids.append(tracking.experiment_for_project("busy-project", "Busy"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(ids) == 6 and len(set(ids)) == 1
    from mlflow import MlflowClient

    names = [e.name for e in MlflowClient(tracking_uri=tracking.tracking_uri()).search_experiments()]
    assert names.count("hydroml/busy-project") == 1


def test_a_project_id_cannot_escape_the_artifact_folder(store):
    with pytest.raises(InvalidInput):
        tracking.experiment_for_project("../outside", "Escape")


def test_the_default_store_lives_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("HYDROML_DATA_DIR", str(tmp_path / "data"))

    assert tracking.tracking_uri() == f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}"
    assert tracking.artifact_location_for("p1") == (tmp_path / "data" / "mlruns" / "p1").as_uri()


def test_a_server_decides_where_artifacts_go(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")

    assert tracking.artifact_location_for("p1") is None


def test_the_model_snippet_loads_the_model_and_predicts(store, training, tmp_path, monkeypatch):
    import mlflow

    model, X, _ = training
    run_id = _log(training)
    X.to_csv(tmp_path / "new_data.csv", index=False)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    try:
        exec(tracking.model_snippet(run_id), namespace)
    finally:
        mlflow.set_tracking_uri(None)

    np.testing.assert_array_equal(namespace["predictions"], model.predict(X))


def test_the_model_snippet_never_shows_a_database_password(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql://hydro:S3cret-pw@db:5432/mlflow")

    snippet = tracking.model_snippet("0123456789abcdef0123456789abcdef")

    assert "S3cret-pw" not in snippet
    assert "postgresql://hydro:***@db:5432/mlflow" in snippet
