"""The experiment wizard: handlers driven on real state objects over a real database and data dir.

A small daily table like the demo's (date, station, precip, flow) goes through the five steps to a queued run;
the checks are what the browser gets (step, field errors, toasts, redirects) and what the database holds (the
draft, the queued run's spec).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services import datasources
from hydroml.services.experiments import runs, wizard
from hydroml.services.studio import sessions
from hydroml.state.experiment_wizard import DATA, MODEL, PREPARE, REVIEW, TARGET, ExperimentWizardState
from tests.state.test_auth_states import redirects, state, toasts
from tests.state.test_project_states import open_page, team  # noqa: F401 - fixtures
from tests.state.test_studio_state import drive, flatten


def hydro_frame(days: int = 90) -> pd.DataFrame:
    """Two stations, one row per station per day; flow follows the precipitation of the days before."""
    rng = np.random.default_rng(7)
    parts = []
    for station, scale in (("A", 1.0), ("B", 2.5)):
        precip = rng.gamma(0.6, 4.0, days).round(1)
        flow = scale * (1 + np.convolve(precip, [0.0, 0.5, 0.3, 0.2])[:days]) + rng.normal(0, 0.05, days)
        parts.append(
            pd.DataFrame(
                {
                    "date": pd.date_range("2021-01-01", periods=days, freq="D"),
                    "station": station,
                    "precip": precip,
                    "flow": flow.round(3),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(autouse=True)
def _fresh_frames():
    wizard.forget_frames()
    yield
    wizard.forget_frames()


@pytest.fixture
def hydro(team):  # noqa: F811 - pytest fixture
    return datasources.create_from_frame(team.user("alice"), team.alpha.id, "Daily hydro", hydro_frame())


def url(team) -> str:  # noqa: F811
    return f"/projects/{team.alpha.id}/experiments/new"


def wizard_page(team, who: str = "eddie") -> tuple[ExperimentWizardState, list]:  # noqa: F811
    page = state(open_page(url(team), team.token(who)), ExperimentWizardState)
    return page, flatten(drive(page.load()))


def go_next(page: ExperimentWizardState) -> list:
    return flatten(drive(page.next_step()))


def to_model_step(team, hydro) -> ExperimentWizardState:  # noqa: F811
    page, _ = wizard_page(team)
    drive(page.choose_source(str(hydro.id)))
    go_next(page)
    drive(page.choose_target("flow"))
    go_next(page)
    assert page.step == MODEL, (page.errors, page.step_error)
    return page


def to_prepare_step(team, hydro) -> ExperimentWizardState:  # noqa: F811
    page = to_model_step(team, hydro)
    drive(page.set_param("n_estimators", "10"))
    go_next(page)
    assert page.step == PREPARE, (page.errors, page.step_error)
    return page


def test_an_editor_goes_through_every_step_to_a_queued_run(team, hydro):  # noqa: F811
    page, _ = wizard_page(team)
    assert page.loaded and page.can_edit and page.step == DATA
    assert [c.label for c in page.source_choices] == ["Daily hydro"]

    drive(page.choose_source(str(hydro.id)))
    assert [c.value for c in page.version_choices] == ["1"]
    go_next(page)
    assert page.step == TARGET and page.rows == 180 and page.data_label == "Daily hydro v1"
    assert [(c.name, c.kind) for c in page.columns] == [
        ("date", "date"), ("station", "text"), ("precip", "numeric"), ("flow", "numeric"),
    ]  # fmt: skip

    drive(page.choose_target("flow"))
    assert page.detected_type == page.problem_type == "regression"
    assert page.features == ["station", "precip"]  # the date is not a feature by default
    assert "The time column" in next(c.warning for c in page.columns if c.name == "date")
    page.set_feature_kind("numeric")
    assert [c.name for c in page.feature_rows] == ["precip"]
    go_next(page)

    assert page.step == MODEL and page.model == "random_forest"
    assert "linear_regression" in [c.value for c in page.model_choices]
    assert next(f for f in page.fields if f.name == "n_estimators").value == "100"
    drive(page.set_param("n_estimators", "10"))
    go_next(page)

    assert page.step == PREPARE
    assert page.time_column == "date" and page.split_form["strategy"] == "time_series_cv"
    assert page.prep["scaling"] == "none"  # trees need no scaling
    drive(page.set_group_column("station"))
    go_next(page)

    assert page.step == REVIEW, (page.errors, page.step_error)
    assert page.metrics == ["nse", "kge", "pbias", "rmse", "mae", "r2"] and page.primary_metric == "nse"
    assert page.run_name == "Random forest on Daily hydro v1"
    result = flatten(drive(page.train()))

    queued = runs.list_runs(team.user("alice"), team.alpha.id)
    assert len(queued) == 1 and queued[0].status == runs.QUEUED
    assert redirects(result) == [f"/projects/{team.alpha.id}/experiments/{queued[0].id}"]
    spec = queued[0].spec
    assert spec["data"] == {
        "kind": "data_source", "data_source_id": str(hydro.id), "version": 1, "label": "Daily hydro v1",
    }  # fmt: skip
    assert (spec["target"], spec["features"], spec["problem_type"]) == (
        "flow",
        ["station", "precip"],
        "regression",
    )
    assert spec["model"] == "random_forest" and spec["params"]["n_estimators"] == 10
    assert spec["split"]["strategy"] == "time_series_cv" and spec["split"]["n_splits"] == 5
    assert spec["split"]["window"] == "expanding" and spec["split"]["time_column"] == "date"
    assert (spec["time_column"], spec["group_column"], spec["allow_shuffle"]) == ("date", "station", False)
    assert spec["primary_metric"] == "nse" and not any(k.startswith("wizard_") for k in spec)
    assert runs.get_draft(team.user("eddie"), team.alpha.id) is None  # the draft became the run


def test_a_draft_resumes_at_its_step_after_reopening_the_page(team, hydro):  # noqa: F811
    page = to_prepare_step(team, hydro)
    drive(page.set_split("n_splits", "4"))
    drive(page.previous_step())  # leaving a step saves the draft
    assert page.step == MODEL
    go_next(page)

    again, _ = wizard_page(team)
    assert again.step == PREPARE and again.resumed and again.busy == ""
    assert (again.target, again.features, again.model) == ("flow", ["station", "precip"], "random_forest")
    assert next(f for f in again.fields if f.name == "n_estimators").value == "10"
    assert again.split_form["n_splits"] == "4" and again.time_column == "date"
    assert [c.name for c in again.columns] == ["date", "station", "precip", "flow"]

    drive(again.start_over())
    assert again.step == DATA and runs.get_draft(team.user("eddie"), team.alpha.id) is None


def test_a_shuffled_split_on_time_data_is_refused_until_confirmed(team, hydro):  # noqa: F811
    page = to_prepare_step(team, hydro)
    drive(page.set_split("strategy", "random_holdout"))
    go_next(page)
    assert page.step == PREPARE
    assert "future" in page.errors["allow_shuffle"]

    drive(page.set_allow_shuffle(True))
    go_next(page)
    assert page.step == REVIEW, (page.errors, page.step_error)
    flatten(drive(page.train()))
    spec = runs.list_runs(team.user("eddie"), team.alpha.id)[0].spec
    assert spec["split"]["strategy"] == "random_holdout" and spec["allow_shuffle"] is True


def test_a_bad_hyperparameter_shows_its_message_at_that_field(team, hydro):  # noqa: F811
    page = to_model_step(team, hydro)
    drive(page.set_param("min_samples_leaf", "0"))
    go_next(page)
    assert page.step == MODEL
    field = next(f for f in page.fields if f.name == "min_samples_leaf")
    assert field.error and all(f.error == "" for f in page.fields if f.name != "min_samples_leaf")

    drive(page.set_param("min_samples_leaf", "lots"))
    go_next(page)
    assert "whole number" in next(f for f in page.fields if f.name == "min_samples_leaf").error

    drive(page.set_param("min_samples_leaf", "5"))
    go_next(page)
    assert page.step == PREPARE


def test_a_check_at_train_time_jumps_to_the_step_to_fix(team, hydro):  # noqa: F811
    page = to_prepare_step(team, hydro)
    go_next(page)
    assert page.step == REVIEW
    page.features = ["precip", "date"]  # e.g. an old draft: dates cannot be features
    flatten(drive(page.train()))
    assert page.step == TARGET and "dates" in page.errors["features"]
    assert runs.list_runs(team.user("eddie"), team.alpha.id) == []


def test_a_studio_session_as_data_pins_its_recipe(team, hydro):  # noqa: F811
    eddie = team.user("eddie")
    session = sessions.create_session(eddie, team.alpha.id, hydro.id, "No station")
    sessions.add_step(
        eddie, team.alpha.id, session.id, session.revision, "drop_columns", {"columns": ["station"]}
    )
    page, _ = wizard_page(team)
    assert [c.label for c in page.session_choices] == ["No station"]
    drive(page.set_data_kind("studio_session"))
    drive(page.choose_session(str(session.id)))
    go_next(page)
    assert page.step == TARGET and [c.name for c in page.columns] == ["date", "precip", "flow"]
    drive(page.choose_target("flow"))
    for _ in range(3):
        go_next(page)
    assert page.step == REVIEW, (page.errors, page.step_error)
    # the session moves on after the run was set up: the run keeps the recipe as it was
    sessions.undo(eddie, team.alpha.id, session.id, session.revision + 1)
    flatten(drive(page.train()))
    data = runs.list_runs(eddie, team.alpha.id)[0].spec["data"]
    assert data["kind"] == "studio_session" and data["session_id"] == str(session.id)
    assert "drop_columns" in data["recipe_json"] and "station" in data["recipe_json"]


def test_a_viewer_cannot_open_the_wizard(team, hydro):  # noqa: F811
    page, result = wizard_page(team, "vera")
    assert page.loaded and not page.can_edit and page.source_choices == []
    page.data_source_id = str(hydro.id)  # a forged event stream gets no further
    result = go_next(page)
    assert any("Your role is viewer" in message for _, message in toasts(result))
    assert page.step == DATA


def test_an_outsider_is_redirected_and_learns_nothing(team, hydro):  # noqa: F811
    page, result = wizard_page(team, "otto")
    assert ("error", "Project not found.") in toasts(result)
    assert redirects(result) == ["/projects"]
    assert not page.loaded and page.source_choices == [] and page.project_id == ""
