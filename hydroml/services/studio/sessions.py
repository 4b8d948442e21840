"""Studio sessions: named recipes over a data source version, saved on every change (the service API).

Every call checks the actor's project role: viewers may open sessions and read pages, editors change them.
Changes carry the revision the caller last saw; a change based on an older revision is refused with
`Conflict` (two tabs on one session never lose an update). Work on frames happens in the caller's thread:
the state layer calls these functions through ``asyncio.to_thread``.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from hydroml.db import session_scope, utcnow
from hydroml.models import DataSource, ProjectMember, StudioSession, User
from hydroml.services import datasources, tables
from hydroml.services.auth import UserInfo, as_utc
from hydroml.services.errors import Conflict, InvalidInput, NotFound
from hydroml.services.projects import parse_id, require_role
from hydroml.services.studio import charts, checkpoint_dir, engine, profile, view
from hydroml.services.studio.engine import StepStatus
from hydroml.services.studio.operations import Context, schema_of
from hydroml.services.studio.operations.base import source_key
from hydroml.services.studio.recipe import Recipe, Step, new_step
from hydroml.services.studio.script import ScriptSource, other_source_refs, recipe_script
from hydroml.settings import get_settings

NAME_MAX = 120
STALE_MESSAGE = "This session was changed in another tab or by someone else; it has been reloaded."


@dataclass(frozen=True)
class SessionInfo:
    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    data_source_id: uuid.UUID
    data_source_name: str
    version: int
    latest_version: int
    recipe: Recipe
    revision: int
    created_by: str
    updated_at: datetime
    can_edit: bool


@dataclass(frozen=True)
class SessionState:
    """A session with its materialised cursor frame described (the frame itself stays in the cache)."""

    info: SessionInfo
    frame_key: str
    statuses: list[StepStatus]  # one per step; steps past the cursor are "pending"
    rows: int
    columns: int
    schema: dict[str, str]


# ------------------------------------------------------------------------------------------------ rows


def _validate_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("name", "Give the session a name.")
    if len(name) > NAME_MAX:
        raise InvalidInput("name", f"Names can be at most {NAME_MAX} characters long.")
    return name


def _row(db: Session, project_id: uuid.UUID, session_id) -> StudioSession:
    sid = parse_id(session_id, "Studio session")
    row = db.exec(
        select(StudioSession).where(StudioSession.id == sid, StudioSession.project_id == project_id)
    ).first()
    if row is None:
        raise NotFound("Studio session not found.")
    return row


def _info(db: Session, row: StudioSession, role: str) -> SessionInfo:
    source = db.get(DataSource, row.data_source_id)
    author = db.get(User, row.created_by) if row.created_by else None
    return SessionInfo(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        data_source_id=row.data_source_id,
        data_source_name=source.name if source else "(deleted)",
        version=row.data_source_version,
        latest_version=source.current_version if source else row.data_source_version,
        recipe=Recipe.from_json(row.recipe_json),
        revision=row.revision,
        created_by=(author.display_name or author.username) if author else "(removed user)",
        updated_at=as_utc(row.updated_at),
        can_edit=role in ("owner", "editor"),
    )


def _read(actor: UserInfo, project_id, session_id) -> SessionInfo:
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        return _info(db, _row(db, member.project_id, session_id), member.role)


# ------------------------------------------------------------------------------------------------ listing


def create_session(actor: UserInfo, project_id, data_source_id, name: str = "") -> SessionInfo:
    """A new, empty session on the newest version of a data source linked to the project (editor)."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="start studio sessions")
    file = datasources.version_file(actor, project_id, data_source_id)
    with session_scope() as db:
        count = len(
            db.exec(
                select(StudioSession.id).where(
                    StudioSession.project_id == member.project_id,
                    StudioSession.data_source_id == file.data_source_id,
                )
            ).all()
        )
        row = StudioSession(
            project_id=member.project_id,
            data_source_id=file.data_source_id,
            data_source_version=file.version,
            name=_validate_name(name or f"{file.name} – session {count + 1}"),
            recipe_json=Recipe().to_json(),
            created_by=actor.id,
            updated_by=actor.id,
        )
        db.add(row)
        db.flush()
        return _info(db, row, member.role)


