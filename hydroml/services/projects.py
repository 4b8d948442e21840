"""Projects and their members.

Roles per project: owner (everything, members, delete) > editor (data, studio, experiments) > viewer (read
only). Every call checks the actor's role with `require_role`; a project the actor is not a member of is
"not found", whether or not it exists, so ids never reveal anything.

Deleting a project deletes its members and data-source links. Data sources linked only to that project are
deleted with their versions, and their folder under `data_dir/datasources/<id>` is removed once the
transaction has committed (a rollback never leaves rows pointing at deleted files).
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, func, select

from hydroml.db import session_scope, utcnow
from hydroml.models import (
    DataSource,
    DataSourceVersion,
    Project,
    ProjectDataSource,
    ProjectMember,
    StudioSession,
    User,
)
from hydroml.services import studio
from hydroml.services.auth import UserInfo, as_utc, normalize_username
from hydroml.services.errors import Forbidden, InvalidInput, NotFound
from hydroml.settings import get_settings

ROLES = ("owner", "editor", "viewer")  # rank owner > editor > viewer
DATA_SOURCE_ROLES = ("primary", "secondary", "reference")
SORTS = ("updated", "name", "created")
NAME_MAX = 120
DESCRIPTION_MAX = 2000

_RANK = {"owner": 3, "editor": 2, "viewer": 1}
_WHO = {"owner": "owners", "editor": "editors and owners", "viewer": "project members"}


@dataclass(frozen=True)
class ProjectInfo:
    id: uuid.UUID
    name: str
    description: str
    role: str  # the actor's role in this project
    member_count: int
    data_source_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MemberInfo:
    user_id: uuid.UUID
    username: str
    display_name: str
    role: str
    joined_at: datetime


@dataclass(frozen=True)
class DeletionImpact:
    data_sources_deleted: int  # linked only to this project: rows and files go
    data_sources_unlinked: int  # also linked to other projects: only the link goes
    members: int


# ---------------------------------------------------------------- ids, roles, validation


def parse_id(value: uuid.UUID | str, what: str = "Project") -> uuid.UUID:
    """A UUID from a URL or a form; anything malformed is simply 'not found'."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, TypeError, AttributeError):
        raise NotFound(f"{what} not found.") from None


def require_role(
    db: Session, actor: UserInfo, project_id: uuid.UUID | str, minimum: str, *, action: str = "do this"
) -> ProjectMember:
    """The actor's membership, if their role is at least `minimum`.

    Not a member, unknown or malformed id: NotFound("Project not found."). Role too low: Forbidden, naming the
    role needed, e.g. "Only owners can delete this project. Your role is viewer."
    """
    if minimum not in _RANK:
        raise ValueError(f"unknown role {minimum!r}; use one of {ROLES}")
    pid = parse_id(project_id)
    member = db.exec(
        select(ProjectMember).where(ProjectMember.project_id == pid, ProjectMember.user_id == actor.id)
    ).first()
    if member is None:
        raise NotFound("Project not found.")
    if _RANK.get(member.role, 0) < _RANK[minimum]:
        raise Forbidden(f"Only {_WHO[minimum]} can {action}. Your role is {member.role}.")
    return member


def validate_name(name: str) -> str:
    value = (name or "").strip()
    if not value:
        raise InvalidInput("name", "Give the project a name.")
    if len(value) > NAME_MAX:
        raise InvalidInput(
            "name", f"Project names can be at most {NAME_MAX} characters long; this one has {len(value)}."
        )
    return value


def validate_description(description: str) -> str:
    value = (description or "").strip()
    if len(value) > DESCRIPTION_MAX:
        raise InvalidInput(
            "description",
            f"Descriptions can be at most {DESCRIPTION_MAX} characters long; this one has {len(value)}.",
        )
    return value


def validate_role(role: str) -> str:
    value = (role or "").strip().lower()
    if value not in _RANK:
        raise InvalidInput("role", f"Choose a role: {', '.join(ROLES)}.")
    return value


# ---------------------------------------------------------------- queries


def _member_count():
    return (
        select(func.count(ProjectMember.id))
        .where(ProjectMember.project_id == Project.id)
        .correlate(Project)
        .scalar_subquery()
    )


def _data_source_count():
    return (
        select(func.count(ProjectDataSource.id))
        .where(ProjectDataSource.project_id == Project.id)
        .correlate(Project)
        .scalar_subquery()
    )


def _project_rows(user_id: uuid.UUID):
    """Select (Project, role, member count, data source count) for the projects the user is a member of."""
    return (
        select(Project, ProjectMember.role, _member_count(), _data_source_count())
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user_id)
    )


def _to_info(row) -> ProjectInfo:
    project, role, members, sources = row
    return ProjectInfo(
        id=project.id,
        name=project.name,
        description=project.description,
        role=role,
        member_count=int(members or 0),
        data_source_count=int(sources or 0),
        created_at=as_utc(project.created_at),
        updated_at=as_utc(project.updated_at),
    )


