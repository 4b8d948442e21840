"""The "Database query" card and the "Export to a database table" form of a data source page: refresh a query
data source and export any data source, each as a background job with progress."""

from __future__ import annotations

import asyncio

import reflex as rx

from hydroml.services import datasources, projects
from hydroml.services.connectors import connections, jobs, transfer
from hydroml.services.errors import InvalidInput, NotSignedIn, ServiceError
from hydroml.state.auth import AuthState
from hydroml.state.datasource import DataSourceState
from hydroml.state.formatting import JobProgress, parameter_lines

EXPORT_MODES = [
    ("create", "Create a new table"),
    ("replace", "Replace the table"),
    ("append", "Append to the table"),
]


class ConnectorSourceState(AuthState):
    project_id: str = ""
    data_source_id: str = ""
    role: str = ""
    is_query: bool = False
    recorded_sql: str = ""
    recorded_params: list[str] = []
    recorded_connection: str = ""
    refreshing: bool = False
    refresh_percent: int = 0
    refresh_stage: str = ""
    refresh_error: str = ""
    export_connections: list[dict[str, str]] = []
    export_connection_id: str = ""
    export_table: str = ""
    export_mode: str = "create"
    exporting: bool = False
    export_percent: int = 0
    export_stage: str = ""
    export_error: str = ""

    @rx.var
    def can_edit(self) -> bool:
        return self.role in ("owner", "editor")

    def _ids(self):
        user = self._require_user()
        self.project_id = self._route_id("project_id") or self.project_id
        self.data_source_id = self._route_id("data_source_id") or self.data_source_id
        return user

    def _show_recorded(self, settings: dict) -> None:
        self.is_query = True
        self.recorded_sql = str(settings.get("sql") or "")
        self.recorded_params = parameter_lines(settings.get("params") or {})
        self.recorded_connection = str(settings.get("connection_name") or "")

    @rx.event
    async def load_connector(self):
        if self.refreshing or self.exporting:
            return  # a job of this page is running (it may have started before this load): keep its form
        self.is_query, self.recorded_sql, self.recorded_params, self.recorded_connection = False, "", [], ""
        self.refresh_error = self.export_error = self.role = ""
        self.export_connections = []
        try:
            user = self._ids()
            project = await asyncio.to_thread(projects.get_project, user, self.project_id)
            self.role = project.role
            try:
                settings = await asyncio.to_thread(
                    transfer.recorded_query, user, self.project_id, self.data_source_id
                )
                self._show_recorded(settings)
            except InvalidInput:
                pass  # not imported from a database query
            if self.can_edit:
                infos = await asyncio.to_thread(connections.list_connections, user, self.project_id)
                self.export_connections = [
                    {"id": str(i.id), "name": f"{i.name} ({i.kind_label})"} for i in infos
                ]
                ids = [c["id"] for c in self.export_connections]
                if self.export_connection_id not in ids:
                    self.export_connection_id = ids[0] if ids else ""
        except NotSignedIn as error:
            return self._fail(error)
        except ServiceError:
            self.role = ""  # the data source page itself reports it (and redirects)

    @rx.event
    def set_export_connection(self, value: str):
        self.export_connection_id = str(value)

    @rx.event
    def set_export_table(self, value: str):
        self.export_table = str(value)[:200]
        self.export_error = ""

    @rx.event
    def set_export_mode(self, value: str):
        self.export_mode = value if value in transfer.EXPORT_MODES else "create"
        self.export_error = ""

    @rx.event(background=True)
    async def refresh(self):
        async with self:
            if self.refreshing:
                return
            self.refresh_error = ""
            try:
                user = self._ids()
                info, _ = datasources.get_data_source(user, self.project_id, self.data_source_id)
            except ServiceError as error:
                return self._fail(error)
            self.refreshing, self.refresh_percent, self.refresh_stage = True, 0, "Starting"
            project_id, data_source_id = self.project_id, self.data_source_id
        progress = JobProgress("Running the query", expected=info.rows or None)
        task = asyncio.create_task(
            asyncio.to_thread(jobs.run_refresh, user, project_id, data_source_id, progress)
        )
        while not task.done():
            await asyncio.sleep(0.25)
            async with self:
                self.refresh_percent, self.refresh_stage = (
                    progress.percent(self.refresh_percent),
                    progress.label(),
                )
        try:
            renewed = task.result()
        except ServiceError as error:
            async with self:
                self.refreshing, self.refresh_stage = False, ""
                if isinstance(error, NotSignedIn):
                    return self._fail(error)
                self.refresh_error = str(error)
            return
        async with self:
            self.refreshing, self.refresh_percent, self.refresh_stage = False, 100, "Done"
        return [
            rx.toast.success(f"Refreshed: version {renewed.version} holds {renewed.rows:,} rows."),
            DataSourceState.load(),
            ConnectorSourceState.load_connector(),
        ]

    @rx.event(background=True)
    async def run_export(self, form_data: dict | None = None):
        """Submitted as a form, so the table name is what the field shows even if its change is in flight."""
        async with self:
            if self.exporting:
                return
            self.export_error = ""
            if form_data and "table" in form_data:
                self.export_table = str(form_data["table"] or "")[:200]
            try:
                user = self._ids()
                if not self.export_connection_id:
                    raise InvalidInput("connection", "Choose a connection to export to.")
                if not self.export_table.strip():
                    raise InvalidInput("table", "Give the table a name.")
            except NotSignedIn as error:
                return self._fail(error)
            except InvalidInput as error:
                self.export_error = error.message
                return
            self.exporting, self.export_percent, self.export_stage = True, 0, "Starting"
            args = (
                user,
                self.project_id,
                self.data_source_id,
                self.export_connection_id,
                self.export_table.strip(),
                self.export_mode,
            )
        progress = JobProgress("Preparing the table")
        task = asyncio.create_task(asyncio.to_thread(jobs.run_export, *args, progress))
        while not task.done():
            await asyncio.sleep(0.25)
            async with self:
                self.export_percent, self.export_stage = (
                    progress.percent(self.export_percent),
                    progress.label(),
                )
        try:
            result = task.result()
        except ServiceError as error:
            async with self:
                self.exporting, self.export_stage = False, ""
                if isinstance(error, NotSignedIn):
                    return self._fail(error)
                self.export_error = str(error)
            return
        async with self:
            self.exporting, self.export_percent, self.export_stage = False, 100, "Done"
        verb = {"create": "Created", "replace": "Replaced", "append": "Appended to"}[result.mode]
        return rx.toast.success(f"{verb} table {result.table}: {result.rows:,} rows written.")
