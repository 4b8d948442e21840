"""Data sources: staged uploads, preview, import as immutable versions, quality report, paging, download.

Storage (under the data dir):
    uploads/<upload_id>/<file>            staged upload + owner.json (who may use it), removed after import
    datasources/<data_source_id>/v<N>/    data.parquet, original/<file>, quality.json (cache)
Every entry point takes the acting user first and checks the project role: viewers read, editors change.
A data source id that is not linked to a project the user belongs to is "not found".
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from sqlmodel import Session, col, func, select

from hydroml.db import session_scope, utcnow
from hydroml.models import (
    DataSource,
    DataSourceVersion,
    Project,
    ProjectDataSource,
    ProjectMember,
    StudioSession,
)
from hydroml.services import ingest, quality, studio, tables
from hydroml.services.auth import UserInfo, as_utc
from hydroml.services.errors import InvalidInput, NotFound
from hydroml.services.projects import DATA_SOURCE_ROLES, parse_id, require_role, validate_description
from hydroml.settings import get_settings

NAME_MAX = 200
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class DataSourceInfo:
    id: uuid.UUID
    name: str
    description: str
    kind: str
    role: str  # its role in the project it was read through
    version: int
    rows: int
    columns: int
    size_bytes: int
    original_filename: str | None
    updated_at: datetime


@dataclass(frozen=True)
class VersionInfo:
    version: int
    rows: int
    columns: int
    size_bytes: int
    sha256: str
    original_filename: str | None
    created_at: datetime
    columns_spec: list[dict]
    import_settings: dict
    parent_version_id: uuid.UUID | None
    has_recipe: bool


@dataclass(frozen=True)
class StagedUpload:
    id: str
    original_name: str
    size_bytes: int


# ---------------------------------------------------------------- paths


def _data_dir() -> Path:
    return get_settings().data_dir


def _source_dir(data_source_id: uuid.UUID) -> Path:
    return _data_dir() / "datasources" / str(data_source_id)


def _abs(relative: str) -> Path:
    return _data_dir() / relative


def _rel(path: Path) -> str:
    return str(path.relative_to(_data_dir()))


# ---------------------------------------------------------------- lookups


def _validate_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("name", "Give the data source a name.")
    if len(name) > NAME_MAX:
        raise InvalidInput("name", f"Names can be at most {NAME_MAX} characters long.")
    return name


def _linked(db: Session, project_id: uuid.UUID, data_source_id: uuid.UUID | str) -> tuple[DataSource, str]:
    ds_id = parse_id(data_source_id, "Data source")
    row = db.exec(
        select(DataSource, ProjectDataSource.role)
        .join(ProjectDataSource, ProjectDataSource.data_source_id == DataSource.id)
        .where(ProjectDataSource.project_id == project_id, DataSource.id == ds_id)
    ).first()
    if row is None:
        raise NotFound("Data source not found.")
    return row[0], row[1]


def _version(db: Session, source: DataSource, version: int | None = None) -> DataSourceVersion:
    number = version or source.current_version
    found = db.exec(
        select(DataSourceVersion).where(
            DataSourceVersion.data_source_id == source.id, DataSourceVersion.version == number
        )
    ).first()
    if found is None:
        raise NotFound(f"Version {number} of this data source does not exist.")
    return found


def _info(source: DataSource, role: str, version: DataSourceVersion | None) -> DataSourceInfo:
    return DataSourceInfo(
        id=source.id,
        name=source.name,
        description=source.description,
        kind=source.kind,
        role=role,
        version=source.current_version,
        rows=version.row_count if version else 0,
        columns=version.column_count if version else 0,
        size_bytes=version.size_bytes if version else 0,
        original_filename=version.original_filename if version else None,
        updated_at=as_utc(source.updated_at),
    )


def _version_info(version: DataSourceVersion) -> VersionInfo:
    return VersionInfo(
        version=version.version,
        rows=version.row_count,
        columns=version.column_count,
        size_bytes=version.size_bytes,
        sha256=version.sha256,
        original_filename=version.original_filename,
        created_at=as_utc(version.created_at),
        columns_spec=json.loads(version.columns_json),
        import_settings=json.loads(version.import_settings_json or "{}"),
        parent_version_id=version.parent_version_id,
        has_recipe=version.recipe_json is not None,
    )


# ---------------------------------------------------------------- staging and preview


def stage_upload(actor: UserInfo, project_id, source: BinaryIO, filename: str) -> StagedUpload:
    """Stream an uploaded file to the staging folder (editor). Enforces HYDROML_MAX_UPLOAD_MB while copying."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
        project = member.project_id
    settings = get_settings()
    _prune_stale_uploads(settings.data_dir / "uploads")
    staged = ingest.stage_upload(
        source, filename, settings.data_dir / "uploads", max_bytes=settings.max_upload_mb * 1024 * 1024
    )
    upload_id = staged.path.parent.name
    (staged.path.parent / "owner.json").write_text(
        json.dumps({"user_id": str(actor.id), "project_id": str(project), "file": staged.path.name})
    )
    return StagedUpload(upload_id, staged.original_name, staged.size_bytes)


