"""Projects: the list, one project's overview, members and settings."""

from __future__ import annotations

import asyncio

import reflex as rx

from hydroml.services import datasources, projects
from hydroml.services.errors import InvalidInput, NotFound, ServiceError
from hydroml.services.studio import sessions
from hydroml.state.auth import AuthState
from hydroml.state.formatting import count, size, when

SORTS = {"updated": "Recently updated", "name": "Name", "created": "Recently created"}


def _project_row(info: projects.ProjectInfo) -> dict[str, str]:
    return {
        "id": str(info.id),
        "name": info.name,
        "description": info.description,
        "role": info.role,
        "members": count(info.member_count),
        "data_sources": count(info.data_source_count),
        "updated": when(info.updated_at),
    }


class ProjectsState(AuthState):
    projects: list[dict[str, str]] = []
    loaded: bool = False
    search: str = ""
    sort: str = "updated"
    create_open: bool = False
    name_error: str = ""
    description_error: str = ""

    def _refresh(self) -> None:
        user = self._require_user()
        self.projects = [_project_row(p) for p in projects.list_projects(user, self.search, self.sort)]
        self.loaded = True

    @rx.event
    def load(self):
        try:
            self._refresh()
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    def set_search(self, value: str):
        self.search = str(value)[:100]
        try:
            self._refresh()
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    def set_sort(self, value: str):
        self.sort = value if value in SORTS else "updated"
        try:
            self._refresh()
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    def set_create_open(self, value: bool):
        self.create_open = bool(value)
        self.name_error = self.description_error = ""

    @rx.event
    def create(self, form_data: dict):
        self.name_error = self.description_error = ""
        try:
            user = self._require_user()
            info = projects.create_project(
                user, str(form_data.get("name", "")), str(form_data.get("description", ""))
            )
        except InvalidInput as error:
            if error.field == "description":
                self.description_error = error.message
            else:
                self.name_error = error.message
            return
        except ServiceError as error:
            return self._fail(error)
        self.create_open = False
        return [rx.redirect(f"/projects/{info.id}"), rx.toast.success(f"Project “{info.name}” created.")]


