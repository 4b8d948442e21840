"""Experiments states (runs table, run page, compare page) and the run-files HTTP route.

Runs are made through the services as the training runner makes them (queue, claim, finish with a training
summary); no model is trained for the table. The run page's charts and files come from one real, small MLflow
run logged into a tracking store in tmp_path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LinearRegression

from hydroml.api import build_api
from hydroml.services import datasources
from hydroml.services.auth import SESSION_COOKIE
from hydroml.services.experiments import charts, runs, tracking
from hydroml.state.experiment_compare import ExperimentCompareState
from hydroml.state.experiment_run import ExperimentRunState
from hydroml.state.experiments import ExperimentsState
from tests.state.test_auth_states import redirects, run, state, toasts
from tests.state.test_project_states import (
    open_page,
    team,  # noqa: F401 - fixture
)

PROJECT_NOT_FOUND = ("error", "Project not found.")
EDITORS_ONLY = "Only editors and owners can {}. Your role is viewer."


@pytest.fixture(scope="session")
def _migrated_store(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store with its tables (creating them takes seconds): each test copies it."""
    from mlflow import MlflowClient

    db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture
def people(team, tmp_path, monkeypatch, _migrated_store):  # noqa: F811 - alice owns Alpha; eddie edits, vera views
    folder = tmp_path / "tracking"
    folder.mkdir()
    shutil.copy(_migrated_store, folder / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
    return team


def spec(model="random_forest", source_id=None, label="Daily flows v1", **overrides) -> dict:
    data = {"kind": "data_source", "label": label, "version": 1}
    if source_id:
        data["data_source_id"] = str(source_id)
    return {
        "data": data,
        "target": "flow",
        "features": ["rain", "temperature"],
        "problem_type": "regression",
        "model": model,
        "params": {"n_estimators": 100, "max_depth": 8},
        "preprocessing": {"scaling": "standard"},
        "split": {"kind": "kfold", "folds": 3, "seed": 0},
        "metrics": ["nse", "rmse", "pbias"],
        "primary_metric": "nse",
        **overrides,
    }


def summary(nse: float, rmse: float, pbias: float, folds: int = 3) -> dict:
    def entry(mean: float) -> dict:
        values = [mean - 0.01, mean, mean + 0.01][:folds]
        return {"mean": mean, "std": 0.01, "folds": values, "n_folds": folds, "n_valid": folds}

    return {
        "metrics": {"nse": entry(nse), "rmse": entry(rmse), "pbias": entry(pbias)},
        "primary": "nse",
        "folds": folds,
        "groups": [
            {"group": "A", "rows": 40, "dropped": 0, "nse": nse, "rmse": rmse, "pbias": pbias},
            {"group": "B", "rows": 20, "dropped": 0, "nse": nse - 0.1, "rmse": rmse + 1, "pbias": pbias},
        ],
        "rows": 60,
        "dropped_missing_target": 0,
        "train_rows": 40,
        "test_rows": 20,
    }


def finished_run(people, name: str, result: dict | None, *, user="eddie", mlflow_run_id="", **spec_args):
    info = runs.queue_run(people.user(user), people.alpha.id, spec(**spec_args), name)
    claimed = runs.claim_next("test-worker")
    assert claimed == info.id
    if mlflow_run_id:
        runs.set_mlflow_run(claimed, mlflow_run_id)
    runs.finish(claimed, "finished", metrics=result, fingerprint="sha256:same-data")
    return str(info.id)


def table(people, user: str = "alice", query: str = ""):
    root = open_page(f"/projects/{people.alpha.id}/experiments{query}", people.token(user))
    listing = state(root, ExperimentsState)
    return root, listing


def names(listing) -> list[str]:
    return [row.name for row in listing.runs]


@pytest.fixture
def three_runs(people):
    """good: NSE .9, RMSE 2, PBIAS -8; unbiased: NSE .8, RMSE 3, PBIAS 1; poor: NSE .5, RMSE 1.5, PBIAS 20."""
    ids = {
        "good": finished_run(people, "good", summary(0.9, 2.0, -8.0)),
        "unbiased": finished_run(people, "unbiased", summary(0.8, 3.0, 1.0), model="ridge"),
        "poor": finished_run(people, "poor", summary(0.5, 1.5, 20.0)),
    }
    finished_run(people, "no metrics", None)
    return ids


# ================================================================ runs table


def test_table_shows_the_runs_with_their_metric_columns(people, three_runs):
    _, listing = table(people)

    assert run(listing.load()) is None

    assert listing.loaded and listing.total == 4
    assert names(listing) == ["no metrics", "poor", "unbiased", "good"]  # newest first
    assert [h.label for h in listing.metric_headers] == ["NSE", "PBIAS (%)", "RMSE"]
    good = next(row for row in listing.runs if row.name == "good")
    assert good.metrics == ["0.9", "-8", "2"]
    assert (good.status, good.badge, good.target, good.data) == (
        "finished",
        "success",
        "flow",
        "Daily flows v1",
    )
    assert good.href == f"/projects/{people.alpha.id}/experiments/{three_runs['good']}"
    assert next(row for row in listing.runs if row.name == "no metrics").metrics == ["—", "—", "—"]
    assert listing.can_edit is True


def test_sorting_by_rmse_puts_the_lowest_first_and_missing_last(people, three_runs):
    _, listing = table(people)
    run(listing.load())

    run(listing.sort_by("rmse"))
    assert names(listing) == ["poor", "good", "unbiased", "no metrics"]
    assert next(h for h in listing.metric_headers if h.key == "rmse").arrow == "↓"

    run(listing.sort_by("rmse"))  # second click: worst first, runs without the metric still last
    assert names(listing) == ["unbiased", "good", "poor", "no metrics"]


def test_sorting_by_pbias_puts_the_closest_to_zero_first(people, three_runs):
    _, listing = table(people)
    run(listing.load())

    run(listing.sort_by("pbias"))

    assert names(listing) == ["unbiased", "good", "poor", "no metrics"]


def test_filters_by_status_model_and_data_source(people, three_runs):
    source = datasources.create_from_frame(
        people.user("alice"), people.alpha.id, "Station flows", pd.DataFrame({"flow": [1.0, 2.0]})
    )
    finished_run(people, "on stations", summary(0.7, 2.5, 3.0), source_id=source.id, label="Station flows v1")
    runs.queue_run(people.user("eddie"), people.alpha.id, spec(model="ridge"), "waiting")
    _, listing = table(people)
    run(listing.load())
    assert [label for _, label in listing.source_options] == ["Station flows"]
    assert ["ridge", "Ridge regression"] in listing.model_options or [
        "ridge",
        "ridge",
    ] in listing.model_options

    run(listing.set_status_filter("queued"))
    assert names(listing) == ["waiting"]

    run(listing.set_status_filter(""))
    run(listing.set_model_filter("ridge"))
    assert names(listing) == ["waiting", "unbiased"]

    run(listing.set_model_filter(""))
    run(listing.set_source_filter(str(source.id)))
    assert names(listing) == ["on stations"]

    run(listing.clear_filters())
    assert len(listing.runs) == 6


def test_picking_two_runs_links_to_the_compare_page(people, three_runs):
    _, listing = table(people)
    run(listing.load())

    listing.toggle(three_runs["good"], True)
    listing.toggle(three_runs["poor"], True)
    listing.toggle(three_runs["unbiased"], True)
    listing.toggle(three_runs["unbiased"], False)

    assert listing.selected_count == 2
    assert listing.compare_href == (
        f"/projects/{people.alpha.id}/experiments/compare?runs={three_runs['good']},{three_runs['poor']}"
    )


def test_editor_deletes_ticked_runs_but_a_running_one_must_be_cancelled_first(people, three_runs):
    busy = runs.queue_run(people.user("eddie"), people.alpha.id, spec(), "busy")
    runs.claim_next("test-worker")
    _, listing = table(people, "eddie")
    run(listing.load())
    assert listing.active is True  # the table refreshes itself while a run trains

    listing.toggle(three_runs["poor"], True)
    listing.toggle(str(busy.id), True)
    result = run(listing.delete_selected())

    assert toasts(result) == [
        ("success", "Deleted 1 run."),
        ("error", "This run is still queued or running: cancel it first, then delete it."),
    ]
    assert "poor" not in names(listing) and "busy" in names(listing)
    assert listing.selected == []


def test_viewer_sees_no_edit_actions_and_cannot_delete(people, three_runs):
    _, listing = table(people, "vera")
    run(listing.load())
    assert listing.can_edit is False
    assert len(listing.runs) == 4

    listing.toggle(three_runs["good"], True)
    result = run(listing.delete_selected())

    assert toasts(result) == [("error", EDITORS_ONLY.format("delete runs"))]
    assert len(runs.list_runs(people.user("alice"), people.alpha.id)) == 4


def test_outsider_gets_not_found_and_is_sent_away(people, three_runs):
    root, listing = table(people, "otto")

    result = run(listing.load())

    assert toasts(result) == [PROJECT_NOT_FOUND]
    assert redirects(result) == ["/projects"]
    assert listing.runs == [] and "good" not in str(root.get_delta())


def test_signed_out_visitor_is_sent_to_sign_in(people, three_runs):
    listing = state(open_page(f"/projects/{people.alpha.id}/experiments", ""), ExperimentsState)

    result = run(listing.load())

    assert redirects(result) == [f"/signin?next=/projects/{people.alpha.id}/experiments"]
    assert listing.runs == []


# ================================================================ run page


def run_page(people, run_id: str, user: str = "alice"):
    root = open_page(f"/projects/{people.alpha.id}/experiments/{run_id}", people.token(user))
    return root, state(root, ExperimentRunState)


def test_running_run_shows_progress_and_an_editor_cancels_it(people):
    info = runs.queue_run(people.user("eddie"), people.alpha.id, spec(), "Training now")
    run_id = runs.claim_next("test-worker")
    runs.set_progress(run_id, {"stage": "Fitting the model", "percent": 37, "fold": 2, "folds": 5})
    _, page = run_page(people, str(info.id), "eddie")

    result = run(page.load())

    assert any(getattr(getattr(item, "fn", None), "__name__", "") == "poll" for item in result or [])
    assert (page.status, page.active, page.percent, page.fold_text) == ("running", True, 37, "Fold 2 of 5")
    assert page.stage == "Fitting the model"
    assert page.can_edit is True

    cancelled = run(page.cancel())

    assert toasts(cancelled) == [("info", "Stopping the run; it ends within a few seconds.")]
    assert page.cancel_requested is True and page.stage == "Cancelling"
    assert runs.cancel_requested(run_id) is True


def test_viewer_cannot_cancel_a_run(people):
    info = runs.queue_run(people.user("eddie"), people.alpha.id, spec(), "Queued")
    _, page = run_page(people, str(info.id), "vera")
    run(page.load())
    assert page.can_edit is False

    result = run(page.cancel())

    assert toasts(result) == [("error", EDITORS_ONLY.format("cancel runs"))]
    assert runs.get_run(people.user("alice"), people.alpha.id, info.id).status == "queued"


def test_failed_run_says_what_went_wrong_and_what_to_do(people):
    info = runs.queue_run(people.user("eddie"), people.alpha.id, spec(), "Broken")
    runs.claim_next("test-worker")
    runs.finish(info.id, "failed", error="Column 'rain' has no numbers.")
    _, page = run_page(people, str(info.id))

    run(page.load())

    assert page.error == "Column 'rain' has no numbers."
    assert "train a new experiment" in page.advice
    assert page.metric_cards == [] and page.chart_names == []


def logged_mlflow_run(people) -> str:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"rain": rng.gamma(2.0, 3.0, 60), "temperature": rng.normal(10, 4, 60)})
    y = 0.7 * X["rain"] + rng.normal(0, 0.4, 60)
    model = LinearRegression().fit(X, y)
    predicted = model.predict(X)
    predictions = pd.DataFrame(
        {
            "time": pd.date_range("2024-01-01", periods=60, freq="D"),
            "observed": y.to_numpy(),
            "predicted": predicted,
            "fold": np.arange(60) % 3,
        }
    )
    figures = {
        "predicted_vs_observed": charts.predicted_vs_observed(
            y.to_numpy(), predicted, "flow"
        ).to_plotly_json(),
        "residuals": charts.residuals(y.to_numpy(), predicted, "flow").to_plotly_json(),
    }
    return tracking.log_training_run(
        project_id=str(people.alpha.id),
        project_name="Alpha",
        run_name="Linear",
        params={"model": "linear"},
        metrics={"nse": 0.9},
        fold_metrics=None,
        pipeline=model,
        input_example=X.head(5),
        predictions=predictions,
        figures=figures,
        data_fingerprint="sha256:same-data",
    )


