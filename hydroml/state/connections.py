"""Database connections of a project: the list (add, edit, delete, test) and one connection's schema browser.

Passwords go one way only: from the form to the service. `ConnectionInfo` never holds one, and the edit form
starts with an empty password field ("leave empty to keep"), so no password is ever sent back to the browser.
"""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from hydroml.services import projects
from hydroml.services.connectors import connections, schema
from hydroml.services.connectors.connections import KIND_LABELS, SSL_MODES
from hydroml.services.errors import InvalidInput, NotFound, ServiceError
from hydroml.state.auth import AuthState
from hydroml.state.formatting import count, when
from hydroml.state.projects import ProjectState

KIND_OPTIONS = [(kind, KIND_LABELS[kind]) for kind in ("postgresql", "mysql", "sqlite")]
SSL_OPTIONS = [("", "Default")] + [(mode, mode) for mode in SSL_MODES["postgresql"]]
FORM_FIELDS = ("name", "kind", "host", "port", "database", "username", "password", "sslmode")
NO_ERRORS = {name: "" for name in (*FORM_FIELDS, "form")}


def _form(**values: str) -> dict[str, str]:
    """Every form key present (the page reads them all), the password never."""
    return {name: str(values.get(name, "")) for name in FORM_FIELDS if name != "password"}


@dataclasses.dataclass
class ConnectionRow:
    id: str = ""
    name: str = ""
    kind: str = ""
    kind_label: str = ""
    target: str = ""
    host: str = ""
    port: str = ""
    database: str = ""
    username: str = ""
    sslmode: str = ""
    has_password: bool = False
    tested: str = ""
    test_status: str = ""  # ok | failed | "" (never tested)
    message: str = ""  # the outcome of a test run during this visit
    testing: bool = False


@dataclasses.dataclass
class TableRow:
    name: str = ""
    kind: str = ""
    rows: str = ""


@dataclasses.dataclass
class ColumnRow:
    name: str = ""
    type: str = ""
    nullable: str = ""


def _target(info: connections.ConnectionInfo) -> str:
    if info.kind == "sqlite":
        return info.database
    port = f":{info.port}" if info.port else ""
    return f"{info.host}{port}/{info.database}"


def _row(info: connections.ConnectionInfo) -> ConnectionRow:
    status = "" if info.last_test_ok is None else ("ok" if info.last_test_ok else "failed")
    return ConnectionRow(
        id=str(info.id),
        name=info.name,
        kind=info.kind,
        kind_label=info.kind_label,
        target=_target(info),
        host=info.host,
        port=str(info.port or ""),
        database=info.database,
        username=info.username,
        sslmode=info.options.get("sslmode", ""),
        has_password=info.has_password,
        tested=when(info.last_tested_at) if info.last_tested_at else "never",
        test_status=status,
    )


async def load_project_frame(state: AuthState, user) -> str:
    """Fills the project frame (`ProjectState`: name, role) for the project in the URL; raises NotFound."""
    frame = await state.get_state(ProjectState)
    frame._reset_project()
    info = await asyncio.to_thread(projects.get_project, user, state._route_id("project_id"))
    frame.project_id = str(info.id)
    frame.name, frame.description, frame.role = info.name, info.description, info.role
    frame.loaded = True
    return frame.project_id


def _not_found(error: ServiceError, to: str = "/projects"):
    return [rx.toast.error(str(error)), rx.redirect(to)]


