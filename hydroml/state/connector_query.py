"""The visual query builder of one database connection (no SQL typed), its raw SQL tab, the preview and the
import as a background job with progress."""

from __future__ import annotations

import asyncio

import reflex as rx

from hydroml.services.connectors import connections, jobs, schema
from hydroml.services.connectors import query as q
from hydroml.services.errors import InvalidInput, NotSignedIn, ServiceError
from hydroml.state.auth import AuthState
from hydroml.state.connections import load_project_frame
from hydroml.state.formatting import JobProgress, parameter_lines
from hydroml.state.projects import ProjectState

OP_LABELS = {
    "=": "equals",
    "!=": "does not equal",
    "<": "less than",
    "<=": "at most",
    ">": "greater than",
    ">=": "at least",
    "between": "between (a, b)",
    "in": "is one of (a, b, …)",
    "not_in": "is none of (a, b, …)",
    "contains": "contains",
    "starts_with": "starts with",
    "is_null": "is empty",
    "not_null": "is not empty",
}
OPS = [(op, OP_LABELS.get(op, op)) for op in q.OPS]
NO_VALUE_OPS = ("is_null", "not_null")
LIST_OPS = ("between", "in", "not_in")
MAX_CONDITIONS = 50
MAX_PARAM_SHOWN = 200  # characters of one parameter's value in the parameters list


def _value(op: str, text: str):
    """A condition's value as the builder takes it: lists split on commas, nothing for the null tests."""
    if op in NO_VALUE_OPS:
        return None
    if op in LIST_OPS:
        return [part.strip() for part in text.split(",") if part.strip() != ""]
    return text


