"""Training runs tracked on a real `mlflow server` (the production setup): log a run through the server's REST
API and artifact proxy, reload the model, delete the run and its artifacts on the server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from hydroml.services.errors import NotFound
from hydroml.services.experiments import tracking

pytestmark = pytest.mark.integration

START_TIMEOUT_S = 45.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """Stop the server and the workers it started (its own process group), however the test ended."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def mlflow_server(tmp_path, monkeypatch):
    """`mlflow server` on a free loopback port with a SQLite store and proxied artifacts, all in tmp_path."""
    port = _free_port()
    artifacts = tmp_path / "artifacts"
    log = (tmp_path / "server.log").open("wb")
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        "--artifacts-destination",
        str(artifacts),
    ]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited: {(tmp_path / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow server did not answer /health: {(tmp_path / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.25)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        monkeypatch.setenv("HYDROML_DATA_DIR", str(tmp_path / "data"))
        yield artifacts
    finally:
        _stop(process)
        log.close()


def test_a_run_logged_on_the_server_reloads_and_deletes_with_its_artifacts(mlflow_server, tmp_path):
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"rain_mm": rng.gamma(2.0, 3.0, 80), "temperature_c": rng.normal(12.0, 6.0, 80)})
    y = 0.8 * X["rain_mm"] - 0.1 * X["temperature_c"]
    model = Pipeline(
        [("scale", StandardScaler()), ("forest", RandomForestRegressor(n_estimators=10, random_state=0))]
    )
    model.fit(X, y)
    predictions = pd.DataFrame({"observed": y, "predicted": model.predict(X), "fold": np.arange(80) % 2})

    run_id = tracking.log_training_run(
        project_id="served-project",
        project_name="Served",
        run_name="On the server",
        params={"model": "random_forest", "model.n_estimators": 10},
        metrics={"rmse": 0.2, "nse": float("nan")},
        fold_metrics=[{"rmse": 0.19}, {"rmse": 0.21}],
        pipeline=model,
        input_example=X.head(5),
        predictions=predictions,
        figures={"residuals": {"data": [{"type": "bar", "y": [0.1, -0.2]}], "layout": {}}},
        data_fingerprint="sha256:feed",
        recipe_json=None,
        recipe_script=None,
        tags=None,
    )

    summary = tracking.run_summary(run_id)
    assert summary["status"] == "FINISHED"
    assert summary["metrics"] == {"rmse": 0.2}
    assert summary["fold_metrics"] == {"rmse": [0.19, 0.21]}
    assert summary["tags"]["hydroml.skipped_metrics"] == "nse"
    np.testing.assert_array_equal(
        tracking.load_model(run_id).predict(X), tracking.load_predictions(run_id)["predicted"]
    )
    assert tracking.load_figure(run_id, "residuals")["data"][0]["y"] == [0.1, -0.2]
    assert "model/model.pkl" in dict(tracking.list_artifacts(run_id))
    stored = [p for p in mlflow_server.rglob("*") if p.is_file() and run_id in p.parts]
    assert any(p.name == "model.pkl" for p in stored), "artifacts go through the server's proxy to its folder"

    assert tracking.delete_run(run_id) is True

    assert not [p for p in mlflow_server.rglob("*") if run_id in p.parts]
    with pytest.raises(NotFound):
        tracking.run_summary(run_id)
    assert not (tmp_path / "data" / "mlruns").exists(), "nothing is written locally when a server tracks"


def test_a_training_run_of_the_postgresql_app_on_the_mlflow_server(mlflow_server, fresh_pg_url, monkeypatch):
    """The scaled-out setup end to end: the app's database on PostgreSQL, the run trained by the runner in
    its child process, tracked on the MLflow server; its model reloads and predicts what the run recorded."""
    from sqlmodel import SQLModel

    import hydroml.models  # noqa: F401
    from hydroml.db import engine_for
    from hydroml.services import auth, datasources, projects
    from hydroml.services.experiments import runs, training
    from hydroml.services.experiments.runner import Runner
    from tests.integration.test_training import forest_spec, monthly_lags

    monkeypatch.setenv("REFLEX_DB_URL", fresh_pg_url)
    SQLModel.metadata.create_all(engine_for(fresh_pg_url))
    user = auth.register("olga", "gauge-reading-7")
    project = projects.create_project(user, "Served catchments")
    frame = monthly_lags()
    source = datasources.create_from_frame(user, project.id, "Monthly flows", frame)
    data = training.pin_data(user, project.id, data_source_id=str(source.id))
    run = runs.queue_run(user, project.id, forest_spec(data), "Forest on the server")
    runner = Runner(slots=1)
    deadline = time.monotonic() + 180
    try:
        while (info := runs.get_run(user, project.id, run.id)).status not in runs.DONE:
            assert time.monotonic() < deadline, info.progress
            runner.tick()
            time.sleep(0.5)
    finally:
        runner.stop()
        engine_for(fresh_pg_url).dispose()
    assert info.status == runs.FINISHED, info.error
    assert tracking.tracking_uri().startswith("http://127.0.0.1:")
    summary = tracking.run_summary(info.mlflow_run_id)
    assert summary["status"] == "FINISHED"
    assert summary["metrics"]["nse"] == pytest.approx(info.metrics["metrics"]["nse"]["mean"])
    predictions = tracking.load_predictions(info.mlflow_run_id)
    features = forest_spec(data)["features"]
    np.testing.assert_array_equal(
        tracking.load_model(info.mlflow_run_id).predict(frame[features].iloc[predictions["row"]]),
        predictions["model_prediction"],
    )
    runs.delete_run_everywhere(user, project.id, run.id)
    assert not [p for p in mlflow_server.rglob("*") if info.mlflow_run_id in p.parts]
