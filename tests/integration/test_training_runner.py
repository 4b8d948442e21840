"""The training runner with real child processes: queueing, one slot, cancel, a crashing child, a restart.

The jobs here are small functions of this module (the real training is tested in test_training.py); they
report progress and finish through the same `runs` calls the real training uses.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest

from hydroml.db import session_scope, utcnow
from hydroml.models import TrainingRun
from hydroml.services import auth, projects
from hydroml.services.errors import Forbidden, InvalidInput, NotFound
from hydroml.services.experiments import runner as runner_module
from hydroml.services.experiments import runs

pytestmark = pytest.mark.integration
SPEC = {"data": {"label": "Daily flows v1"}, "model": "random_forest", "problem_type": "regression"}


def steady_job(run_id: str) -> None:
    """Reports three stages, then finishes with a metric."""
    rid = uuid.UUID(run_id)
    for fold in range(1, 4):
        if not runs.set_progress(rid, {"stage": "Fold", "fold": fold, "folds": 3, "percent": fold * 30}):
            return
        time.sleep(0.3)
    runs.finish(rid, runs.FINISHED, metrics={"nse": 0.8})


def endless_job(run_id: str) -> None:
    rid = uuid.UUID(run_id)
    runs.set_progress(rid, {"stage": "Fitting", "percent": 5})
    while True:
        time.sleep(0.1)


def crashing_job(run_id: str) -> None:
    runs.set_progress(uuid.UUID(run_id), {"stage": "Fitting", "percent": 5})
    os._exit(3)


@pytest.fixture
def team(app_db, cheap_password_hashing):
    users = {name: auth.register(name, "gauge-reading-7") for name in ("olga", "eddie", "vera", "otto")}
    project = projects.create_project(users["olga"], "Gauges")
    projects.add_member(users["olga"], project.id, "eddie", "editor")
    projects.add_member(users["olga"], project.id, "vera", "viewer")
    return users, project.id


def wait_for(run_ids, statuses, timeout=30.0, tick=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tick:
            tick()
        with session_scope() as db:
            found = {rid: db.get(TrainingRun, rid).status for rid in run_ids}
        if all(found[rid] in statuses for rid in run_ids):
            return found
        time.sleep(0.2)
    raise AssertionError(f"runs did not reach {statuses}: {found}")


def test_runs_queue_behind_one_slot_and_finish_with_progress(team):
    users, project_id = team
    first = runs.queue_run(users["eddie"], project_id, SPEC, "First")
    second = runs.queue_run(users["eddie"], project_id, SPEC, "Second")
    runner = runner_module.Runner(slots=1, target=f"{__name__}:steady_job")
    try:
        runner.tick()
        assert set(runner.children) == {first.id}
        assert runs.get_run(users["vera"], project_id, second.id).status == runs.QUEUED
        wait_for([first.id], {runs.FINISHED}, tick=runner.tick)
        wait_for([second.id], {runs.FINISHED}, tick=runner.tick)
    finally:
        runner.stop()
    done = runs.get_run(users["vera"], project_id, first.id)
    assert done.metrics == {"nse": 0.8} and done.error == ""
    assert done.duration_s is not None and done.duration_s > 0.5
    assert done.started_at <= done.finished_at
    assert [r.name for r in runs.list_runs(users["vera"], project_id)] == ["Second", "First"]


def test_cancel_stops_a_running_child_and_a_queued_run_at_once(team):
    users, project_id = team
    running = runs.queue_run(users["eddie"], project_id, SPEC, "Long")
    waiting = runs.queue_run(users["eddie"], project_id, SPEC, "Waiting")
    runner = runner_module.Runner(slots=1, target=f"{__name__}:endless_job")
    try:
        runner.tick()
        deadline = time.monotonic() + 20
        while runs.get_run(users["vera"], project_id, running.id).progress.get("stage") != "Fitting":
            assert time.monotonic() < deadline, "the child never reported progress"
            time.sleep(0.2)
        assert runs.request_cancel(users["eddie"], project_id, waiting.id).status == runs.CANCELLED
        with pytest.raises(Forbidden):
            runs.request_cancel(users["vera"], project_id, running.id)
        assert runs.request_cancel(users["eddie"], project_id, running.id).cancel_requested
        started = time.monotonic()
        wait_for([running.id], {runs.CANCELLED}, tick=runner.tick)
        assert time.monotonic() - started < 10
        assert not runner.children
    finally:
        runner.stop()
    cancelled = runs.get_run(users["vera"], project_id, running.id)
    assert cancelled.error == "Cancelled by a user."
    with pytest.raises(InvalidInput, match="only queued or running runs cancel"):
        runs.request_cancel(users["eddie"], project_id, running.id)


def test_a_child_that_dies_fails_the_run_with_a_plain_reason(team):
    users, project_id = team
    run = runs.queue_run(users["eddie"], project_id, SPEC, "Crash")
    runner = runner_module.Runner(slots=1, target=f"{__name__}:crashing_job")
    try:
        runner.tick()
        wait_for([run.id], {runs.FAILED}, tick=runner.tick)
    finally:
        runner.stop()
    failed = runs.get_run(users["vera"], project_id, run.id)
    assert "stopped unexpectedly (exit code 3)" in failed.error and "memory" in failed.error


def test_a_restart_interrupts_runs_whose_server_is_gone(team):
    users, project_id = team
    here = runs.queue_run(users["eddie"], project_id, SPEC, "Here")
    elsewhere = runs.queue_run(users["eddie"], project_id, SPEC, "Elsewhere")
    alive = runs.queue_run(users["eddie"], project_id, SPEC, "Alive")
    dead_pid = _a_dead_pid()
    host = runner_module.this_worker().rpartition(":")[0]
    assert runs.claim_next(f"{host}:{dead_pid}") == here.id
    assert runs.claim_next("another-host:12") == elsewhere.id
    assert runs.claim_next("another-host:13") == alive.id
    with session_scope() as db:  # the other machine stopped beating long ago; the third one is alive
        row = db.get(TrainingRun, elsewhere.id)
        row.heartbeat_at = utcnow().replace(year=2020)
        db.add(row)
    runner = runner_module.Runner(slots=1, target=f"{__name__}:steady_job")
    runner.start()
    runner.stop()
    assert runs.get_run(users["vera"], project_id, here.id).status == runs.INTERRUPTED
    assert runs.get_run(users["vera"], project_id, elsewhere.id).status == runs.INTERRUPTED
    assert runs.get_run(users["vera"], project_id, alive.id).status == runs.RUNNING
    assert "Train it again" in runs.get_run(users["vera"], project_id, here.id).error


def test_stopping_the_server_interrupts_its_children(team):
    users, project_id = team
    run = runs.queue_run(users["eddie"], project_id, SPEC, "Long")
    runner = runner_module.Runner(slots=1, target=f"{__name__}:endless_job")
    runner.tick()
    process = runner.children[run.id].process
    runner.stop()
    assert process.poll() is not None
    assert runs.get_run(users["vera"], project_id, run.id).status == runs.INTERRUPTED


def test_two_runners_never_take_the_same_run(team):
    users, project_id = team
    queued = [runs.queue_run(users["eddie"], project_id, SPEC, f"Run {i}").id for i in range(6)]
    taken = [runs.claim_next(f"w{i % 2}:1") for i in range(8)]
    assert sorted(t for t in taken if t) == sorted(queued) and taken[6:] == [None, None]


def test_drafts_roles_and_deletion(team):
    users, project_id = team
    with pytest.raises(Forbidden):
        runs.save_draft(users["vera"], project_id, SPEC)
    with pytest.raises(NotFound):
        runs.list_runs(users["otto"], project_id)
    draft = runs.save_draft(users["eddie"], project_id, {**SPEC, "target": "flow"})
    assert runs.get_draft(users["eddie"], project_id).spec["target"] == "flow"
    assert runs.get_draft(users["olga"], project_id) is None  # drafts are per user
    assert runs.list_runs(users["vera"], project_id) == []  # and never listed as runs
    with pytest.raises(NotFound):
        runs.get_run(users["eddie"], project_id, draft.id)
    run = runs.queue_run(users["eddie"], project_id, SPEC, "  Forest   one ")
    assert run.name == "Forest one" and runs.get_draft(users["eddie"], project_id) is None
    with pytest.raises(InvalidInput, match="cancel it first"):
        runs.delete_run(users["eddie"], project_id, run.id)
    runs.request_cancel(users["eddie"], project_id, run.id)
    with pytest.raises(Forbidden):
        runs.delete_run(users["vera"], project_id, run.id)
    with pytest.raises(NotFound):
        runs.delete_run(users["otto"], project_id, run.id)
    runs.delete_run_everywhere(users["eddie"], project_id, run.id)
    assert runs.list_runs(users["vera"], project_id) == []
    with pytest.raises(NotFound):
        runs.get_run(users["eddie"], project_id, "not-a-uuid")


def _a_dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_an_idle_runner_keeps_a_warm_spare_that_takes_the_next_run(team):
    users, project_id = team
    runner = runner_module.Runner(slots=1, target=f"{__name__}:steady_job")
    try:
        runner.tick()  # nothing queued: a spare interpreter starts and waits
        spare = runner._spare
        assert spare is not None and spare.poll() is None
        run = runs.queue_run(users["eddie"], project_id, SPEC, "Warm start")
        runner.tick()
        assert runner.children[run.id].process is spare and runner._spare is None
        wait_for([run.id], {runs.FINISHED}, tick=runner.tick)
        deadline = time.monotonic() + 10
        while runner._spare is None and time.monotonic() < deadline:  # the child exits just after finishing
            runner.tick()
            time.sleep(0.1)
        assert runner._spare is not None and runner._spare is not spare  # the next one, once idle again
    finally:
        runner.stop()
    assert spare.poll() is not None