def list_sessions(actor: UserInfo, project_id, data_source_id=None) -> list[SessionInfo]:
    """Sessions of the project (or of one of its data sources), most recently changed first (viewer)."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        query = select(StudioSession).where(StudioSession.project_id == member.project_id)
        if data_source_id is not None:
            query = query.where(StudioSession.data_source_id == parse_id(data_source_id, "Data source"))
        rows = db.exec(query.order_by(StudioSession.updated_at.desc())).all()
        return [_info(db, row, member.role) for row in rows]


def get_session(actor: UserInfo, project_id, session_id) -> SessionInfo:
    return _read(actor, project_id, session_id)


def rename_session(actor: UserInfo, project_id, session_id, name: str) -> SessionInfo:
    name = _validate_name(name)
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="rename studio sessions")
        row = _row(db, member.project_id, session_id)
        row.name = name
        row.updated_by = actor.id
        db.add(row)
        db.flush()
        return _info(db, row, member.role)


def duplicate_session(actor: UserInfo, project_id, session_id, name: str = "") -> SessionInfo:
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="copy studio sessions")
        row = _row(db, member.project_id, session_id)
        copy = StudioSession(
            project_id=row.project_id,
            data_source_id=row.data_source_id,
            data_source_version=row.data_source_version,
            name=_validate_name(name or f"{row.name} (copy)"[:NAME_MAX]),
            recipe_json=row.recipe_json,
            created_by=actor.id,
            updated_by=actor.id,
        )
        db.add(copy)
        db.flush()
        return _info(db, copy, member.role)


def delete_session(actor: UserInfo, project_id, session_id) -> None:
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="delete studio sessions")
        row = _row(db, member.project_id, session_id)
        db.delete(row)
        sid = row.id
    shutil.rmtree(checkpoint_dir(sid), ignore_errors=True)


# ------------------------------------------------------------------------------------------------ frames


def _base(
    actor: UserInfo, info: SessionInfo
) -> tuple[str, Callable[[], pd.DataFrame], datasources.VersionFile]:
    file = datasources.version_file(actor, info.project_id, info.data_source_id, info.version)
    return f"{file.version_id}:{file.sha256}", lambda: pd.read_parquet(file.path), file


def _context(actor: UserInfo, project_id: uuid.UUID) -> Context:
    def load(data_source_id: str, version: int) -> pd.DataFrame:
        file = datasources.version_file(actor, project_id, data_source_id, version)
        key = f"source:{file.version_id}:{file.sha256}"
        cached = engine.frame_cache().get(key)
        if cached is None:
            cached = pd.read_parquet(file.path)
            engine.frame_cache().put(key, cached)
        return cached

    return Context(load_source=load)


def _materialize(actor: UserInfo, info: SessionInfo, steps: tuple[Step, ...]) -> engine.Materialized:
    base_key, load_base, _ = _base(actor, info)
    return engine.materialize(
        base_key, load_base, steps, _context(actor, info.project_id), checkpoint_dir(info.id)
    )


def _state(actor: UserInfo, info: SessionInfo) -> SessionState:
    done = _materialize(actor, info, info.recipe.applied)
    pending = [StepStatus(s.id, "pending") for s in info.recipe.steps[info.recipe.cursor :]]
    return SessionState(
        info=info,
        frame_key=done.key,
        statuses=done.statuses + pending,
        rows=len(done.frame),
        columns=done.frame.shape[1],
        schema=schema_of(done.frame),
    )


def open_session(actor: UserInfo, project_id, session_id) -> SessionState:
    """The session at its cursor, materialised (from the cache, a checkpoint, or a replay)."""
    return _state(actor, _read(actor, project_id, session_id))


def cursor_frame(actor: UserInfo, project_id, session_id) -> tuple[SessionInfo, pd.DataFrame, str]:
    info = _read(actor, project_id, session_id)
    done = _materialize(actor, info, info.recipe.applied)
    return info, done.frame, done.key


def page(
    actor: UserInfo,
    project_id,
    session_id,
    spec: view.ViewSpec,
    offset: int = 0,
    limit: int = 50,
    column_offset: int = 0,
    column_limit: int = 50,
) -> view.ViewPage:
    _, frame, key = cursor_frame(actor, project_id, session_id)
    try:
        return view.view_page(frame, key, spec, offset, limit, column_offset, column_limit)
    except ValueError as error:
        raise InvalidInput("view", str(error)) from None


def column_profile(actor: UserInfo, project_id, session_id, column: str) -> dict:
    _, frame, _ = cursor_frame(actor, project_id, session_id)
    if column not in frame.columns:
        raise InvalidInput("column", f"There is no column named {column!r} at this step.")
    return profile.column_profile(frame, column)


# ------------------------------------------------------------------------------------------------ changes


def _save(
    actor: UserInfo,
    project_id,
    session_id,
    expected_revision: int,
    change: Callable[[SessionInfo], SessionInfo],
) -> SessionInfo:
    """Apply ``change`` to the session as last seen at ``expected_revision`` and save it atomically."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="change studio sessions")
        row = _row(db, member.project_id, session_id)
        current = _info(db, row, member.role)
    if current.revision != expected_revision:
        raise Conflict(STALE_MESSAGE)
    changed = change(current)
    with session_scope() as db:
        # Compare-and-set on the revision: of two concurrent changes exactly one wins, on SQLite and PostgreSQL.
        result = db.exec(
            sa.update(StudioSession)
            .where(StudioSession.id == current.id, StudioSession.revision == expected_revision)
            .values(
                recipe_json=changed.recipe.to_json(),
                data_source_version=changed.version,
                revision=expected_revision + 1,
                updated_by=actor.id,
                updated_at=utcnow(),
            )
        )
        if result.rowcount != 1:
            raise Conflict(STALE_MESSAGE)
        return _info(db, _row(db, current.project_id, current.id), member.role)