STALE_UPLOAD_SECONDS = 24 * 3600


def _prune_stale_uploads(folder: Path) -> None:
    """Uploads previewed but never imported are removed after a day."""
    if not folder.is_dir():
        return
    cutoff = time.time() - STALE_UPLOAD_SECONDS
    for entry in folder.iterdir():
        try:
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def _staged_file(actor: UserInfo, project_id: uuid.UUID, upload_id: str) -> tuple[Path, str]:
    try:
        uuid.UUID(str(upload_id))  # only a well-formed id can name a folder (no path tricks)
        folder = _data_dir() / "uploads" / str(upload_id)
        meta = json.loads((folder / "owner.json").read_text())
    except (ValueError, OSError):
        raise NotFound("This upload has expired or does not exist. Upload the file again.") from None
    if meta.get("user_id") != str(actor.id) or meta.get("project_id") != str(project_id):
        raise NotFound("This upload has expired or does not exist. Upload the file again.")
    return folder / meta["file"], meta["file"]


def discard_upload(actor: UserInfo, project_id, upload_id: str) -> None:
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
    path, _ = _staged_file(actor, member.project_id, upload_id)
    shutil.rmtree(path.parent, ignore_errors=True)


def preview_upload(
    actor: UserInfo, project_id, upload_id: str, settings: ingest.ImportSettings | None = None
) -> ingest.Preview:
    """Detected (or the given) settings, a type per column and the first 100 rows."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
    path, name = _staged_file(actor, member.project_id, upload_id)
    return ingest.preview(path, settings or ingest.detect_settings(path, name))


# ---------------------------------------------------------------- import


def _import_version(
    path: Path, settings: ingest.ImportSettings, target: Path, progress: Progress | None
) -> ingest.ImportResult:
    """Parquet plus its quality report, computed now so the data source page opens at once."""
    target.mkdir(parents=True, exist_ok=True)
    result = ingest.import_to_parquet(path, settings, target / "data.parquet", progress)
    if progress:
        progress(1.0, "Profiling the columns")
    _cached_quality(result.parquet_path)
    return result


def _import_with_original(
    path: Path, settings: ingest.ImportSettings, folder: Path, progress: Progress | None
) -> tuple[ingest.ImportResult, Path]:
    """Import a staged upload into a version folder and keep the original file beside it."""
    result = _import_version(path, settings, folder, progress)
    original = folder / "original" / path.name
    original.parent.mkdir(parents=True)
    shutil.move(str(path), original)
    return result, original


def _cached_quality(parquet: Path) -> dict:
    cache = parquet.with_name("quality.json")
    if cache.exists():
        return json.loads(cache.read_text())
    report = quality.quality_report(parquet)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(report))
    tmp.replace(cache)
    return report


def _add_version(
    db: Session,
    actor: UserInfo,
    source: DataSource,
    version: int,
    result: ingest.ImportResult,
    *,
    original: Path | None,
    original_name: str | None,
    settings_json: str,
    parent_version_id: uuid.UUID | None = None,
    recipe_json: str | None = None,
) -> DataSourceVersion:
    row = DataSourceVersion(
        data_source_id=source.id,
        version=version,
        parquet_path=_rel(result.parquet_path),
        original_path=_rel(original) if original else None,
        original_filename=original_name,
        sha256=result.sha256,
        row_count=result.rows,
        column_count=len(result.columns),
        size_bytes=result.size_bytes,
        columns_json=json.dumps(result.columns),
        import_settings_json=settings_json,
        parent_version_id=parent_version_id,
        recipe_json=recipe_json,
        created_by=actor.id,
    )
    db.add(row)
    source.current_version = version
    source.updated_at = utcnow()
    db.add(source)
    return row


@contextmanager
def _removed_on_error(folder: Path) -> Iterator[None]:
    """All or nothing: a failure anywhere inside leaves no version folder behind."""
    try:
        yield
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _validate_role(role: str) -> str:
    if role not in DATA_SOURCE_ROLES:
        raise InvalidInput("role", f"The role must be one of: {', '.join(DATA_SOURCE_ROLES)}.")
    return role


def _create_source(
    db: Session,
    actor: UserInfo,
    project_id: uuid.UUID,
    source: DataSource,
    role: str,
    result: ingest.ImportResult,
    *,
    original: Path | None = None,
    original_name: str | None = None,
    settings_json: str = "{}",
    parent_version_id: uuid.UUID | None = None,
    recipe_json: str | None = None,
) -> DataSourceInfo:
    """A new data source row with its first version, linked to the project."""
    db.add(source)
    db.flush()
    row = _add_version(
        db,
        actor,
        source,
        1,
        result,
        original=original,
        original_name=original_name,
        settings_json=settings_json,
        parent_version_id=parent_version_id,
        recipe_json=recipe_json,
    )
    db.add(ProjectDataSource(project_id=project_id, data_source_id=source.id, role=role))
    db.flush()
    return _info(source, role, row)


def import_upload(
    actor: UserInfo,
    project_id,
    upload_id: str,
    settings: ingest.ImportSettings,
    name: str,
    *,
    role: str = "primary",
    progress: Progress | None = None,
) -> DataSourceInfo:
    """Import a staged upload exactly as previewed into a new data source (editor). All or nothing."""
    name = _validate_name(name)
    _validate_role(role)
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
    project = member.project_id
    path, original_name = _staged_file(actor, project, upload_id)
    source_id = uuid.uuid4()
    with _removed_on_error(_source_dir(source_id)):
        result, original = _import_with_original(path, settings, _source_dir(source_id) / "v1", progress)
        with session_scope() as db:
            require_role(db, actor, project, "editor")
            source = DataSource(id=source_id, name=name, kind="upload", created_by=actor.id)
            info = _create_source(
                db,
                actor,
                project,
                source,
                role,
                result,
                original=original,
                original_name=original_name,
                settings_json=settings.to_json(),
            )
    shutil.rmtree(path.parent, ignore_errors=True)
    return info


def import_new_version(
    actor: UserInfo,
    project_id,
    data_source_id,
    upload_id: str,
    settings: ingest.ImportSettings,
    *,
    progress: Progress | None = None,
) -> DataSourceInfo:
    """Add a new version from a staged upload (editor); earlier versions stay available."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
        source, _ = _linked(db, member.project_id, data_source_id)
        next_version = source.current_version + 1
        source_id = source.id
    project = member.project_id
    path, original_name = _staged_file(actor, project, upload_id)
    folder = _source_dir(source_id) / f"v{next_version}"
    with _removed_on_error(folder):
        result, original = _import_with_original(path, settings, folder, progress)
        with session_scope() as db:
            require_role(db, actor, project, "editor")
            source, role = _linked(db, project, source_id)
            if source.current_version + 1 != next_version:
                raise InvalidInput("file", "Someone added a version at the same time. Upload the file again.")
            row = _add_version(
                db,
                actor,
                source,
                next_version,
                result,
                original=original,
                original_name=original_name,
                settings_json=settings.to_json(),
            )
            db.flush()
            info = _info(source, role, row)
    shutil.rmtree(path.parent, ignore_errors=True)
    return info