class ConnectionsState(AuthState):
    """The connections page of a project. Every handler re-checks the user and the project in the URL."""

    connections: list[ConnectionRow] = []
    role: str = ""
    loaded: bool = False
    # the add / edit form; `editing_id` is "" when adding
    form_open: bool = False
    editing_id: str = ""
    form: dict[str, str] = _form(kind="postgresql")
    form_has_password: bool = False
    errors: dict[str, str] = NO_ERRORS
    # test outcomes of this visit, by connection id (backend only; shown through the rows)
    _testing: set[str] = set()
    _test_messages: dict[str, str] = {}

    @rx.var
    def can_edit(self) -> bool:
        return self.role in ("owner", "editor")

    @rx.var
    def form_kind(self) -> str:
        return self.form.get("kind", "postgresql")

    @rx.var
    def editing(self) -> bool:
        return self.editing_id != ""

    async def _refresh(self, user, project_id: str) -> None:
        infos = await asyncio.to_thread(connections.list_connections, user, project_id)
        self.connections = [_row(info) for info in infos]
        self._show_tests()

    def _show_tests(self) -> None:
        self.connections = [
            dataclasses.replace(
                row, message=self._test_messages.get(row.id, ""), testing=row.id in self._testing
            )
            for row in self.connections
        ]

    async def _current(self):
        user = self._require_user()
        project_id = await load_project_frame(self, user)
        self.role = (await self.get_state(ProjectState)).role
        return user, project_id

    @rx.event
    async def load(self):
        self.connections, self.role, self.loaded = [], "", False
        self.form_open, self.errors = False, NO_ERRORS
        self._testing, self._test_messages = set(), {}
        try:
            user, project_id = await self._current()
            await self._refresh(user, project_id)
        except NotFound as error:
            return _not_found(error)
        except ServiceError as error:
            return self._fail(error)
        self.loaded = True

    @rx.event
    def open_new(self):
        self.editing_id, self.errors, self.form_has_password = "", NO_ERRORS, False
        self.form = _form(kind="postgresql")
        self.form_open = True

    @rx.event
    def open_edit(self, connection_id: str):
        row = next((r for r in self.connections if r.id == connection_id), None)
        if row is None:
            return rx.toast.error(connections.NOT_FOUND)
        self.editing_id, self.errors = row.id, NO_ERRORS
        self.form_has_password = row.has_password
        self.form = _form(
            name=row.name,
            kind=row.kind,
            host=row.host,
            port=row.port,
            database=row.database,
            username=row.username,
            sslmode=row.sslmode,
        )
        self.form_open = True

    @rx.event
    def set_form_open(self, value: bool):
        self.form_open = bool(value)
        if not self.form_open:
            self.errors = NO_ERRORS

    @rx.event
    def set_form_kind(self, kind: str):
        self.form = {**self.form, "kind": str(kind)}
        self.errors = NO_ERRORS

    @rx.event
    async def save(self, form_data: dict):
        self.errors = NO_ERRORS
        values = {name: str(form_data.get(name, "") or "") for name in FORM_FIELDS}
        kind = values["kind"] or self.form_kind
        password = values.pop("password")
        sslmode = values.pop("sslmode")
        # kept (without the password) so that a failed save shows what was typed
        self.form = _form(**{**values, "kind": kind, "sslmode": sslmode})
        fields = {
            "name": values["name"],
            "kind": kind,
            "host": values["host"],
            "port": values["port"],
            "database": values["database"],
            "username": values["username"],
            "options": {} if kind == "sqlite" else {"sslmode": sslmode},
        }
        try:
            user, project_id = await self._current()
            if self.editing_id:
                info = await asyncio.to_thread(
                    connections.update_connection,
                    user,
                    project_id,
                    self.editing_id,
                    password=password or None,
                    **fields,
                )
            else:
                info = await asyncio.to_thread(
                    connections.create_connection, user, project_id, password=password, **fields
                )
            await self._refresh(user, project_id)
        except InvalidInput as error:
            field = "sslmode" if error.field == "options" else error.field
            self.errors = {**NO_ERRORS, (field if field in FORM_FIELDS else "form"): error.message}
            return
        except NotFound as error:
            return _not_found(error)
        except ServiceError as error:
            return self._fail(error)
        verb = "saved" if self.editing_id else "added"
        self.form_open, self.form, self.editing_id = False, _form(kind="postgresql"), ""
        self._test_messages = {k: v for k, v in self._test_messages.items() if k != str(info.id)}
        self._show_tests()
        return rx.toast.success(f"Connection “{info.name}” {verb}.")

    @rx.event
    async def delete(self, connection_id: str):
        try:
            user, project_id = await self._current()
            await asyncio.to_thread(connections.delete_connection, user, project_id, connection_id)
            await self._refresh(user, project_id)
        except NotFound as error:
            return _not_found(error)
        except ServiceError as error:
            return self._fail(error)
        return rx.toast.success("Connection deleted.")

    @rx.event
    async def test(self, connection_id: str):
        """Connects once in a worker thread; the row shows a spinner meanwhile (any member)."""
        connection_id = str(connection_id)
        if connection_id in self._testing:
            return
        self._testing = self._testing | {connection_id}
        self._show_tests()
        yield
        try:
            user = self._require_user()
            project_id = self._route_id("project_id")
            result = await asyncio.to_thread(connections.test_connection, user, project_id, connection_id)
            self._test_messages = {**self._test_messages, connection_id: result.message}
            self._testing = self._testing - {connection_id}
            await self._refresh(user, project_id)
        except ServiceError as error:
            self._testing = self._testing - {connection_id}
            self._show_tests()
            yield self._fail(error)