def test_finished_run_shows_metric_cards_tables_charts_files_and_snippet(people):
    mlflow_id = logged_mlflow_run(people)
    run_id = finished_run(people, "Linear flows", summary(0.9, 2.0, -8.0), mlflow_run_id=mlflow_id)
    _, page = run_page(people, run_id, "vera")

    run(page.load())

    assert page.status == "finished" and page.loaded
    cards = [(c.label, c.value, c.spread, c.primary) for c in page.metric_cards]
    assert cards[0] == ("NSE", "0.9", "± 0.01 over 3 folds", True)
    assert [c[0] for c in cards] == ["NSE", "PBIAS (%)", "RMSE"]
    assert page.fold_headers == ["Fold", "NSE", "PBIAS (%)", "RMSE"]
    assert page.fold_rows[0] == ["Fold 1", "0.89", "-8.01", "1.99"]
    assert [row[:2] for row in page.group_rows] == [["A", "40"], ["B", "20"]]
    assert sorted(page.chart_names) == ["predicted_vs_observed", "residuals"]
    assert page.fig_predicted_vs_observed.data[1].name == "1:1"
    paths = {a.path: a.url for a in page.artifacts}
    assert paths["predictions.parquet"] == (
        f"/api/projects/{people.alpha.id}/runs/{run_id}/artifacts/predictions.parquet"
    )
    assert f"runs:/{mlflow_id}/model" in page.snippet
    assert ("Model", "n_estimators", "100") in [(p.section, p.name, p.value) for p in page.params]
    assert page.lineage["source"] == "Daily flows v1 v1" or page.lineage["source"].startswith("Daily flows")
    assert page.can_edit is False