def create_from_frame(
    actor: UserInfo,
    project_id,
    name: str,
    frame: pd.DataFrame,
    *,
    role: str = "primary",
    description: str = "",
    parent_version_id: uuid.UUID | None = None,
    recipe_json: str | None = None,
) -> DataSourceInfo:
    """A data source from an in-memory frame (demo data; studio results with their lineage: kind "derived")."""
    name = _validate_name(name)
    _validate_role(role)
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
    source_id = uuid.uuid4()
    folder = _source_dir(source_id) / "v1"
    with _removed_on_error(_source_dir(source_id)):
        folder.mkdir(parents=True)
        # Through the same import path as uploads, so columns, types and fingerprint are computed one way.
        staged = folder / "frame.parquet"
        frame.to_parquet(staged, index=False)
        result = _import_version(staged, ingest.ImportSettings(format="parquet"), folder, None)
        staged.unlink()
        with session_scope() as db:
            kind = "derived" if recipe_json is not None else "upload"
            source = DataSource(
                id=source_id, name=name, description=description, kind=kind, created_by=actor.id
            )
            return _create_source(
                db,
                actor,
                member.project_id,
                source,
                role,
                result,
                parent_version_id=parent_version_id,
                recipe_json=recipe_json,
            )


ParquetWriter = Callable[[Path], ingest.ImportResult]


