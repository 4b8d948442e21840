"""Training runs as database rows: the wizard's draft, the queue, the status of each run and its results.

Users go through the functions that take an ``actor`` (each checks the project role: viewers read, editors
draft, train, cancel and delete). The runner (:mod:`hydroml.services.experiments.runner`) uses the functions
without an actor: it claims queued runs atomically (several server processes may run a runner each), reports
progress and a heartbeat, and records the outcome. A run whose process is gone is marked "interrupted", never
left "running".
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from hydroml.db import session_scope, utcnow
from hydroml.models import TrainingRun, User
from hydroml.services.auth import UserInfo, as_utc
from hydroml.services.errors import InvalidInput, NotFound
from hydroml.services.projects import parse_id, require_role

logger = logging.getLogger(__name__)

DRAFT, QUEUED, RUNNING = "draft", "queued", "running"
FINISHED, FAILED, CANCELLED, INTERRUPTED = "finished", "failed", "cancelled", "interrupted"
ACTIVE = (QUEUED, RUNNING)
DONE = (FINISHED, FAILED, CANCELLED, INTERRUPTED)
STATUSES = (QUEUED, RUNNING, *DONE)
NAME_MAX = 120
NOT_FOUND = "Run not found."
INTERRUPTED_MESSAGE = "The server stopped while this run was training. Train it again."
SORTS = ("newest", "oldest", "name", "status", "model", "duration")
MAX_LIST = 5000


@dataclass(frozen=True)
class RunInfo:
    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    status: str
    spec: dict
    data_source_id: uuid.UUID | None
    data_source_version: int | None
    data_label: str
    model_key: str
    problem_type: str
    target: str
    progress: dict
    error: str
    metrics: dict
    mlflow_run_id: str
    data_fingerprint: str
    cancel_requested: bool
    created_by: str
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    can_edit: bool


def _when(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment is not None else None


def _info(row: TrainingRun, creator: str, can_edit: bool) -> RunInfo:
    return RunInfo(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        status=row.status,
        spec=json.loads(row.spec_json or "{}"),
        data_source_id=row.data_source_id,
        data_source_version=row.data_source_version,
        data_label=row.data_label,
        model_key=row.model_key,
        problem_type=row.problem_type,
        target=row.target,
        progress=json.loads(row.progress_json or "{}"),
        error=row.error,
        metrics=json.loads(row.metrics_json or "{}"),
        mlflow_run_id=row.mlflow_run_id,
        data_fingerprint=row.data_fingerprint,
        cancel_requested=row.cancel_requested,
        created_by=creator,
        created_at=as_utc(row.created_at),
        queued_at=_when(row.queued_at),
        started_at=_when(row.started_at),
        finished_at=_when(row.finished_at),
        duration_s=row.duration_s,
        can_edit=can_edit,
    )


def _creator(db: Session, row: TrainingRun) -> str:
    if row.created_by is None:
        return ""
    user = db.get(User, row.created_by)
    return (user.display_name or user.username) if user else ""


def _row(db: Session, project_id: uuid.UUID, run_id, *, drafts: bool = False) -> TrainingRun:
    rid = parse_id(run_id, "Run")
    row = db.get(TrainingRun, rid)
    if row is None or row.project_id != project_id or ((row.status == DRAFT) != drafts):
        raise NotFound(NOT_FOUND)
    return row


def _can_edit(role: str) -> bool:
    return role in ("owner", "editor")


def _validate_name(name: str) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise InvalidInput("name", "Give the run a name.")
    if len(cleaned) > NAME_MAX:
        raise InvalidInput("name", f"Use at most {NAME_MAX} characters for the name.")
    return cleaned


def _apply_spec(row: TrainingRun, spec: dict) -> None:
    """The spec and the columns the runs table filters on."""
    data = spec.get("data") or {}
    row.spec_json = json.dumps(spec, default=str)
    source = data.get("data_source_id")
    row.data_source_id = parse_id(source, "Data source") if source else None
    version = data.get("version")
    row.data_source_version = int(version) if isinstance(version, int) else None
    row.data_label = str(data.get("label") or "")[:300]
    row.model_key = str(spec.get("model") or "")[:40]
    row.problem_type = str(spec.get("problem_type") or "")[:16]
    row.target = str(spec.get("target") or "")[:300]


# ------------------------------------------------------------------------------------------------ drafts


def _draft_of(project_id: uuid.UUID, actor: UserInfo) -> tuple:
    return (
        TrainingRun.project_id == project_id,
        TrainingRun.status == DRAFT,
        TrainingRun.created_by == actor.id,
    )


def save_draft(actor: UserInfo, project_id, spec: dict, name: str = "") -> RunInfo:
    """The actor's wizard draft in this project, created or replaced (editor). One draft per user and project."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="set up experiments")
        row = db.exec(select(TrainingRun).where(*_draft_of(member.project_id, actor))).first()
        if row is None:
            row = TrainingRun(project_id=member.project_id, status=DRAFT, created_by=actor.id, name="Draft")
        row.name = " ".join(str(name or "").split())[:NAME_MAX] or "Draft"
        _apply_spec(row, spec)
        db.add(row)
        db.flush()
        return _info(row, _creator(db, row), True)