def _with_recipe(info: SessionInfo, recipe: Recipe) -> SessionInfo:
    return replace(info, recipe=recipe)


def add_step(
    actor: UserInfo, project_id, session_id, expected_revision: int, op: str, params: dict, discard_redo=False
) -> SessionState:
    """Validate the step against the cursor frame, apply it once (a step that fails is refused), save."""
    step = new_step(op, params)

    def change(info: SessionInfo) -> SessionInfo:
        recipe = info.recipe.add(step, discard_redo=discard_redo)
        done = _materialize(actor, info, info.recipe.applied)
        errors = step.operation().validate(schema_of(done.frame))
        if errors:
            raise InvalidInput(errors[0].param, errors[0].message)
        frame, status = engine.apply_new_step(step, done.frame, _context(actor, info.project_id))
        if status.state != "applied":
            raise InvalidInput("", status.reason)
        base_key, _, _ = _base(actor, info)
        engine.remember(base_key, recipe.applied, frame, [*done.statuses, status], checkpoint_dir(info.id))
        return _with_recipe(info, recipe)

    return _state(actor, _save(actor, project_id, session_id, expected_revision, change))


def _recipe_change(
    actor, project_id, session_id, expected_revision, how: Callable[[Recipe], Recipe]
) -> SessionState:
    info = _save(actor, project_id, session_id, expected_revision, lambda i: _with_recipe(i, how(i.recipe)))
    return _state(actor, info)


def undo(actor: UserInfo, project_id, session_id, expected_revision: int) -> SessionState:
    return _recipe_change(actor, project_id, session_id, expected_revision, lambda r: r.undo())


def redo(actor: UserInfo, project_id, session_id, expected_revision: int) -> SessionState:
    return _recipe_change(actor, project_id, session_id, expected_revision, lambda r: r.redo())


def jump(actor: UserInfo, project_id, session_id, expected_revision: int, cursor: int) -> SessionState:
    return _recipe_change(actor, project_id, session_id, expected_revision, lambda r: r.jump(cursor))