def create_from_writer(
    actor: UserInfo,
    project_id,
    name: str,
    write: ParquetWriter,
    *,
    kind: str,
    settings_json: str = "{}",
    role: str = "primary",
    description: str = "",
) -> DataSourceInfo:
    """A data source whose first version is the Parquet file ``write(target)`` produces at ``target`` (editor,
    checked before and after writing). Used by connectors to stream a query result straight into place."""
    name = _validate_name(name)
    _validate_role(role)
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
    project = member.project_id
    source_id = uuid.uuid4()
    folder = _source_dir(source_id) / "v1"
    with _removed_on_error(_source_dir(source_id)):
        folder.mkdir(parents=True)
        result = write(folder / "data.parquet")
        _cached_quality(result.parquet_path)
        with session_scope() as db:
            require_role(db, actor, project, "editor")
            source = DataSource(
                id=source_id, name=name, description=description, kind=kind, created_by=actor.id
            )
            return _create_source(db, actor, project, source, role, result, settings_json=settings_json)


def add_version_from_writer(
    actor: UserInfo, project_id, data_source_id, write: ParquetWriter, *, settings_json: str = "{}"
) -> DataSourceInfo:
    """A new version of a data source from the Parquet file ``write(target)`` produces (editor)."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
        source, _ = _linked(db, member.project_id, data_source_id)
        next_version = source.current_version + 1
        source_id = source.id
    project = member.project_id
    folder = _source_dir(source_id) / f"v{next_version}"
    with _removed_on_error(folder):
        folder.mkdir(parents=True)
        result = write(folder / "data.parquet")
        _cached_quality(result.parquet_path)
        with session_scope() as db:
            require_role(db, actor, project, "editor")
            source, role = _linked(db, project, source_id)
            if source.current_version + 1 != next_version:
                raise InvalidInput("version", "Someone added a version at the same time. Try again.")
            row = _add_version(
                db,
                actor,
                source,
                next_version,
                result,
                original=None,
                original_name=None,
                settings_json=settings_json,
            )
            db.flush()
            return _info(source, role, row)


# ---------------------------------------------------------------- reading


def list_data_sources(actor: UserInfo, project_id) -> list[DataSourceInfo]:
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        rows = db.exec(
            select(DataSource, ProjectDataSource.role, DataSourceVersion)
            .join(ProjectDataSource, ProjectDataSource.data_source_id == DataSource.id)
            .outerjoin(
                DataSourceVersion,
                (DataSourceVersion.data_source_id == DataSource.id)
                & (DataSourceVersion.version == DataSource.current_version),
            )
            .where(ProjectDataSource.project_id == member.project_id)
            .order_by(col(DataSource.updated_at).desc())
        ).all()
        return [_info(source, role, version) for source, role, version in rows]


def get_data_source(actor: UserInfo, project_id, data_source_id) -> tuple[DataSourceInfo, list[VersionInfo]]:
    """The data source and its versions, newest first (viewer)."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        source, role = _linked(db, member.project_id, data_source_id)
        versions = db.exec(
            select(DataSourceVersion)
            .where(DataSourceVersion.data_source_id == source.id)
            .order_by(col(DataSourceVersion.version).desc())
        ).all()
        current = next((v for v in versions if v.version == source.current_version), None)
        return _info(source, role, current), [_version_info(v) for v in versions]


def _parquet(actor: UserInfo, project_id, data_source_id, version: int | None) -> Path:
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        source, _ = _linked(db, member.project_id, data_source_id)
        return _abs(_version(db, source, version).parquet_path)


@dataclass(frozen=True)
class VersionFile:
    """Where a version's Parquet file is, for readers that load it whole (the Data Studio)."""

    data_source_id: uuid.UUID
    name: str
    version: int
    version_id: uuid.UUID
    sha256: str
    path: Path
    latest_version: int