def test_editor_renames_and_deletes_a_finished_run(people, three_runs):
    _, page = run_page(people, three_runs["good"], "eddie")
    run(page.load())

    assert run(page.rename({"name": "   "})) is None
    assert page.rename_error == "Give the run a name."
    assert toasts(run(page.rename({"name": "Best forest"}))) == [("success", "Run renamed.")]
    assert page.name == "Best forest"

    result = run(page.delete())

    assert redirects(result) == [f"/projects/{people.alpha.id}/experiments"]
    assert "good" not in [r.name for r in runs.list_runs(people.user("alice"), people.alpha.id)]


def test_run_of_another_project_is_not_found(people, three_runs):
    root = open_page(f"/projects/{people.secret.id}/experiments/{three_runs['good']}", people.token("otto"))
    page = state(root, ExperimentRunState)

    result = run(page.load())

    assert toasts(result) == [("error", "Run not found.")]
    assert redirects(result) == [f"/projects/{people.secret.id}/experiments"]
    assert page.name == ""


def test_outsider_cannot_open_a_run(people, three_runs):
    _, page = run_page(people, three_runs["good"], "otto")

    result = run(page.load())

    assert toasts(result) == [PROJECT_NOT_FOUND] and redirects(result) == ["/projects"]


# ================================================================ compare