def _info(db: Session, actor: UserInfo, project_id: uuid.UUID) -> ProjectInfo:
    db.flush()
    row = db.exec(_project_rows(actor.id).where(Project.id == project_id)).one()
    return _to_info(row)


def _lock_project(db: Session, project_id: uuid.UUID) -> Project:
    """The project row, locked until commit on PostgreSQL: membership changes of one project run one at a time,
    so two owners demoting each other at once cannot leave it without an owner."""
    project = db.exec(select(Project).where(Project.id == project_id).with_for_update()).first()
    if project is None:  # deleted between the membership check and now
        raise NotFound("Project not found.")
    return project


def _touch(db: Session, project: Project) -> None:
    project.updated_at = utcnow()
    db.add(project)


def _member_info(member: ProjectMember, user: User) -> MemberInfo:
    return MemberInfo(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=member.role,
        joined_at=as_utc(member.created_at),
    )


def _owner_count(db: Session, project_id: uuid.UUID) -> int:
    return db.exec(
        select(func.count(ProjectMember.id)).where(
            ProjectMember.project_id == project_id, ProjectMember.role == "owner"
        )
    ).one()


def _find_member(db: Session, project_id: uuid.UUID, user_id: uuid.UUID | str) -> tuple[ProjectMember, User]:
    uid = parse_id(user_id, "Member")
    row = db.exec(
        select(ProjectMember, User)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project_id, ProjectMember.user_id == uid)
    ).first()
    if row is None:
        raise NotFound("Member not found.")
    return row[0], row[1]


# ---------------------------------------------------------------- projects


def create_project(actor: UserInfo, name: str, description: str = "") -> ProjectInfo:
    """A new project; its creator becomes its owner."""
    clean_name = validate_name(name)
    clean_description = validate_description(description)
    with session_scope() as db:
        project = Project(name=clean_name, description=clean_description)
        db.add(project)
        db.flush()
        db.add(ProjectMember(project_id=project.id, user_id=actor.id, role="owner"))
        return _info(db, actor, project.id)


def list_projects(actor: UserInfo, search: str = "", sort: str = "updated") -> list[ProjectInfo]:
    """The projects the actor is a member of.

    `search` matches a case-insensitive substring of the name or description. `sort`: "updated" (newest
    first), "name" (A-Z, case-insensitive) or "created" (newest first).
    """
    if sort not in SORTS:
        raise InvalidInput("sort", f"Sort by one of: {', '.join(SORTS)}.")
    term = (search or "").strip().lower()
    with session_scope() as db:
        query = _project_rows(actor.id)
        if term:
            query = query.where(
                sa.or_(
                    func.lower(Project.name).contains(term, autoescape=True),
                    func.lower(Project.description).contains(term, autoescape=True),
                )
            )
        order = {
            "updated": (Project.updated_at.desc(), Project.created_at.desc()),
            "name": (func.lower(Project.name), Project.created_at.desc()),
            "created": (Project.created_at.desc(),),
        }[sort]
        query = query.order_by(*order, Project.id)
        return [_to_info(row) for row in db.exec(query).all()]


def get_project(actor: UserInfo, project_id: uuid.UUID | str) -> ProjectInfo:
    """Any member may read a project."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        return _info(db, actor, member.project_id)


def update_project(
    actor: UserInfo,
    project_id: uuid.UUID | str,
    *,
    name: str | None = None,
    description: str | None = None,
) -> ProjectInfo:
    """Rename or re-describe a project (owners only). A field left as None is kept."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "owner", action="change this project")
        clean_name = validate_name(name) if name is not None else None
        clean_description = validate_description(description) if description is not None else None
        project = _lock_project(db, member.project_id)
        if clean_name is not None:
            project.name = clean_name
        if clean_description is not None:
            project.description = clean_description
        if clean_name is not None or clean_description is not None:
            _touch(db, project)
        return _info(db, actor, project.id)


def _impact(db: Session, project_id: uuid.UUID) -> tuple[list[uuid.UUID], list[uuid.UUID], int]:
    """(data sources linked only to this project, data sources also linked elsewhere, member count)."""
    linked = list(
        db.exec(select(ProjectDataSource.data_source_id).where(ProjectDataSource.project_id == project_id))
    )
    shared = set()
    if linked:
        shared = set(
            db.exec(
                select(ProjectDataSource.data_source_id)
                .where(
                    ProjectDataSource.data_source_id.in_(linked),
                    ProjectDataSource.project_id != project_id,
                )
                .distinct()
            )
        )
    exclusive = sorted((ds for ds in linked if ds not in shared), key=str)
    members = db.exec(
        select(func.count(ProjectMember.id)).where(ProjectMember.project_id == project_id)
    ).one()
    return exclusive, sorted(shared, key=str), members