class ConnectorQueryState(AuthState):
    project_id: str = ""
    connection_id: str = ""
    connection_name: str = ""
    dialect: str = ""
    role: str = ""
    mode: str = "builder"  # builder | raw
    tables: list[str] = []
    table: str = ""
    all_columns: list[str] = []
    selected_columns: list[str] = []
    conditions: list[dict[str, str]] = []
    combine: str = "all"  # all (AND) | any (OR)
    order_column: str = ""
    order_descending: bool = False
    limit: str = ""
    raw_sql: str = ""
    generated_sql: str = ""
    generated_params: list[str] = []
    error: str = ""
    preview_columns: list[str] = []
    preview_rows: list[list[str]] = []
    preview_truncated: bool = False
    name: str = ""
    name_error: str = ""
    importing: bool = False
    import_percent: int = 0
    import_stage: str = ""

    @rx.var
    def can_edit(self) -> bool:
        return self.role in ("owner", "editor")

    @rx.var
    def preview_label(self) -> str:
        if not self.preview_columns:
            return ""
        shown = f"{len(self.preview_rows):,} row" + ("" if len(self.preview_rows) == 1 else "s")
        return f"First {shown}; more rows exist." if self.preview_truncated else f"{shown}."

    # ---------------------------------------------------------------- helpers

    def _ids(self):
        user = self._require_user()
        self.project_id = self._route_id("project_id") or self.project_id
        self.connection_id = self._route_id("connection_id") or self.connection_id
        return user

    def spec(self) -> dict | None:
        """The builder's spec, or None while no table is chosen."""
        if not self.table:
            return None
        rules = [
            {"column": c["column"], "op": c["op"], "value": _value(c["op"], c.get("value", ""))}
            for c in self.conditions
            if c.get("column")
        ]
        spec: dict = {"table": self.table, "columns": list(self.selected_columns)}
        if rules:
            spec["where"] = {"combine": self.combine, "rules": rules}
        if self.order_column:
            spec["order"] = [{"column": self.order_column, "descending": self.order_descending}]
        if self.limit.strip():
            spec["limit"] = self.limit.strip()
        return spec

    def _query_args(self) -> dict:
        if self.mode == "raw":
            return {"sql": self.raw_sql}
        spec = self.spec()
        if spec is None:
            raise InvalidInput("table", "Choose a table.")
        return {"spec": spec}

    def _show_sql(self, text: str, params: dict) -> None:
        self.generated_sql = text
        self.generated_params = parameter_lines(params, MAX_PARAM_SHOWN)

    def _clear_preview(self) -> None:
        self.preview_columns, self.preview_rows, self.preview_truncated = [], [], False

    async def _regenerate(self):
        """The live "Generated SQL": built from the spec (values stay parameters), nothing runs."""
        self._clear_preview()
        self.error = ""
        try:
            user = self._ids()
            if self.mode == "raw":
                if not self.raw_sql.strip():
                    self.generated_sql, self.generated_params = "", []
                    return
                args: dict = {"sql": self.raw_sql}
            else:
                spec = self.spec()
                if spec is None:
                    self.generated_sql, self.generated_params = "", []
                    return
                args = {"spec": spec}
            text, params = await asyncio.to_thread(
                jobs.describe, user, self.project_id, self.connection_id, **args
            )
            self._show_sql(text, params)
        except NotSignedIn as error:
            return self._fail(error)
        except InvalidInput as error:
            self.error = error.message
        except ServiceError as error:
            return self._fail(error)

    # ---------------------------------------------------------------- page

    def _reset_builder(self) -> None:
        self.mode, self.table, self.combine, self.order_column, self.limit = "builder", "", "all", "", ""
        self.tables, self.all_columns, self.selected_columns, self.conditions = [], [], [], []
        self.order_descending = False
        self.raw_sql = self.generated_sql = self.error = self.name = self.name_error = ""
        self.generated_params = []
        self.importing, self.import_percent, self.import_stage = False, 0, ""
        self._clear_preview()

    @rx.event
    async def load(self):
        self._reset_builder()
        self.role = self.connection_name = self.dialect = ""
        try:
            user = self._ids()
            self.project_id = await load_project_frame(self, user)  # fills the crumbs (project name)
            self.role = (await self.get_state(ProjectState)).role
            info = await asyncio.to_thread(
                connections.get_connection, user, self.project_id, self.connection_id
            )
            self.connection_name, self.dialect = info.name, info.kind
            tables = await asyncio.to_thread(schema.list_tables, user, self.project_id, self.connection_id)
            self.tables = [t.name for t in tables]
        except NotSignedIn as error:
            return self._fail(error)
        except ServiceError as error:
            if self.role:  # a member: the connection is broken or gone; show it on the page
                self.error = str(error)
                return rx.toast.error(str(error))
            return [rx.toast.error(str(error)), rx.redirect("/projects")]

    @rx.event
    async def set_mode(self, mode: str):
        self.mode = "raw" if mode == "raw" else "builder"
        if self.mode == "raw" and not self.raw_sql and self.generated_sql and not self.generated_params:
            self.raw_sql = self.generated_sql  # a head start (only when it has no parameters to fill in)
        return await self._regenerate()

    @rx.event
    async def set_table(self, table: str):
        self.table = str(table)
        self.all_columns, self.selected_columns, self.conditions = [], [], []
        self.order_column, self.order_descending = "", False
        if not self.table:
            return await self._regenerate()
        try:
            user = self._ids()
            columns = await asyncio.to_thread(
                schema.list_columns, user, self.project_id, self.connection_id, self.table
            )
        except NotSignedIn as error:
            return self._fail(error)
        except ServiceError as error:
            self.error = str(error)
            return
        self.all_columns = [c.name for c in columns]
        self.selected_columns = list(self.all_columns)
        if not self.name:
            self.name = self.table
        return await self._regenerate()

    @rx.event
    async def toggle_column(self, column: str):
        if column not in self.all_columns:
            return
        chosen = set(self.selected_columns) ^ {column}
        self.selected_columns = [c for c in self.all_columns if c in chosen]
        return await self._regenerate()

    @rx.event
    async def select_all_columns(self, everything: bool):
        self.selected_columns = list(self.all_columns) if everything else []
        return await self._regenerate()

    @rx.event
    async def add_condition(self):
        if not self.all_columns or len(self.conditions) >= MAX_CONDITIONS:
            return
        self.conditions = [*self.conditions, {"column": self.all_columns[0], "op": "=", "value": ""}]
        return await self._regenerate()

    @rx.event
    async def set_condition(self, index: int, key: str, value: str):
        if key not in ("column", "op", "value") or not 0 <= int(index) < len(self.conditions):
            return
        if key == "op" and value not in q.OPS:
            return
        rows = [dict(c) for c in self.conditions]
        rows[int(index)][key] = str(value)
        self.conditions = rows
        return await self._regenerate()

    @rx.event
    async def remove_condition(self, index: int):
        self.conditions = [c for i, c in enumerate(self.conditions) if i != int(index)]
        return await self._regenerate()

    @rx.event
    async def set_combine(self, value: str):
        self.combine = "any" if value == "any" else "all"
        return await self._regenerate()

    @rx.event
    async def set_order_column(self, value: str):
        self.order_column = value if value in self.all_columns else ""
        return await self._regenerate()

    @rx.event
    async def set_order_descending(self, value: bool):
        self.order_descending = bool(value)
        return await self._regenerate()

    @rx.event
    async def set_limit(self, value: str):
        self.limit = str(value)[:12]
        return await self._regenerate()

    @rx.event
    async def set_raw_sql(self, value: str):
        self.raw_sql = str(value)[:100_000]
        return await self._regenerate()

    @rx.event
    def set_name(self, value: str):
        self.name = str(value)[:300]
        self.name_error = ""

    @rx.event
    async def preview(self):
        self.error = ""
        self._clear_preview()
        try:
            user = self._ids()
            args = self._query_args()
            text, params, rows = await asyncio.to_thread(
                jobs.preview_query, user, self.project_id, self.connection_id, **args
            )
        except NotSignedIn as error:
            return self._fail(error)
        except InvalidInput as error:
            self.error = error.message
            return
        except ServiceError as error:
            self.error = str(error)
            return
        self._show_sql(text, params)
        self.preview_columns = list(rows.columns)
        self.preview_rows = [[schema.display(v) for v in row] for row in rows.rows]
        self.preview_truncated = rows.truncated

    @rx.event(background=True)
    async def run_import(self, form_data: dict | None = None):
        """Submitted as a form, so the name is what the field shows even if its change is in flight."""
        async with self:
            if self.importing:
                return
            self.error = self.name_error = ""
            if form_data and "name" in form_data:
                self.name = str(form_data["name"] or "")[:300]
            try:
                user = self._ids()
                args = self._query_args()
                if not self.name.strip():
                    raise InvalidInput("name", "Give the data source a name.")
            except NotSignedIn as error:
                return self._fail(error)
            except InvalidInput as error:
                if error.field == "name":
                    self.name_error = error.message
                else:
                    self.error = error.message
                return
            self.importing, self.import_percent, self.import_stage = True, 0, "Starting"
            project_id, connection_id, name = self.project_id, self.connection_id, self.name.strip()
            limit = args.get("spec", {}).get("limit")
        expected = int(limit) if limit and str(limit).isdigit() else None
        progress = JobProgress("Running the query", expected=expected)
        task = asyncio.create_task(
            asyncio.to_thread(
                jobs.run_import, user, project_id, connection_id, name=name, progress=progress, **args
            )
        )
        while not task.done():
            await asyncio.sleep(0.25)
            async with self:
                self.import_percent, self.import_stage = (
                    progress.percent(self.import_percent),
                    progress.label(),
                )
        try:
            info = task.result()
        except ServiceError as error:
            async with self:
                self.importing, self.import_stage = False, ""
                if isinstance(error, InvalidInput) and error.field == "name":
                    self.name_error = error.message
                else:
                    self.error = str(error)
            return
        async with self:
            self.importing, self.import_percent, self.import_stage = False, 100, "Done"
        return [
            rx.redirect(f"/projects/{project_id}/data/{info.id}"),
            rx.toast.success(f"Imported {info.rows:,} rows into “{info.name}” (version {info.version})."),
        ]