def test_compare_two_runs_marks_the_best_values_and_the_differing_settings(people, three_runs):
    ids = f"{three_runs['good']},{three_runs['unbiased']}"
    root = open_page(f"/projects/{people.alpha.id}/experiments/compare?runs={ids}", people.token("vera"))
    page = state(root, ExperimentCompareState)

    run(page.load())

    assert page.loaded and [r.name for r in page.runs] == ["good", "unbiased"]
    table_rows = {row.label: row.cells for row in page.rows}
    assert table_rows["NSE"] == [["0.9", "best"], ["0.8", ""]]
    assert table_rows["RMSE"] == [["2", "best"], ["3", ""]]
    assert table_rows["PBIAS (%)"] == [["-8", ""], ["1", "best"]]
    assert page.has_bars
    assert [(row.label, [c[0] for c in row.cells]) for row in page.differences] == [
        ("model", ["random_forest", "ridge"])
    ]
    assert page.same_data is True


def test_compare_needs_two_runs_of_the_project(people, three_runs):
    url = f"/projects/{people.alpha.id}/experiments/compare?runs={three_runs['good']}"
    page = state(open_page(url, people.token("alice")), ExperimentCompareState)
    result = run(page.load())
    assert redirects(result) == [f"/projects/{people.alpha.id}/experiments"]

    url = f"/projects/{people.secret.id}/experiments/compare?runs={three_runs['good']},{three_runs['poor']}"
    page = state(open_page(url, people.token("otto")), ExperimentCompareState)
    result = run(page.load())
    assert toasts(result) == [("error", "Run not found.")]
    assert page.rows == []