def deletion_impact(actor: UserInfo, project_id: uuid.UUID | str) -> DeletionImpact:
    """What `delete_project` would remove (owners only), for the confirmation dialog."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "owner", action="delete this project")
        exclusive, shared, members = _impact(db, member.project_id)
        return DeletionImpact(len(exclusive), len(shared), members)


def delete_project(actor: UserInfo, project_id: uuid.UUID | str) -> DeletionImpact:
    """Delete a project (owners only), its members and links, and the data sources only it uses.

    Data sources also linked to other projects are only unlinked. Folders of deleted data sources are removed
    after the commit; a folder that cannot be removed is left behind rather than failing the call.
    """
    with session_scope() as db:
        member = require_role(db, actor, project_id, "owner", action="delete this project")
        pid = member.project_id
        _lock_project(db, pid)
        exclusive, shared, members = _impact(db, pid)
        session_ids = list(db.exec(select(StudioSession.id).where(StudioSession.project_id == pid)).all())
        db.exec(delete(StudioSession).where(StudioSession.project_id == pid))
        db.exec(delete(ProjectDataSource).where(ProjectDataSource.project_id == pid))
        if exclusive:
            # Versions may point at each other (parent_version_id): clear that first, then delete.
            db.exec(
                sa.update(DataSourceVersion)
                .where(DataSourceVersion.data_source_id.in_(exclusive))
                .values(parent_version_id=None)
            )
            db.exec(delete(DataSourceVersion).where(DataSourceVersion.data_source_id.in_(exclusive)))
            db.exec(delete(DataSource).where(DataSource.id.in_(exclusive)))
        db.exec(delete(ProjectMember).where(ProjectMember.project_id == pid))
        db.exec(delete(Project).where(Project.id == pid))
        impact = DeletionImpact(len(exclusive), len(shared), members)
    studio.remove_session_files(session_ids)
    root = get_settings().data_dir / "datasources"
    for data_source_id in exclusive:
        shutil.rmtree(root / str(data_source_id), ignore_errors=True)
    return impact


# ---------------------------------------------------------------- members


def list_members(actor: UserInfo, project_id: uuid.UUID | str) -> list[MemberInfo]:
    """Any member may see the members: owners first, then by user name (case-insensitive)."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        rows = db.exec(
            select(ProjectMember, User)
            .join(User, User.id == ProjectMember.user_id)
            .where(ProjectMember.project_id == member.project_id)
            .order_by(sa.case((ProjectMember.role == "owner", 0), else_=1), User.username_key)
        ).all()
        return [_member_info(m, u) for m, u in rows]


def add_member(actor: UserInfo, project_id: uuid.UUID | str, username: str, role: str) -> MemberInfo:
    """Add an existing user to the project with a role (owners only)."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "owner", action="add members")
        clean_role = validate_role(role)
        name = normalize_username(username)
        if not name:
            raise InvalidInput("username", "Enter the user name of the person to add.")
        user = db.exec(select(User).where(User.username_key == name.lower())).first()
        if user is None or not user.is_active:
            raise InvalidInput("username", f"There is no user named '{name}'.")
        project = _lock_project(db, member.project_id)
        exists = db.exec(
            select(ProjectMember.id).where(
                ProjectMember.project_id == project.id, ProjectMember.user_id == user.id
            )
        ).first()
        if exists is not None:
            raise InvalidInput("username", f"'{user.username}' is already a member of this project.")
        added = ProjectMember(project_id=project.id, user_id=user.id, role=clean_role)
        db.add(added)
        _touch(db, project)
        try:
            db.flush()
        except IntegrityError:  # added by someone else at the same moment
            raise InvalidInput(
                "username", f"'{user.username}' is already a member of this project."
            ) from None
        return _member_info(added, user)


def change_role(
    actor: UserInfo, project_id: uuid.UUID | str, user_id: uuid.UUID | str, role: str
) -> MemberInfo:
    """Give a member another role (owners only). The last owner cannot be demoted."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "owner", action="change member roles")
        clean_role = validate_role(role)
        project = _lock_project(db, member.project_id)
        target, user = _find_member(db, project.id, user_id)
        if target.role == clean_role:
            return _member_info(target, user)
        if target.role == "owner" and _owner_count(db, project.id) <= 1:
            raise InvalidInput(
                "role",
                "A project needs at least one owner. Make another member an owner first.",
            )
        target.role = clean_role
        db.add(target)
        _touch(db, project)
        db.flush()
        return _member_info(target, user)


def remove_member(actor: UserInfo, project_id: uuid.UUID | str, user_id: uuid.UUID | str) -> None:
    """Owners remove members; any member may remove themself (leave). The last owner can do neither."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        leaving = parse_id(user_id, "Member") == actor.id
        if not leaving:
            require_role(db, actor, project_id, "owner", action="remove other members")
        project = _lock_project(db, member.project_id)
        target, _user = _find_member(db, project.id, user_id)
        if target.role == "owner" and _owner_count(db, project.id) <= 1:
            if leaving:
                message = (
                    "You are the only owner of this project. Make another member an owner before you "
                    "leave, or delete the project."
                )
            else:
                message = "This member is the only owner of the project. Make another member an owner first."
            raise InvalidInput("user", message)
        db.delete(target)
        _touch(db, project)


def project_count(user_id: uuid.UUID) -> int:
    """How many projects the user is a member of (for the dashboard)."""
    with session_scope() as db:
        return db.exec(select(func.count(ProjectMember.id)).where(ProjectMember.user_id == user_id)).one()