def get_draft(actor: UserInfo, project_id) -> RunInfo | None:
    """The actor's saved draft in this project, if any (editor)."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="set up experiments")
        row = db.exec(select(TrainingRun).where(*_draft_of(member.project_id, actor))).first()
        return _info(row, _creator(db, row), True) if row else None


def discard_draft(actor: UserInfo, project_id) -> None:
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="set up experiments")
        db.exec(sa.delete(TrainingRun).where(*_draft_of(member.project_id, actor)))


def queue_run(actor: UserInfo, project_id, spec: dict, name: str) -> RunInfo:
    """A new queued run from a checked spec (editor); the actor's draft is consumed."""
    cleaned = _validate_name(name)
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="train models")
        db.exec(sa.delete(TrainingRun).where(*_draft_of(member.project_id, actor)))
        now = utcnow()
        row = TrainingRun(
            project_id=member.project_id,
            status=QUEUED,
            name=cleaned,
            created_by=actor.id,
            queued_at=now,
            progress_json=json.dumps({"stage": "Waiting for a free training slot", "percent": 0}),
        )
        _apply_spec(row, spec)
        db.add(row)
        db.flush()
        return _info(row, _creator(db, row), True)


# ------------------------------------------------------------------------------------------------ reading


def list_runs(
    actor: UserInfo,
    project_id,
    *,
    status: str = "",
    model: str = "",
    data_source_id: str = "",
    sort: str = "newest",
    limit: int = MAX_LIST,
) -> list[RunInfo]:
    """The project's runs (drafts excluded), filtered and sorted (viewer)."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer", action="see runs")
        query = select(TrainingRun, User.display_name, User.username).outerjoin(
            User, User.id == TrainingRun.created_by
        )
        query = query.where(TrainingRun.project_id == member.project_id, TrainingRun.status != DRAFT)
        if status:
            query = query.where(TrainingRun.status == status)
        if model:
            query = query.where(TrainingRun.model_key == model)
        if data_source_id:
            query = query.where(TrainingRun.data_source_id == parse_id(data_source_id, "Data source"))
        order = {
            "newest": TrainingRun.created_at.desc(),
            "oldest": TrainingRun.created_at.asc(),
            "name": TrainingRun.name.asc(),
            "status": TrainingRun.status.asc(),
            "model": TrainingRun.model_key.asc(),
            "duration": TrainingRun.duration_s.desc(),
        }.get(sort, TrainingRun.created_at.desc())
        rows = db.exec(query.order_by(order, TrainingRun.id).limit(max(1, min(limit, MAX_LIST)))).all()
        editable = _can_edit(member.role)
        return [_info(row, display or username or "", editable) for row, display, username in rows]


def get_run(actor: UserInfo, project_id, run_id) -> RunInfo:
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer", action="see runs")
        row = _row(db, member.project_id, run_id)
        return _info(row, _creator(db, row), _can_edit(member.role))


def get_runs(actor: UserInfo, project_id, run_ids: list) -> list[RunInfo]:
    """Several runs of the project, in the order asked (for comparing); unknown ids are NotFound."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer", action="see runs")
        rows = [_row(db, member.project_id, rid) for rid in run_ids]
        return [_info(row, _creator(db, row), _can_edit(member.role)) for row in rows]