# ================================================================ run files over HTTP


def client(people, user: str | None) -> TestClient:
    cookies = {SESSION_COOKIE: people.token(user)} if user else None
    return TestClient(build_api(), cookies=cookies)


def test_a_member_downloads_a_run_file_and_an_outsider_cannot(people):
    mlflow_id = logged_mlflow_run(people)
    run_id = finished_run(people, "Linear flows", summary(0.9, 2.0, -8.0), mlflow_run_id=mlflow_id)
    url = f"/api/projects/{people.alpha.id}/runs/{run_id}/artifacts/predictions.parquet"

    response = client(people, "vera").get(url)

    assert response.status_code == 200
    assert "predictions.parquet" in response.headers["content-disposition"]
    assert len(pd.read_parquet(__import__("io").BytesIO(response.content))) == 60

    assert client(people, "otto").get(url).status_code == 404
    assert client(people, None).get(url).status_code == 401
    outside = f"/api/projects/{people.secret.id}/runs/{run_id}/artifacts/predictions.parquet"
    assert client(people, "otto").get(outside).status_code == 404


def test_only_the_runs_own_files_are_served(people):
    mlflow_id = logged_mlflow_run(people)
    run_id = finished_run(people, "Linear flows", summary(0.9, 2.0, -8.0), mlflow_run_id=mlflow_id)
    base = f"/api/projects/{people.alpha.id}/runs/{run_id}/artifacts/"
    member = client(people, "alice")

    for path in ("model", "nothing.txt", "model%2F..%2F..%2F..%2Fmlflow.db", "%2Fetc%2Fpasswd"):
        response = member.get(base + path)
        assert response.status_code == 404, path
        assert response.json() == {"error": "This run has no such file."}, path
    for path in ("../../mlflow.db", "%2E%2E/%2E%2E/%2E%2E/mlflow.db"):  # never reaches a file either way
        response = member.get(base + path)
        assert response.status_code == 404, path
        assert "SQLite" not in response.text