class ConnectionBrowserState(AuthState):
    """One connection's page: schemas, tables with kind and estimated rows, a table's columns and preview.

    Only the first `schema.PREVIEW_ROWS` rows of the chosen table are ever held here.
    """

    connection_id: str = ""
    connection_name: str = ""
    kind_label: str = ""
    target: str = ""
    loaded: bool = False
    schemas: list[str] = []
    schema_name: str = ""
    tables: list[TableRow] = []
    tables_loading: bool = False
    table_name: str = ""
    columns: list[ColumnRow] = []
    preview_columns: list[str] = []
    preview_rows: list[list[str]] = []
    table_loading: bool = False
    browse_error: str = ""
    query_href: str = ""

    def _reset_table(self) -> None:
        self.table_name, self.columns, self.preview_columns, self.preview_rows = "", [], [], []

    def _ids(self):
        return self._require_user(), self._route_id("project_id"), self._route_id("connection_id")

    async def _list_tables(self, user, project_id: str, connection_id: str) -> None:
        self._reset_table()
        found = await asyncio.to_thread(
            schema.list_tables, user, project_id, connection_id, self.schema_name or None
        )
        self.tables = [
            TableRow(
                name=t.name,
                kind=t.kind,
                rows="" if t.estimated_rows is None else "≈ " + count(t.estimated_rows),
            )
            for t in found
        ]

    @rx.event
    async def load(self):
        self.connection_id = self.connection_name = self.kind_label = self.target = self.query_href = ""
        self.schemas, self.schema_name, self.tables, self.browse_error, self.loaded = [], "", [], "", False
        self._reset_table()
        try:
            user, project_id, connection_id = self._ids()
            await load_project_frame(self, user)
            info = await asyncio.to_thread(connections.get_connection, user, project_id, connection_id)
        except NotFound as error:
            back = "/projects"
            if str(error) == connections.NOT_FOUND:
                back = f"/projects/{self._route_id('project_id')}/connections"
            yield _not_found(error, back)
            return
        except ServiceError as error:
            yield self._fail(error)
            return
        self.connection_id, self.connection_name = str(info.id), info.name
        self.query_href = f"/projects/{project_id}/connections/{info.id}/query"
        self.kind_label, self.target = info.kind_label, _target(info)
        self.loaded = True
        self.tables_loading = True
        yield
        try:
            self.schemas = await asyncio.to_thread(schema.list_schemas, user, project_id, connection_id)
            preferred = [info.database, "public", "main"] if info.kind != "sqlite" else ["main"]
            self.schema_name = next((s for s in preferred if s in self.schemas), "")
            if not self.schema_name and self.schemas:
                self.schema_name = self.schemas[0]
            await self._list_tables(user, project_id, connection_id)
        except ServiceError as error:
            self.browse_error = str(error)
        finally:
            self.tables_loading = False

    @rx.event
    async def select_schema(self, name: str):
        self.browse_error = ""
        self.schema_name = str(name)
        self.tables, self.tables_loading = [], True
        yield
        try:
            await self._list_tables(*self._ids())
        except ServiceError as error:
            self.tables, self.browse_error = [], str(error)
            yield self._fail(error)
        finally:
            self.tables_loading = False

    @rx.event
    async def select_table(self, name: str):
        self.browse_error = ""
        self._reset_table()
        self.table_name, self.table_loading = str(name), True
        yield
        try:
            user, project_id, connection_id = self._ids()
            target = (user, project_id, connection_id, self.table_name, self.schema_name or None)
            found = await asyncio.to_thread(schema.list_columns, *target)
            columns, rows = await asyncio.to_thread(schema.preview, *target, rows=schema.PREVIEW_ROWS)
        except ServiceError as error:
            self._reset_table()
            self.browse_error = str(error)
            yield self._fail(error)
            return
        finally:
            self.table_loading = False
        self.columns = [ColumnRow(c.name, c.type, "yes" if c.nullable else "no") for c in found]
        self.preview_columns = columns
        self.preview_rows = rows[: schema.PREVIEW_ROWS]
