"""The studio sessions of one data source, listed on its page: start, resume, rename, duplicate, delete."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from hydroml.services.errors import InvalidInput, ServiceError
from hydroml.services.studio import sessions
from hydroml.state.auth import AuthState
from hydroml.state.formatting import when


@dataclasses.dataclass
class SessionRow:
    id: str = ""
    name: str = ""
    steps: str = ""
    version: str = ""
    author: str = ""
    updated: str = ""
    href: str = ""


class StudioSessionsState(AuthState):
    session_rows: list[SessionRow] = []
    sessions_error: str = ""

    def _ids(self):
        return self._require_user(), self._route_id("project_id"), self._route_id("data_source_id")

    def _rows(self, infos: list[sessions.SessionInfo]) -> None:
        self.session_rows = [
            SessionRow(
                id=str(info.id),
                name=info.name,
                steps=f"step {info.recipe.cursor} of {len(info.recipe.steps)}",
                version=str(info.version),
                author=info.created_by,
                updated=when(info.updated_at),
                href=f"/projects/{info.project_id}/studio/{info.id}",
            )
            for info in infos
        ]

    async def _refresh(self):
        user, project_id, data_source_id = self._ids()
        self._rows(await asyncio.to_thread(sessions.list_sessions, user, project_id, data_source_id))

    @rx.event
    async def load_sessions(self):
        self.sessions_error = ""
        try:
            await self._refresh()
        except ServiceError as error:
            self.session_rows = []
            return self._fail(error)

    @rx.event
    async def new_session(self):
        try:
            user, project_id, data_source_id = self._ids()
            info = await asyncio.to_thread(sessions.create_session, user, project_id, data_source_id)
        except ServiceError as error:
            return self._fail(error)
        return rx.redirect(f"/projects/{project_id}/studio/{info.id}")

    @rx.event
    async def rename_session(self, form_data: dict):
        self.sessions_error = ""
        try:
            user, project_id, _ = self._ids()
            await asyncio.to_thread(
                sessions.rename_session,
                user,
                project_id,
                str(form_data.get("id", "")),
                str(form_data.get("name", "")),
            )
            await self._refresh()
        except InvalidInput as error:
            self.sessions_error = error.message
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    async def duplicate_session(self, session_id: str):
        try:
            user, project_id, _ = self._ids()
            await asyncio.to_thread(sessions.duplicate_session, user, project_id, session_id)
            await self._refresh()
        except ServiceError as error:
            return self._fail(error)
        return rx.toast.success("Session copied.")

    @rx.event
    async def delete_session(self, session_id: str):
        try:
            user, project_id, _ = self._ids()
            await asyncio.to_thread(sessions.delete_session, user, project_id, session_id)
            await self._refresh()
        except ServiceError as error:
            return self._fail(error)
        return rx.toast.success("Session deleted.")