def toggle_step(
    actor: UserInfo, project_id, session_id, expected_revision: int, step_id: str
) -> SessionState:
    return _recipe_change(actor, project_id, session_id, expected_revision, lambda r: r.toggle(step_id))


def delete_step(
    actor: UserInfo, project_id, session_id, expected_revision: int, step_id: str
) -> SessionState:
    return _recipe_change(actor, project_id, session_id, expected_revision, lambda r: r.delete(step_id))


def move_step(
    actor: UserInfo, project_id, session_id, expected_revision: int, step_id: str, offset: int
) -> SessionState:
    return _recipe_change(actor, project_id, session_id, expected_revision, lambda r: r.move(step_id, offset))


def edit_step(
    actor: UserInfo, project_id, session_id, expected_revision: int, step_id: str, params: dict
) -> SessionState:
    """New parameters for a past step, validated against the frame that step receives; later steps re-run."""

    def change(info: SessionInfo) -> SessionInfo:
        recipe = info.recipe.edit(step_id, params)
        index = recipe.index_of(step_id)
        before = _materialize(actor, info, recipe.steps[:index])
        errors = recipe.steps[index].operation().validate(schema_of(before.frame))
        if errors:
            raise InvalidInput(errors[0].param, errors[0].message)
        return _with_recipe(info, recipe)

    return _state(actor, _save(actor, project_id, session_id, expected_revision, change))


def replay_on_version(
    actor: UserInfo, project_id, session_id, expected_revision: int, version: int | None = None
) -> SessionState:
    """Point the session at another (by default the newest) version of its data source and replay the recipe.

    Steps that no longer fit are marked broken with their reason in the returned statuses; nothing is removed.
    """

    def change(info: SessionInfo) -> SessionInfo:
        file = datasources.version_file(actor, project_id, info.data_source_id, version)
        return replace(info, version=file.version)

    return _state(actor, _save(actor, project_id, session_id, expected_revision, change))


# ------------------------------------------------------------------------------------------------ results


def _filename(text: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text.strip().lower())
    return "_".join(part for part in safe.split("_") if part) or "data"


def _script_text(actor: UserInfo, project_id, name: str, file, steps: tuple[Step, ...], statuses) -> str:
    others = {}
    for ref in other_source_refs(steps):
        other = datasources.version_file(actor, project_id, ref["data_source_id"], int(ref["version"]))
        others[source_key(ref)] = f"{_filename(other.name)}_v{other.version}.parquet"
    source = ScriptSource(
        f"{file.name}, version {file.version}", f"{_filename(file.name)}_v{file.version}.parquet", file.sha256
    )
    return recipe_script(name, source, steps, statuses, others)


def script(actor: UserInfo, project_id, session_id) -> tuple[str, str]:
    """(file name, the recipe up to the cursor as a pandas script)."""
    info = _read(actor, project_id, session_id)
    done = _materialize(actor, info, info.recipe.applied)
    _, _, file = _base(actor, info)
    text = _script_text(actor, project_id, info.name, file, info.recipe.applied, done.statuses)
    return f"{_filename(info.name)}.py", text


def save_as_data_source(actor: UserInfo, project_id, session_id, name: str, description: str = ""):
    """The frame at the cursor as a new data source (kind "derived") with its lineage: parent version + recipe."""
    info = _read(actor, project_id, session_id)
    with session_scope() as db:
        require_role(db, actor, project_id, "editor", action="save data sources")
    done = _materialize(actor, info, info.recipe.applied)
    _, _, file = _base(actor, info)
    lineage = Recipe(steps=info.recipe.applied, cursor=info.recipe.cursor).to_json()
    return datasources.create_from_frame(
        actor,
        project_id,
        name,
        done.frame,
        description=description
        or f"From the studio session {info.name!r} on {file.name} version {file.version}.",
        parent_version_id=file.version_id,
        recipe_json=lineage,
    )


# ------------------------------------------------------------------------------------------------ pinned recipes


