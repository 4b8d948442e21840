"""The Data Studio page: one session's grid, history and operation form.

Thin by design: every handler re-checks the user, calls `services.studio.sessions` in a worker thread (frames
can be large; the event loop is shared) and keeps only ids, the cursor, view parameters and one page of rows.
A change carries the revision this tab last saw; if another tab changed the session first, the service refuses
and this tab reloads with a message instead of overwriting newer work.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import reflex as rx

from hydroml.services import datasources, projects
from hydroml.services.errors import Conflict, InvalidInput, NotFound, ServiceError
from hydroml.services.studio import forms, sessions, view
from hydroml.services.studio.operations.rows import CONDITION_OPS  # noqa: F401 - the page's comparison list
from hydroml.services.studio.view import FILTER_OPS
from hydroml.state.auth import AuthState
from hydroml.state.formatting import count

PAGE_SIZES = ("25", "50", "100", "500")
COLUMN_WINDOW = 40  # columns per grid window: wide tables page sideways instead of flooding the socket


@dataclasses.dataclass
class GridColumn:
    name: str = ""
    dtype: str = ""
    missing: str = ""
    numeric: bool = False
    sort_mark: str = ""  # "▲1", "▼2": direction and priority in a multi-column sort


@dataclasses.dataclass
class HistoryRow:
    index: int = 0  # position in the recipe (0-based)
    number: str = ""
    step_id: str = ""
    label: str = ""
    state: str = ""  # applied | off | broken | pending
    reason: str = ""
    shape: str = ""
    current: bool = False  # the last applied step (where the grid is)


@dataclasses.dataclass
class FormField:
    name: str = ""
    label: str = ""
    kind: str = ""
    help: str = ""
    required: bool = False
    choices: list[str] = dataclasses.field(default_factory=list)
    options: list[str] = dataclasses.field(default_factory=list)  # columns this field may use
    value: str = ""
    selected: list[str] = dataclasses.field(default_factory=list)
    pairs: list[list[str]] = dataclasses.field(default_factory=list)  # mapping: [column, value]
    rules: list[list[str]] = dataclasses.field(default_factory=list)  # conditions: [column, op, value]
    combine: str = "all"
    error: str = ""


@dataclasses.dataclass
class OperationItem:
    key: str = ""
    label: str = ""
    group: str = ""


def _history(state: sessions.SessionState) -> list[HistoryRow]:
    recipe = state.info.recipe
    rows = []
    for i, (step, status) in enumerate(zip(recipe.steps, state.statuses, strict=True)):
        try:
            label = step.operation().describe()
        except Exception:  # noqa: BLE001 - unknown operation: its status says why
            label = step.op
        rows.append(
            HistoryRow(
                index=i,
                number=str(i + 1),
                step_id=step.id,
                label=label,
                state=status.state,
                reason=status.reason,
                shape=f"{status.rows:,} rows × {status.columns:,} columns"
                if status.state in ("applied", "off")
                else "",
                current=i == recipe.cursor - 1,
            )
        )
    return rows


def _options(param: dict, schema: dict[str, str]) -> list[str]:
    allowed = param.get("dtypes") or []
    return [name for name, dtype in schema.items() if not allowed or dtype in allowed]


def _field(param: dict, text: str, schema: dict[str, str], sources: list[str]) -> FormField:
    kind = param["kind"]
    field = FormField(
        name=param["name"],
        label=param["label"],
        kind=kind,
        help=param.get("help") or "",
        required=bool(param.get("required")),
        choices=list(param.get("choices") or []),
        options=_options(param, schema) if kind in ("column", "columns", "mapping", "conditions") else [],
        value=text,
    )
    if kind == "source":
        field.options = sources
    if kind in ("columns", "texts"):
        field.selected = [str(v) for v in json.loads(text)] if text else []
    elif kind == "mapping":
        mapping = json.loads(text) if text else {}
        field.pairs = [[column, str(mapping.get(column, ""))] for column in field.options]
    elif kind == "conditions":
        conditions = json.loads(text) if text else {}
        field.combine = conditions.get("combine", "all")
        field.rules = [
            [str(r.get("column", "")), str(r.get("op", "=")), _rule_value(r.get("value"))]
            for r in conditions.get("rules", [])
            if isinstance(r, dict) and "column" in r
        ]
        if not field.rules and field.required:
            field.rules = [[field.options[0] if field.options else "", "=", ""]]
    elif kind == "source" and text:
        ref = json.loads(text)
        field.value = f"{ref.get('data_source_id')}@{ref.get('version')}"
    return field


def _rule_value(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _field_text(field: FormField, source_names: dict[str, str]) -> str:
    """A form field back to the text `forms.parse_form` reads."""
    if field.kind in ("columns", "texts"):
        return json.dumps(field.selected)
    if field.kind == "mapping":
        return json.dumps({column: value for column, value in field.pairs if value}) if field.pairs else ""
    if field.kind == "conditions":
        rules = [{"column": c, "op": o, "value": v} for c, o, v in field.rules if c]
        return json.dumps({"combine": field.combine, "rules": rules}) if rules else ""
    if field.kind == "source" and field.value:
        source_id, _, version = field.value.partition("@")
        return json.dumps(
            {"data_source_id": source_id, "version": int(version), "name": source_names.get(field.value, "")}
        )
    return field.value


class StudioState(AuthState):
    project_id: str = ""
    session_id: str = ""
    project_name: str = ""
    loaded: bool = False
    busy: str = ""  # what the server is doing right now ("" = idle), shown beside a spinner
    can_edit: bool = False
    session_name: str = ""
    source_name: str = ""
    data_source_id: str = ""
    version: int = 0
    latest_version: int = 0
    revision: int = 0
    cursor: int = 0
    step_count: int = 0
    history: list[HistoryRow] = []
    broken_steps: int = 0
    schema: dict[str, str] = {}
    # grid
    grid_columns: list[GridColumn] = []
    grid_rows: list[list[str]] = []
    total_rows: int = 0
    frame_rows: int = 0
    total_columns: int = 0
    offset: int = 0
    page_size: int = 50
    column_offset: int = 0
    sort_keys: list[list[str]] = []  # [[column, "asc"|"desc"], ...] in priority order
    filter_rules: list[list[str]] = []  # [[column, op, value], ...] (view only)
    search: str = ""
    view_error: str = ""
    # operation form
    operations: list[OperationItem] = []
    op_key: str = ""
    op_label: str = ""
    op_summary: str = ""
    fields: list[FormField] = []
    form_error: str = ""
    editing_step_id: str = ""
    confirm_discard: bool = False
    source_choices: list[list[str]] = []  # [["id@version", "name (version n)"], ...]

    # ------------------------------------------------------------------ derived

    @rx.var
    def page_label(self) -> str:
        if self.total_rows == 0:
            return "No rows" if self.frame_rows == 0 else f"No rows match (of {self.frame_rows:,})"
        last = min(self.offset + self.page_size, self.total_rows)
        shown = f"Rows {self.offset + 1:,}–{last:,} of {self.total_rows:,}"
        return shown if self.total_rows == self.frame_rows else f"{shown} (filtered from {self.frame_rows:,})"

    @rx.var
    def column_label(self) -> str:
        if self.total_columns <= COLUMN_WINDOW:
            return f"{self.total_columns:,} columns"
        last = min(self.column_offset + COLUMN_WINDOW, self.total_columns)
        return f"Columns {self.column_offset + 1:,}–{last:,} of {self.total_columns:,}"

    @rx.var
    def wide(self) -> bool:
        return self.total_columns > COLUMN_WINDOW

    @rx.var
    def has_previous(self) -> bool:
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        return self.offset + self.page_size < self.total_rows

    @rx.var
    def can_undo(self) -> bool:
        return self.can_edit & (self.cursor > 0)

    @rx.var
    def can_redo(self) -> bool:
        return self.can_edit & (self.cursor < self.step_count)

    @rx.var
    def column_names(self) -> list[str]:
        return list(self.schema)

    @rx.var
    def has_newer_version(self) -> bool:
        return self.latest_version > self.version

    @rx.var
    def download_base(self) -> str:
        return f"/api/projects/{self.project_id}/studio/{self.session_id}/"

    # ------------------------------------------------------------------ helpers

    def _ids(self):
        user = self._require_user()
        self.project_id = self._route_id("project_id") or self.project_id
        self.session_id = self._route_id("session_id") or self.session_id
        return user

    def _show(self, state: sessions.SessionState) -> None:
        info = state.info
        self.session_name, self.source_name = info.name, info.data_source_name
        self.data_source_id = str(info.data_source_id)
        self.version, self.latest_version = info.version, info.latest_version
        self.revision, self.can_edit = info.revision, info.can_edit
        self.cursor, self.step_count = info.recipe.cursor, len(info.recipe.steps)
        self.history = _history(state)
        self.broken_steps = sum(1 for row in self.history if row.state == "broken")
        if state.schema != self.schema:
            self.schema = state.schema
            known = set(state.schema)
            self.sort_keys = [k for k in self.sort_keys if k[0] in known]
            self.filter_rules = [r for r in self.filter_rules if r[0] in known]
            self.column_offset = 0

    def _spec(self) -> view.ViewSpec:
        return view.ViewSpec(
            sort=tuple((column, direction == "asc") for column, direction in self.sort_keys),
            filters=tuple((c, o, v) for c, o, v in self.filter_rules if c),
            search=self.search.strip(),
        )

    async def _load_page(self, user) -> None:
        self.view_error = ""
        try:
            page = await asyncio.to_thread(
                sessions.page,
                user,
                self.project_id,
                self.session_id,
                self._spec(),
                self.offset,
                self.page_size,
                self.column_offset,
                COLUMN_WINDOW,
            )
        except InvalidInput as error:
            # A filter value that does not fit its column: say so and show the unfiltered view.
            self.view_error = error.message
            self.filter_rules, self.search = [], ""
            page = await asyncio.to_thread(
                sessions.page, user, self.project_id, self.session_id, self._spec(), 0, self.page_size,
                self.column_offset, COLUMN_WINDOW,
            )  # fmt: skip
        marks = {column: i for i, (column, _) in enumerate(self.sort_keys)}
        self.grid_columns = [
            GridColumn(
                name=c["name"],
                dtype=c["dtype"],
                missing=count(c["missing"]),
                numeric=bool(c["numeric"]),
                sort_mark=(
                    ("▲" if self.sort_keys[marks[c["name"]]][1] == "asc" else "▼") + str(marks[c["name"]] + 1)
                    if c["name"] in marks
                    else ""
                ),
            )
            for c in page.columns
        ]
        self.grid_rows = page.rows
        self.total_rows, self.frame_rows = page.total_rows, page.frame_rows
        self.total_columns, self.offset = page.total_columns, page.offset

    async def _after_change(self, user, state: sessions.SessionState) -> None:
        self._show(state)
        self.offset = 0
        await self._load_page(user)

    def _load_catalog(self) -> None:
        self.operations = [
            OperationItem(key=op["key"], label=op["label"], group=group["group"])
            for group in forms.catalog()
            for op in group["operations"]
        ]

    async def _reload_after_conflict(self, user, error: Conflict):
        state = await asyncio.to_thread(sessions.open_session, user, self.project_id, self.session_id)
        await self._after_change(user, state)
        self.confirm_discard = False
        return rx.toast.warning(str(error))

    # ------------------------------------------------------------------ loading

    @rx.event
    async def load(self):
        self.loaded, self.busy = False, "Opening the session…"
        self.sort_keys, self.filter_rules, self.search, self.view_error = [], [], "", ""
        self.offset, self.column_offset, self.schema = 0, 0, {}
        self._clear_form()
        yield
        try:
            user = self._ids()
            project = await asyncio.to_thread(projects.get_project, user, self.project_id)
            self.project_name = project.name
            state = await asyncio.to_thread(sessions.open_session, user, self.project_id, self.session_id)
            self._show(state)
            await self._load_page(user)
            self._load_catalog()
            sources = await asyncio.to_thread(datasources.list_data_sources, user, self.project_id)
            self.source_choices = [
                [f"{s.id}@{s.version}", f"{s.name} (version {s.version})"] for s in sources
            ]
            self.loaded = True
        except NotFound as error:
            self.busy = ""
            yield [rx.toast.error(str(error)), rx.redirect(f"/projects/{self.project_id}")]
            return
        except ServiceError as error:
            self.busy = ""
            yield self._fail(error)
            return
        self.busy = ""

    # ------------------------------------------------------------------ grid (view only: never changes the recipe)

    async def _regrid(self):
        try:
            await self._load_page(self._ids())
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    async def next_page(self):
        if self.offset + self.page_size < self.total_rows:
            self.offset += self.page_size
        return await self._regrid()

    @rx.event
    async def previous_page(self):
        self.offset = max(0, self.offset - self.page_size)
        return await self._regrid()

    @rx.event
    async def set_page_size(self, value: str):
        self.page_size = int(value) if value in PAGE_SIZES else 50
        self.offset = 0
        return await self._regrid()

    @rx.event
    async def shift_columns(self, direction: int):
        last_window = max(0, (self.total_columns - 1) // COLUMN_WINDOW * COLUMN_WINDOW)
        self.column_offset = max(0, min(self.column_offset + direction * COLUMN_WINDOW, last_window))
        return await self._regrid()

    @rx.event
    async def sort_by(self, column: str):
        """Header click: add the column ascending, then descending, then remove it; earlier keys stay first."""
        keys = [list(k) for k in self.sort_keys]
        found = next((k for k in keys if k[0] == column), None)
        if found is None:
            keys.append([column, "asc"])
        elif found[1] == "asc":
            found[1] = "desc"
        else:
            keys.remove(found)
        self.sort_keys, self.offset = keys, 0
        return await self._regrid()

    @rx.event
    async def clear_view(self):
        self.sort_keys, self.filter_rules, self.search, self.offset = [], [], "", 0
        return await self._regrid()

    @rx.event
    async def apply_search(self, form_data: dict):
        self.search = str(form_data.get("search", ""))[:200]
        self.offset = 0
        return await self._regrid()

    @rx.event
    async def add_filter(self, form_data: dict):
        column, op = str(form_data.get("column", "")), str(form_data.get("op", "="))
        if column not in self.schema or op not in FILTER_OPS:
            self.view_error = "Choose a column and a comparison for the filter."
            return
        self.filter_rules = [*self.filter_rules, [column, op, str(form_data.get("value", ""))[:200]]]
        self.offset = 0
        return await self._regrid()

    @rx.event
    async def remove_filter(self, index: int):
        self.filter_rules = [r for i, r in enumerate(self.filter_rules) if i != index]
        self.offset = 0
        return await self._regrid()

    # ------------------------------------------------------------------ operation form

    def _clear_form(self) -> None:
        self.op_key, self.op_label, self.op_summary, self.fields = "", "", "", []
        self.form_error, self.editing_step_id, self.confirm_discard = "", "", False

    def _open_form(self, op_key: str, params: dict | None) -> None:
        definition = next(
            (op for group in forms.catalog() for op in group["operations"] if op["key"] == op_key), None
        )
        if definition is None:
            raise InvalidInput("op", "Choose an operation from the list.")
        texts = forms.form_values(op_key, params)
        choices = [key for key, _ in self.source_choices]
        self.op_key, self.op_label, self.op_summary = op_key, definition["label"], definition["summary"]
        self.fields = [
            _field(p, texts.get(p["name"], ""), self.schema, choices) for p in definition["params"]
        ]
        self.form_error, self.confirm_discard = "", False

    @rx.event
    def choose_operation(self, op_key: str):
        self.editing_step_id = ""
        try:
            self._open_form(op_key, None)
        except InvalidInput as error:
            self.form_error = error.message

    @rx.event
    def close_form(self):
        self._clear_form()

    def _field_at(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)

    def _touch_fields(self) -> None:
        self.fields = list(self.fields)

    @rx.event
    def set_field(self, name: str, value: str):
        field = self._field_at(name)
        if field is not None:
            field.value, field.error = str(value), ""
            self._touch_fields()

    @rx.event
    def toggle_option(self, name: str, option: str):
        field = self._field_at(name)
        if field is not None:
            chosen = field.selected
            field.selected = [o for o in chosen if o != option] if option in chosen else [*chosen, option]
            field.error = ""
            self._touch_fields()

    @rx.event
    def set_pair(self, name: str, column: str, value: str):
        field = self._field_at(name)
        if field is not None:
            field.pairs = [[c, str(value) if c == column else v] for c, v in field.pairs]
            field.error = ""
            self._touch_fields()

    @rx.event
    def set_rule(self, name: str, index: int, part: int, value: str):
        field = self._field_at(name)
        if field is not None and 0 <= index < len(field.rules) and 0 <= part < 3:
            field.rules[index][part] = str(value)
            field.error = ""
            self._touch_fields()

    @rx.event
    def add_rule(self, name: str):
        field = self._field_at(name)
        if field is not None:
            field.rules = [*field.rules, [field.options[0] if field.options else "", "=", ""]]
            self._touch_fields()

    @rx.event
    def remove_rule(self, name: str, index: int):
        field = self._field_at(name)
        if field is not None:
            field.rules = [r for i, r in enumerate(field.rules) if i != index]
            self._touch_fields()

    @rx.event
    def set_combine(self, name: str, value: str):
        field = self._field_at(name)
        if field is not None:
            field.combine = "any" if value == "any" else "all"
            self._touch_fields()

    def _params(self) -> dict:
        names = dict((key, label) for key, label in self.source_choices)
        texts = {f.name: _field_text(f, names) for f in self.fields}
        return forms.parse_form(self.op_key, texts)

    def _field_error(self, error: InvalidInput) -> None:
        field = self._field_at(error.field)
        if field is not None:
            field.error = error.message
            self._touch_fields()
        else:
            self.form_error = error.message

    @rx.event
    async def submit_operation(self, discard_redo: bool = False):
        """Add the step (or save the edited one). After an undo, adding asks before discarding the redo steps."""
        self.form_error = ""
        if not self.editing_step_id and self.cursor < self.step_count and not discard_redo:
            self.confirm_discard = True
            return
        self.confirm_discard = False
        self.busy = "Applying the step…"
        yield
        try:
            user = self._ids()
            params = self._params()
            if self.editing_step_id:
                state = await asyncio.to_thread(
                    sessions.edit_step,
                    user, self.project_id, self.session_id, self.revision, self.editing_step_id, params,
                )  # fmt: skip
                message = "Step updated; later steps were re-run."
            else:
                state = await asyncio.to_thread(
                    sessions.add_step,
                    user, self.project_id, self.session_id, self.revision, self.op_key, params, discard_redo,
                )  # fmt: skip
                message = ""
            await self._after_change(user, state)
            self._clear_form()
        except Conflict as error:
            self.busy = ""
            yield await self._reload_after_conflict(self._ids(), error)
            return
        except InvalidInput as error:
            self.busy = ""
            self._field_error(error)
            return
        except ServiceError as error:
            self.busy = ""
            yield self._fail(error)
            return
        self.busy = ""
        if message:
            yield rx.toast.success(message)
        elif self.broken_steps:
            yield rx.toast.warning("Some steps no longer fit; see the history.")

    @rx.event
    def cancel_discard(self):
        self.confirm_discard = False

    @rx.event
    def edit_step(self, step_id: str):
        try:
            info = sessions.get_session(self._ids(), self.project_id, self.session_id)
            step = info.recipe.steps[info.recipe.index_of(step_id)]
            self._open_form(step.op, step.params)
            self.editing_step_id = step_id
        except InvalidInput as error:
            return rx.toast.error(error.message)
        except ServiceError as error:
            return self._fail(error)

    # ------------------------------------------------------------------ history

    async def _history_change(self, busy: str, call, *args):
        self.busy = busy
        yield
        try:
            user = self._ids()
            state = await asyncio.to_thread(
                call, user, self.project_id, self.session_id, self.revision, *args
            )
            await self._after_change(user, state)
        except Conflict as error:
            self.busy = ""
            yield await self._reload_after_conflict(self._ids(), error)
            return
        except InvalidInput as error:
            self.busy = ""
            yield rx.toast.error(error.message)
            return
        except ServiceError as error:
            self.busy = ""
            yield self._fail(error)
            return
        self.busy = ""

    @rx.event
    async def undo(self):
        async for update in self._history_change("Undoing…", sessions.undo):
            yield update

    @rx.event
    async def redo(self):
        async for update in self._history_change("Redoing…", sessions.redo):
            yield update

    @rx.event
    async def jump(self, cursor: int):
        async for update in self._history_change("Going to the step…", sessions.jump, int(cursor)):
            yield update

    @rx.event
    async def toggle_step(self, step_id: str):
        async for update in self._history_change("Re-running the steps…", sessions.toggle_step, step_id):
            yield update

    @rx.event
    async def delete_step(self, step_id: str):
        async for update in self._history_change("Removing the step…", sessions.delete_step, step_id):
            yield update

    @rx.event
    async def move_step(self, step_id: str, offset: int):
        async for update in self._history_change(
            "Moving the step…", sessions.move_step, step_id, int(offset)
        ):
            yield update

    @rx.event
    async def replay_on_latest(self):
        async for update in self._history_change(
            "Replaying on the newest version…", sessions.replay_on_version
        ):
            yield update

    # ------------------------------------------------------------------ session

    @rx.event
    async def rename(self, form_data: dict):
        try:
            user = self._ids()
            info = await asyncio.to_thread(
                sessions.rename_session,
                user,
                self.project_id,
                self.session_id,
                str(form_data.get("name", "")),
            )
        except ServiceError as error:
            return self._fail(error)
        self.session_name = info.name
        return rx.toast.success("Session renamed.")

    @rx.event
    async def save_as_data_source(self, form_data: dict):
        self.busy = "Saving the result as a new data source…"
        yield
        try:
            user = self._ids()
            info = await asyncio.to_thread(
                sessions.save_as_data_source,
                user,
                self.project_id,
                self.session_id,
                str(form_data.get("name", "")),
            )
        except ServiceError as error:
            self.busy = ""
            yield self._fail(error)
            return
        self.busy = ""
        yield [
            rx.toast.success(f"Saved as “{info.name}” with its recipe."),
            rx.redirect(f"/projects/{self.project_id}/data/{info.id}"),
        ]


# The operation panel's choices, grouped as the catalog lists them (static: compiled into the page).
OPERATION_GROUPS = [
    (group["group"], [(op["key"], op["label"]) for op in group["operations"]]) for group in forms.catalog()
]