def version_file(actor: UserInfo, project_id, data_source_id, version: int | None = None) -> VersionFile:
    """A version of a data source linked to the project (viewer); the newest when ``version`` is None."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        source, _ = _linked(db, member.project_id, data_source_id)
        row = _version(db, source, version)
        return VersionFile(
            data_source_id=source.id,
            name=source.name,
            version=row.version,
            version_id=row.id,
            sha256=row.sha256,
            path=_abs(row.parquet_path),
            latest_version=source.current_version,
        )


def quality_report(actor: UserInfo, project_id, data_source_id, version: int | None = None) -> dict:
    """The quality report of a version, computed once and cached beside its Parquet file (viewer)."""
    return _cached_quality(_parquet(actor, project_id, data_source_id, version))


def read_page(
    actor: UserInfo,
    project_id,
    data_source_id,
    *,
    offset: int = 0,
    limit: int = 50,
    sort: list[tuple[str, bool]] | None = None,
    version: int | None = None,
) -> tables.Page:
    parquet = _parquet(actor, project_id, data_source_id, version)
    try:
        return tables.read_page(parquet, offset=offset, limit=limit, sort=sort)
    except ValueError as error:
        raise InvalidInput("sort", str(error)) from None


def download(
    actor: UserInfo, project_id, data_source_id, fmt: str, version: int | None = None
) -> tuple[str, str, Path]:
    """(file name, media type, parquet path) for an export; the caller streams tables.export_chunks (viewer)."""
    if fmt not in tables.EXPORT_FORMATS:
        raise InvalidInput("format", f"Download formats are: {', '.join(tables.EXPORT_FORMATS)}.")
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        source, _ = _linked(db, member.project_id, data_source_id)
        row = _version(db, source, version)
        media_type, extension = tables.EXPORT_FORMATS[fmt]
        stem = ingest.safe_filename(source.name).rsplit(".", 1)[0] or "data"
        return f"{stem}-v{row.version}{extension}", media_type, _abs(row.parquet_path)


def data_source_count(user_id: uuid.UUID) -> int:
    """Distinct data sources in the projects the user belongs to (for the dashboard)."""
    with session_scope() as db:
        return db.exec(
            select(func.count(func.distinct(ProjectDataSource.data_source_id)))
            .join(ProjectMember, ProjectMember.project_id == ProjectDataSource.project_id)
            .where(ProjectMember.user_id == user_id)
        ).one()


def link_targets(actor: UserInfo, project_id, data_source_id) -> list[tuple[uuid.UUID, str]]:
    """Projects (id, name) where the actor is an editor or owner and this data source is not used yet."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        source, _ = _linked(db, member.project_id, data_source_id)
        used = select(ProjectDataSource.project_id).where(ProjectDataSource.data_source_id == source.id)
        rows = db.exec(
            select(Project.id, Project.name)
            .join(ProjectMember, ProjectMember.project_id == Project.id)
            .where(
                ProjectMember.user_id == actor.id,
                col(ProjectMember.role).in_(("owner", "editor")),
                col(Project.id).not_in(used),
            )
            .order_by(func.lower(Project.name))
        ).all()
        return [(row[0], row[1]) for row in rows]


# ---------------------------------------------------------------- changes


def update_data_source(
    actor: UserInfo, project_id, data_source_id, *, name: str | None = None, description: str | None = None
) -> DataSourceInfo:
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
        source, role = _linked(db, member.project_id, data_source_id)
        if name is not None:
            source.name = _validate_name(name)
        if description is not None:
            source.description = validate_description(description)
        source.updated_at = utcnow()
        db.add(source)
        db.flush()
        return _info(source, role, _version(db, source))


def delete_data_source(actor: UserInfo, project_id, data_source_id) -> bool:
    """Remove a data source from the project (editor). Returns True when it was deleted everywhere, False
    when other projects still use it and it was only unlinked from this one."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
        source, _ = _linked(db, member.project_id, data_source_id)
        links = db.exec(select(ProjectDataSource).where(ProjectDataSource.data_source_id == source.id)).all()
        # This project's studio sessions on the source go with it (other projects keep theirs).
        sessions = db.exec(
            select(StudioSession).where(
                StudioSession.project_id == member.project_id, StudioSession.data_source_id == source.id
            )
        ).all()
        session_ids = [s.id for s in sessions]
        for session in sessions:
            db.delete(session)
        for link in links:
            if link.project_id == member.project_id:
                db.delete(link)
        if len(links) > 1:
            studio.remove_session_files(session_ids)
            return False
        for version in db.exec(
            select(DataSourceVersion).where(DataSourceVersion.data_source_id == source.id)
        ):
            db.delete(version)
        db.flush()
        db.delete(source)
        source_id = source.id
    studio.remove_session_files(session_ids)
    shutil.rmtree(_source_dir(source_id), ignore_errors=True)
    return True


def link_data_source(actor: UserInfo, project_id, data_source_id, target_project_id, role: str) -> None:
    """Use a data source in another project too (editor in both)."""
    _validate_role(role)
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor")
        source, _ = _linked(db, member.project_id, data_source_id)
        target = require_role(db, actor, target_project_id, "editor")
        exists = db.exec(
            select(func.count()).where(
                ProjectDataSource.project_id == target.project_id,
                ProjectDataSource.data_source_id == source.id,
            )
        ).one()
        if exists:
            raise InvalidInput("project", "That project uses this data source already.")
        db.add(ProjectDataSource(project_id=target.project_id, data_source_id=source.id, role=role))