@dataclass(frozen=True)
class PinnedRecipe:
    """A session's result frozen for training: its data source version and its recipe up to the cursor, so a
    run stays reproducible after the session moves on (or is deleted)."""

    session_id: str
    session_name: str
    data_source_id: str
    data_source_name: str
    version: int
    recipe_json: str
    revision: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def pin_recipe(actor: UserInfo, project_id, session_id) -> PinnedRecipe:
    """The session as it stands now, pinned (viewer)."""
    info = _read(actor, project_id, session_id)
    applied = Recipe(steps=info.recipe.applied, cursor=len(info.recipe.applied))
    return PinnedRecipe(
        session_id=str(info.id),
        session_name=info.name,
        data_source_id=str(info.data_source_id),
        data_source_name=info.data_source_name,
        version=info.version,
        recipe_json=applied.to_json(),
        revision=info.revision,
    )


def pinned_result(actor: UserInfo, project_id, pin: dict) -> tuple[pd.DataFrame, str, str]:
    """(frame, pandas script, data file sha256) of a pinned recipe, replayed from its data source version
    (the frame cache and the session's checkpoints are reused when the session still exists)."""
    pid = parse_id(project_id)
    file = datasources.version_file(actor, pid, pin["data_source_id"], int(pin["version"]))
    steps = Recipe.from_json(pin["recipe_json"]).applied
    done = engine.materialize(
        f"{file.version_id}:{file.sha256}",
        lambda: pd.read_parquet(file.path),
        steps,
        _context(actor, pid),
        checkpoint_dir(parse_id(pin["session_id"], "Studio session")),
    )
    text = _script_text(
        actor, pid, str(pin.get("session_name") or "studio session"), file, steps, done.statuses
    )
    return done.frame, text, file.sha256


CHARTS = ("histogram", "box", "scatter", "time_series", "missing")


def chart(actor: UserInfo, project_id, session_id, kind: str, x: str = "", y: str = "", group: str = ""):
    """A Plotly figure of the cursor frame (small: the data is binned or downsampled on the server)."""
    _, frame, _ = cursor_frame(actor, project_id, session_id)
    need = {"histogram": "x", "box": "x", "scatter": "x and y", "time_series": "x (time) and y"}.get(kind, "")
    missing_choice = ("x" in need and not x) or ("y" in need and not y)
    if kind not in CHARTS or missing_choice:
        raise InvalidInput(
            "chart", f"Choose the chart's columns: {need}." if need else "Choose a chart type."
        )
    try:
        if kind == "histogram":
            return charts.histogram(frame, x)
        if kind == "box":
            return charts.box_plot(frame, [x], group_by=group or None)
        if kind == "scatter":
            return charts.scatter(frame, x, y)
        if kind == "time_series":
            return charts.time_series(frame, x, [y], group_by=group or None)
        return charts.missing_matrix(frame)
    except ValueError as error:
        raise InvalidInput("chart", str(error)) from None


def export_result(actor: UserInfo, project_id, session_id, fmt: str) -> tuple[str, str, Path]:
    """(file name, media type, a temporary Parquet file of the cursor frame) for a streamed download.

    The caller streams it with `tables.export_chunks` and deletes the file afterwards.
    """
    if fmt not in tables.EXPORT_FORMATS:
        raise InvalidInput("format", f"Choose one of: {', '.join(tables.EXPORT_FORMATS)}.")
    info, frame, _ = cursor_frame(actor, project_id, session_id)
    folder = get_settings().data_dir / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"studio-{uuid.uuid4().hex}.parquet"
    frame.to_parquet(path, index=False)
    media_type, suffix = tables.EXPORT_FORMATS[fmt]
    return f"{_filename(info.name)}_step{info.recipe.cursor}{suffix}", media_type, path


def session_count(user_id: uuid.UUID) -> int:
    """Studio sessions in the projects the user belongs to (for the dashboard)."""
    with session_scope() as db:
        return db.exec(
            select(sa.func.count(StudioSession.id))
            .join(ProjectMember, ProjectMember.project_id == StudioSession.project_id)
            .where(ProjectMember.user_id == user_id)
        ).one()