class ProjectState(AuthState):
    """One project, read through the `project_id` in the URL. Every handler re-checks the user's role."""

    project_id: str = ""
    name: str = ""
    description: str = ""
    role: str = ""
    loaded: bool = False
    data_sources: list[dict[str, str]] = []
    members: list[dict[str, str]] = []
    studio_sessions: list[dict[str, str]] = []
    member_error: str = ""
    settings_name_error: str = ""
    settings_description_error: str = ""
    impact: str = ""

    @rx.var
    def can_edit(self) -> bool:
        return self.role in ("owner", "editor")

    @rx.var
    def is_owner(self) -> bool:
        return self.role == "owner"

    def _current(self):
        """The user and the project id from the URL; loads the project (raises NotFound for outsiders)."""
        user = self._require_user()
        project_id = self._route_id("project_id") or self.project_id
        info = projects.get_project(user, project_id)
        self.project_id = str(info.id)
        self.name, self.description, self.role = info.name, info.description, info.role
        self.loaded = True
        return user, info.id

    def _reset_project(self) -> None:
        self.project_id = self.name = self.description = self.role = ""
        self.data_sources, self.members, self.studio_sessions, self.loaded = [], [], [], False

    def _not_found(self, error: ServiceError):
        self._reset_project()
        return [rx.toast.error(str(error)), rx.redirect("/projects")]

    @rx.event
    def load_overview(self):
        self._reset_project()
        try:
            user, project_id = self._current()
            self.data_sources = [
                {
                    "id": str(ds.id),
                    "name": ds.name,
                    "role": ds.role,
                    "version": str(ds.version),
                    "rows": count(ds.rows),
                    "columns": count(ds.columns),
                    "size": size(ds.size_bytes),
                    "updated": when(ds.updated_at),
                }
                for ds in datasources.list_data_sources(user, project_id)
            ]
        except NotFound as error:
            return self._not_found(error)
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    async def load_sessions(self):
        """The project's studio sessions, newest change first (viewer)."""
        self._reset_project()
        try:
            user, project_id = self._current()
            found = await asyncio.to_thread(sessions.list_sessions, user, project_id)
        except NotFound as error:
            return self._not_found(error)
        except ServiceError as error:
            return self._fail(error)
        self.studio_sessions = [
            {
                "href": f"/projects/{project_id}/studio/{info.id}",
                "name": info.name,
                "source": f"{info.data_source_name} (v{info.version})",
                "steps": f"{info.recipe.cursor} of {len(info.recipe.steps)}",
                "author": info.created_by,
                "updated": when(info.updated_at),
            }
            for info in found
        ]

    @rx.event
    def load_members(self):
        self._reset_project()
        self.member_error = ""
        try:
            self._load_members()
        except NotFound as error:
            return self._not_found(error)
        except ServiceError as error:
            return self._fail(error)

    def _load_members(self) -> None:
        user, project_id = self._current()
        self.members = [
            {
                "user_id": str(m.user_id),
                "username": m.username,
                "display_name": m.display_name,
                "role": m.role,
                "joined": when(m.joined_at),
                "is_me": "yes" if m.user_id == user.id else "",
            }
            for m in projects.list_members(user, project_id)
        ]

    @rx.event
    def add_member(self, form_data: dict):
        self.member_error = ""
        try:
            user, project_id = self._current()
            added = projects.add_member(
                user, project_id, str(form_data.get("username", "")), str(form_data.get("role", "viewer"))
            )
            self._load_members()
        except InvalidInput as error:
            self.member_error = error.message
            return
        except ServiceError as error:
            return self._fail(error)
        return rx.toast.success(f"{added.username} added as {added.role}.")

    @rx.event
    def change_role(self, user_id: str, role: str):
        try:
            user, project_id = self._current()
            changed = projects.change_role(user, project_id, user_id, role)
            self._load_members()
        except ServiceError as error:
            return self._fail(error)
        return rx.toast.success(f"{changed.username} is now {changed.role}.")

    @rx.event
    def remove_member(self, user_id: str):
        try:
            user, project_id = self._current()
            leaving = str(user.id) == user_id
            projects.remove_member(user, project_id, user_id)
            if leaving:
                self._reset_project()
                return [rx.redirect("/projects"), rx.toast.info("You left the project.")]
            self._load_members()
        except ServiceError as error:
            return self._fail(error)
        return rx.toast.success("Member removed.")

    @rx.event
    def load_settings(self):
        self._reset_project()
        self.settings_name_error = self.settings_description_error = ""
        try:
            user, project_id = self._current()
            if self.role == "owner":
                impact = projects.deletion_impact(user, project_id)
                self.impact = (
                    f"{impact.data_sources_deleted} data source(s) used only here will be deleted with their files; "
                    f"{impact.data_sources_unlinked} shared with other projects will stay there; "
                    f"{impact.members} member(s) lose access."
                )
        except NotFound as error:
            return self._not_found(error)
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    def save_settings(self, form_data: dict):
        self.settings_name_error = self.settings_description_error = ""
        try:
            user, project_id = self._current()
            info = projects.update_project(
                user,
                project_id,
                name=str(form_data.get("name", "")),
                description=str(form_data.get("description", "")),
            )
        except InvalidInput as error:
            if error.field == "description":
                self.settings_description_error = error.message
            else:
                self.settings_name_error = error.message
            return
        except ServiceError as error:
            return self._fail(error)
        self.name, self.description = info.name, info.description
        return rx.toast.success("Project saved.")

    @rx.event
    def delete_project(self):
        try:
            user, project_id = self._current()
            projects.delete_project(user, project_id)
        except ServiceError as error:
            return self._fail(error)
        name = self.name
        self._reset_project()
        return [rx.redirect("/projects"), rx.toast.success(f"Project “{name}” deleted.")]
