"""Runs queued trainings, each in its own process, so the web server's event loop never waits on a fit.

One runner lives in each server process (started with the app). Its thread claims queued runs from the
database (atomically: several server processes may share one database), starts one child process per run up to
``HYDROML_TRAINING_SLOTS`` at a time, beats a heartbeat for its children, stops a child whose run was cancelled,
and records a clear failure when a child dies (for example, out of memory). When the runner starts, runs left
"running" by a process that is gone become "interrupted". A process per run (not a pool) is what makes cancel
immediate: a fit in progress cannot be interrupted any other way.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass

import psutil

from hydroml.services.experiments import runs
from hydroml.settings import get_settings

logger = logging.getLogger(__name__)

POLL_S = 1.0
STALE_AFTER_S = 60.0
ORPHAN_CHECK_S = 15.0  # how often a runner looks for runs whose server is gone  # a run without a heartbeat for this long is interrupted (its server is gone)
TERMINATE_GRACE_S = 5.0
DIED = (
    "The training process stopped unexpectedly (exit code {code}). If the data is large, the server may have "
    "run out of memory: try fewer rows or a lighter model."
)


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_local_workers() -> set[str]:
    """Workers on this machine whose process is gone (a restart gives the server a new pid)."""
    host = socket.gethostname()
    dead = set()
    for worker in runs.running_workers():
        name, _, pid = worker.rpartition(":")
        if name == host and pid.isdigit() and not psutil.pid_exists(int(pid)):
            dead.add(worker)
    return dead


TRAIN = "hydroml.services.experiments.training:execute"
# A child started with this instead of a run id imports its libraries, then waits for a run id on stdin: a
# queued run starts seconds sooner (importing scikit-learn, pandas and MLflow takes 2-4 s).
SPARE = "-"


@dataclass
class _Child:
    run_id: uuid.UUID
    process: subprocess.Popen
    cancelling_since: float | None = None


class Runner:
    """``target`` ("module:function", called with the run id as text) is what a child runs: the training,
    or a small job in tests."""

    def __init__(self, *, slots: int | None = None, target: str = TRAIN) -> None:
        self.slots = slots or get_settings().training_slots
        self.target = target
        self.worker = this_worker()
        self.children: dict[uuid.UUID, _Child] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tracking_ready = False
        self._next_orphan_check = 0.0
        self._spare: subprocess.Popen | None = None

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is not None:
            return
        runs.mark_interrupted(stale_after_s=STALE_AFTER_S, dead_workers=_dead_local_workers())
        self._next_orphan_check = time.monotonic() + ORPHAN_CHECK_S
        self._thread = threading.Thread(target=self._loop, name="hydroml-training-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop and the children; their runs become "interrupted" (the server is going away)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for child in list(self.children.values()):
            self._terminate(child.process)
            self._close(child.run_id, runs.INTERRUPTED, runs.INTERRUPTED_MESSAGE)
        self.children.clear()
        if self._spare is not None:
            self._terminate(self._spare)
            self._spare = None

    def wake(self) -> None:
        """Look at the queue now (a run was just queued in this process)."""
        self._wake.set()

    # ------------------------------------------------------------------------------------------ the loop

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the loop must outlive a database hiccup
                logger.exception("training runner tick failed")
            self._wake.wait(POLL_S)
            self._wake.clear()

    def tick(self) -> None:
        """One round: reap finished children, stop cancelled ones, beat, interrupt stale runs, start new ones."""
        self._reap()
        self._cancel_requested()
        runs.heartbeat(list(self.children))
        if time.monotonic() >= self._next_orphan_check:  # a few queries: not every second
            self._next_orphan_check = time.monotonic() + ORPHAN_CHECK_S
            runs.mark_interrupted(stale_after_s=STALE_AFTER_S, dead_workers=_dead_local_workers())
        while len(self.children) < self.slots and not self._stop.is_set():
            run_id = runs.claim_next(self.worker)
            if run_id is None:
                break
            self._prepare_tracking()
            process = self._take_spare(run_id) or self._start(str(run_id))
            self.children[run_id] = _Child(run_id, process)
            logger.info("training run %s started in process %s", run_id, process.pid)
        if self._spare is None and not self.children and not self._stop.is_set():
            self._spare = self._start(SPARE)  # warmed up while nothing trains, so it never slows a fit

    def _start(self, run_id: str) -> subprocess.Popen:
        """A fresh interpreter running this module: no copy of the server's threads, locks, connections or
        main module (multiprocessing's spawn would import the server's entry point again)."""
        stdin = subprocess.PIPE if run_id == SPARE else subprocess.DEVNULL
        return subprocess.Popen([sys.executable, "-m", __name__, self.target, run_id], stdin=stdin, text=True)

    def _take_spare(self, run_id: uuid.UUID) -> subprocess.Popen | None:
        """The warm spare (libraries imported, MLflow store open) given this run, or None."""
        spare, self._spare = self._spare, None
        if spare is None or spare.poll() is not None:
            return None
        try:
            spare.stdin.write(f"{run_id}\n")
            spare.stdin.close()
        except OSError:  # it died just now: start cold
            self._terminate(spare)
            return None
        return spare

    def _prepare_tracking(self) -> None:
        if self._tracking_ready:
            return
        from hydroml.services.experiments import tracking

        try:
            tracking.ensure_store()
            self._tracking_ready = True
        except Exception:  # the child reports an unreachable MLflow to the user in plain words
            logger.exception("could not open the MLflow tracking store")

    def _reap(self) -> None:
        for run_id, child in list(self.children.items()):
            code = child.process.poll()
            if code is None:
                continue
            del self.children[run_id]
            if child.cancelling_since is not None:
                self._close(run_id, runs.CANCELLED, "Cancelled by a user.")
            elif code != 0:
                # the child records its own outcome; this only catches a process that died without doing so
                self._close(run_id, runs.FAILED, DIED.format(code=code))

    @staticmethod
    def _close(run_id: uuid.UUID, status: str, message: str) -> None:
        """Record how a stopped child ended, here and in its MLflow run (left open by the stopped process)."""
        if not runs.finish(run_id, status, error=message):
            return
        mlflow_run_id = runs.mlflow_run_of(run_id)
        if mlflow_run_id:
            from hydroml.services.experiments import tracking

            try:
                tracking.fail_run(mlflow_run_id, message, cancelled=status == runs.CANCELLED)
            except Exception:  # MLflow unreachable: the run here is closed, which is what users see
                logger.exception("could not close MLflow run %s", mlflow_run_id)

    def _cancel_requested(self) -> None:
        now = time.monotonic()
        for run_id, child in self.children.items():
            if child.cancelling_since is None and runs.cancel_requested(run_id):
                child.cancelling_since = now
                child.process.terminate()
            elif child.cancelling_since is not None and now - child.cancelling_since > TERMINATE_GRACE_S:
                child.process.kill()

    @staticmethod
    def _terminate(process: subprocess.Popen) -> None:
        process.terminate()
        try:
            process.wait(TERMINATE_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(TERMINATE_GRACE_S)


_RUNNER: Runner | None = None
_RUNNER_LOCK = threading.Lock()


def get_runner() -> Runner:
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is None:
            _RUNNER = Runner()
        return _RUNNER


def start() -> Runner:
    runner = get_runner()
    runner.start()
    return runner


def stop() -> None:
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is not None:
            _RUNNER.stop()
            _RUNNER = None


def _child_main(target: str, run_id: str) -> None:
    module_name, _, function = target.partition(":")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    module = importlib.import_module(module_name)
    if run_id == SPARE:
        warm_up = getattr(module, "warm_up", None)
        if warm_up is not None:
            warm_up()
        run_id = sys.stdin.readline().strip()
        if not run_id:  # the runner stopped without giving it a run
            return
    getattr(module, function)(run_id)


if __name__ == "__main__":
    _child_main(*sys.argv[1:3])