def run_count(project_id) -> int:
    with session_scope() as db:
        query = select(sa.func.count()).select_from(TrainingRun)
        query = query.where(TrainingRun.project_id == parse_id(project_id), TrainingRun.status != DRAFT)
        return int(db.exec(query).one())


# ------------------------------------------------------------------------------------------------ changes


def request_cancel(actor: UserInfo, project_id, run_id) -> RunInfo:
    """Cancel a run (editor): a queued run at once; a running one is stopped by its runner within seconds."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="cancel runs")
        row = _row(db, member.project_id, run_id)
        if row.status == QUEUED:
            _finish_row(row, CANCELLED, "Cancelled before it started.")
        elif row.status == RUNNING:
            row.cancel_requested = True
            row.progress_json = json.dumps({**json.loads(row.progress_json or "{}"), "stage": "Cancelling"})
        else:
            raise InvalidInput(
                "status", f"This run is {row.status} already; only queued or running runs cancel."
            )
        db.add(row)
        db.flush()
        return _info(row, _creator(db, row), True)


def delete_run(actor: UserInfo, project_id, run_id) -> str:
    """Delete a finished, failed, cancelled or interrupted run (editor); returns its MLflow run id ("" if
    none) so the caller deletes it in MLflow too (see :func:`delete_run_everywhere`)."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="delete runs")
        row = _row(db, member.project_id, run_id)
        if row.status in ACTIVE:
            raise InvalidInput(
                "status", "This run is still queued or running: cancel it first, then delete it."
            )
        mlflow_run_id = row.mlflow_run_id
        db.delete(row)
        return mlflow_run_id


def delete_run_everywhere(actor: UserInfo, project_id, run_id) -> None:
    """Delete the run here and in MLflow, artifacts included."""
    mlflow_run_id = delete_run(actor, project_id, run_id)
    if mlflow_run_id:
        from hydroml.services.experiments import tracking

        tracking.delete_run(mlflow_run_id)


def rename_run(actor: UserInfo, project_id, run_id, name: str) -> RunInfo:
    cleaned = _validate_name(name)
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="rename runs")
        row = _row(db, member.project_id, run_id)
        row.name = cleaned
        db.add(row)
        db.flush()
        return _info(row, _creator(db, row), True)


# ------------------------------------------------------------------------------------------------ runner side


def claim_next(worker: str) -> uuid.UUID | None:
    """Take the oldest queued run for this worker (compare-and-set: two runners never take the same run)."""
    with session_scope() as db:
        candidates = db.exec(
            select(TrainingRun.id)
            .where(TrainingRun.status == QUEUED)
            .order_by(TrainingRun.queued_at, TrainingRun.id)
            .limit(5)
        ).all()
    for run_id in candidates:
        now = utcnow()
        with session_scope() as db:
            claimed = db.exec(
                sa.update(TrainingRun)
                .where(TrainingRun.id == run_id, TrainingRun.status == QUEUED)
                .values(
                    status=RUNNING,
                    worker=worker[:120],
                    started_at=now,
                    heartbeat_at=now,
                    progress_json=json.dumps({"stage": "Starting", "percent": 0}),
                )
            )
            if claimed.rowcount == 1:
                return run_id
    return None


def load_for_runner(run_id: uuid.UUID) -> tuple[uuid.UUID, dict, str]:
    """(project id, spec, run name) of a claimed run."""
    with session_scope() as db:
        row = db.get(TrainingRun, run_id)
        if row is None:
            raise NotFound(NOT_FOUND)
        return row.project_id, json.loads(row.spec_json or "{}"), row.name


def creator_of(run_id: uuid.UUID) -> uuid.UUID | None:
    with session_scope() as db:
        return db.exec(select(TrainingRun.created_by).where(TrainingRun.id == run_id)).first()


def set_progress(run_id: uuid.UUID, progress: dict[str, Any]) -> bool:
    """Record progress of a running run; False when the run is no longer running or a cancel was asked."""
    with session_scope() as db:
        done = db.exec(
            sa.update(TrainingRun)
            .where(TrainingRun.id == run_id, TrainingRun.status == RUNNING)
            .values(progress_json=json.dumps(progress, default=str), heartbeat_at=utcnow())
        )
        if done.rowcount != 1:
            return False
        return not cancel_requested(run_id, db)


def cancel_requested(run_id: uuid.UUID, db: Session | None = None) -> bool:
    if db is None:
        with session_scope() as own:
            return cancel_requested(run_id, own)
    value = db.exec(select(TrainingRun.cancel_requested).where(TrainingRun.id == run_id)).first()
    return bool(value)


def heartbeat(run_ids: list[uuid.UUID]) -> None:
    if not run_ids:
        return
    with session_scope() as db:
        db.exec(
            sa.update(TrainingRun)
            .where(TrainingRun.id.in_(run_ids), TrainingRun.status == RUNNING)
            .values(heartbeat_at=utcnow())
        )


def mlflow_run_of(run_id: uuid.UUID) -> str:
    with session_scope() as db:
        return db.exec(select(TrainingRun.mlflow_run_id).where(TrainingRun.id == run_id)).first() or ""


def set_mlflow_run(run_id: uuid.UUID, mlflow_run_id: str) -> None:
    with session_scope() as db:
        db.exec(sa.update(TrainingRun).where(TrainingRun.id == run_id).values(mlflow_run_id=mlflow_run_id))


def _finish_row(row: TrainingRun, status: str, error: str = "") -> None:
    now = utcnow()
    row.status, row.error, row.finished_at = status, error, now
    row.cancel_requested = False
    if row.started_at is not None:
        row.duration_s = round((now - as_utc(row.started_at)).total_seconds(), 3)
    row.progress_json = json.dumps(
        {"stage": status.capitalize(), "percent": 100 if status == FINISHED else 0}
    )


def finish(
    run_id: uuid.UUID, status: str, *, error: str = "", metrics: dict | None = None, fingerprint: str = ""
) -> bool:
    """Record the outcome of a running run; False if it was not running any more (e.g. marked interrupted)."""
    if status not in DONE:
        raise ValueError(f"not a final status: {status!r}")
    with session_scope() as db:
        row = db.get(TrainingRun, run_id)
        if row is None or row.status != RUNNING:
            return False
        _finish_row(row, status, error)
        if metrics is not None:
            row.metrics_json = json.dumps(metrics, default=float)
        if fingerprint:
            row.data_fingerprint = fingerprint[:64]
        db.add(row)
        return True


def mark_interrupted(*, stale_after_s: float, dead_workers: set[str] = frozenset()) -> int:
    """Running runs whose runner is gone become "interrupted": their worker is known dead (this machine,
    process gone) or their heartbeat is older than ``stale_after_s``. Returns how many."""
    limit = utcnow() - timedelta(seconds=stale_after_s)
    with session_scope() as db:
        rows = db.exec(select(TrainingRun).where(TrainingRun.status == RUNNING)).all()
        count = 0
        for row in rows:
            beat = _when(row.heartbeat_at)
            if row.worker in dead_workers or beat is None or beat < limit:
                _finish_row(
                    row, INTERRUPTED, "The server stopped while this run was training. Train it again."
                )
                db.add(row)
                count += 1
    if count:
        logger.warning("marked %d training run(s) as interrupted", count)
    return count


def running_workers() -> set[str]:
    with session_scope() as db:
        return set(db.exec(select(TrainingRun.worker).where(TrainingRun.status == RUNNING)).all())
