"""The query builder of a database connection: pick a table, columns, conditions, order and a limit (no SQL
typed), or write one read statement in the Raw SQL tab; see the generated SQL, preview, import."""

import reflex as rx

from hydroml.components import button, card, form_error, page_header, progress_bar
from hydroml.pages.template import app_page
from hydroml.state.connector_query import OPS, ConnectorQueryState
from hydroml.state.projects import ProjectState

S = ConnectorQueryState


def _label(text: str, html_for: str) -> rx.Component:
    return rx.el.label(text, html_for=html_for, class_name="grove-field-label")


def _select(value, on_change, options, *, field_id: str, label: str, placeholder: str | None = None, **props):
    """A native select over a list Var (`options` of strings) or fixed (value, label) pairs."""
    first = [rx.el.option(placeholder, value="")] if placeholder is not None else []
    if isinstance(options, list):
        items = [rx.el.option(text, value=option) for option, text in options]
    else:
        items = [rx.foreach(options, lambda option: rx.el.option(option, value=option))]
    return rx.el.select(
        *first,
        *items,
        value=value,
        on_change=on_change,
        id=field_id,
        class_name="grove-select",
        aria_label=label,
        **props,
    )


def _table_picker() -> rx.Component:
    return rx.el.div(
        _label("Table", "query-table"),
        _select(S.table, S.set_table, S.tables, field_id="query-table", label="Table", placeholder="Choose…"),
        class_name="grove-field",
    )


def _columns() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend("Columns", class_name="grove-field-label"),
        rx.hstack(
            rx.el.button("All", type="button", class_name="query-link", on_click=S.select_all_columns(True)),
            rx.el.button(
                "None", type="button", class_name="query-link", on_click=S.select_all_columns(False)
            ),
            spacing="3",
        ),
        rx.el.div(
            rx.foreach(
                S.all_columns,
                lambda column: rx.el.label(
                    rx.el.input(
                        type="checkbox",
                        checked=S.selected_columns.contains(column),
                        on_change=lambda _checked: S.toggle_column(column),
                    ),
                    rx.el.span(column),
                    class_name="studio-check",
                ),
            ),
            class_name="studio-checklist",
        ),
        rx.el.p("None checked: every column.", class_name="grove-field-help"),
        id="query-columns",
        class_name="query-fieldset",
    )


def _condition_row(condition, index) -> rx.Component:
    return rx.hstack(
        _select(
            condition["column"],
            lambda value: S.set_condition(index, "column", value),
            S.all_columns,
            field_id="condition-column-" + index.to_string(),
            label="Condition column",
        ),
        _select(
            condition["op"],
            lambda value: S.set_condition(index, "op", value),
            OPS,
            field_id="condition-op-" + index.to_string(),
            label="Comparison",
        ),
        rx.cond(
            (condition["op"] == "is_null") | (condition["op"] == "not_null"),
            rx.box(flex="1"),
            rx.input(
                value=condition["value"],
                on_change=lambda value: S.set_condition(index, "value", value),
                debounce_timeout=400,
                placeholder=rx.cond(
                    (condition["op"] == "between")
                    | (condition["op"] == "in")
                    | (condition["op"] == "not_in"),
                    "values, separated by commas",
                    "value",
                ),
                id="condition-value-" + index.to_string(),
                aria_label="Condition value",
                flex="1",
            ),
        ),
        rx.icon_button(
            rx.icon("x", size=16),
            variant="ghost",
            color_scheme="gray",
            on_click=S.remove_condition(index),
            aria_label="Remove this condition",
            type="button",
        ),
        width="100%",
        align="center",
        spacing="2",
        class_name="query-condition",
    )


def _conditions() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend("Conditions", class_name="grove-field-label"),
        rx.cond(
            S.conditions.length() > 1,
            rx.hstack(
                rx.el.span("Rows must match", class_name="grove-muted"),
                _select(
                    S.combine,
                    S.set_combine,
                    [("all", "all conditions (AND)"), ("any", "any condition (OR)")],
                    field_id="query-combine",
                    label="How conditions combine",
                ),
                align="center",
                spacing="2",
            ),
        ),
        rx.foreach(S.conditions, _condition_row),
        button(
            "Add condition",
            icon="plus",
            variant="secondary",
            on_click=S.add_condition,
            disabled=S.all_columns.length() == 0,
            id="add-condition",
            type="button",
        ),
        class_name="query-fieldset",
    )


def _order_and_limit() -> rx.Component:
    return rx.hstack(
        rx.el.div(
            _label("Order by", "query-order"),
            _select(
                S.order_column,
                S.set_order_column,
                S.all_columns,
                field_id="query-order",
                label="Order by",
                placeholder="(database order)",
            ),
            class_name="grove-field",
        ),
        rx.el.label(
            rx.el.input(
                type="checkbox",
                checked=S.order_descending,
                on_change=lambda _c: S.set_order_descending(~S.order_descending),
                id="query-descending",
                disabled=S.order_column == "",
            ),
            rx.el.span("Descending"),
            class_name="studio-check",
            align_self="end",
        ),
        rx.el.div(
            _label("Limit (rows)", "query-limit"),
            rx.input(
                value=S.limit,
                on_change=S.set_limit,
                debounce_timeout=400,
                id="query-limit",
                placeholder="no limit",
                input_mode="numeric",
                width="10rem",
            ),
            class_name="grove-field",
        ),
        spacing="5",
        align="start",
        wrap="wrap",
    )


def _builder() -> rx.Component:
    return rx.vstack(
        _table_picker(),
        rx.cond(S.table != "", rx.vstack(_columns(), _conditions(), _order_and_limit(), spacing="4")),
        spacing="4",
        width="100%",
        align="stretch",
    )


def _raw() -> rx.Component:
    return rx.el.div(
        _label("SQL (one read statement)", "raw-sql"),
        rx.el.textarea(
            value=S.raw_sql,
            on_change=S.set_raw_sql.debounce(400),
            id="raw-sql",
            class_name="grove-textarea query-raw",
            rows=8,
            spellcheck=False,
            placeholder="SELECT … FROM …",
        ),
        rx.el.p(
            "Only SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN; one statement. It runs in a read-only "
            "transaction with a time limit.",
            class_name="grove-field-help",
        ),
        class_name="grove-field",
    )


def _mode_tabs() -> rx.Component:
    def tab(label: str, mode: str, tab_id: str) -> rx.Component:
        return rx.el.button(
            label,
            type="button",
            role="tab",
            id=tab_id,
            aria_selected=rx.cond(S.mode == mode, "true", "false"),
            class_name="grove-tab",
            aria_current=rx.cond(S.mode == mode, "page", None),
            on_click=S.set_mode(mode),
        )

    return rx.el.div(
        tab("Builder", "builder", "mode-builder"),
        tab("Raw SQL", "raw", "mode-raw"),
        role="tablist",
        class_name="query-tabs",
    )


def _generated() -> rx.Component:
    return card(
        rx.el.pre(
            rx.el.code(rx.cond(S.generated_sql != "", S.generated_sql, "-- choose a table")),
            class_name="studio-code",
            id="generated-sql",
            aria_label="Generated SQL",
        ),
        rx.cond(
            S.generated_params.length() > 0,
            rx.el.div(
                rx.el.div(
                    "Bound parameters (sent separately, never pasted into the SQL)",
                    class_name="grove-field-label",
                ),
                rx.el.ul(
                    rx.foreach(S.generated_params, lambda p: rx.el.li(rx.el.code(p))), id="query-params"
                ),
                class_name="query-params",
            ),
        ),
        title="Generated SQL",
    )


def _preview() -> rx.Component:
    return card(
        rx.hstack(
            button("Preview", icon="eye", variant="secondary", on_click=S.preview, id="preview-query"),
            rx.el.span(S.preview_label, class_name="grove-muted", id="preview-label"),
            align="center",
            spacing="3",
        ),
        rx.cond(
            S.preview_columns.length() > 0,
            rx.el.div(
                rx.el.table(
                    rx.el.thead(rx.el.tr(rx.foreach(S.preview_columns, lambda c: rx.el.th(c)))),
                    rx.el.tbody(
                        rx.foreach(
                            S.preview_rows,
                            lambda row: rx.el.tr(rx.foreach(row, lambda cell: rx.el.td(cell, title=cell))),
                        )
                    ),
                    class_name="grove-table",
                    id="preview-grid",
                ),
                class_name="grove-table-wrap",
                style={"max_height": "28rem", "overflow": "auto", "margin_top": "0.75rem"},
            ),
        ),
        title="Preview (first 100 rows)",
    )


def _import() -> rx.Component:
    progress = rx.vstack(
        rx.el.div(S.import_stage, " · ", S.import_percent, "%", id="import-stage", class_name="grove-muted"),
        progress_bar(S.import_percent, label="Import progress", id="import-progress"),
        width="100%",
    )
    return card(
        rx.form(
            rx.el.div(
                _label("Data source name", "import-name"),
                rx.input(
                    value=S.name,
                    on_change=S.set_name,
                    name="name",
                    id="import-name",
                    size="3",
                    max_length=300,
                ),
                rx.cond(S.name_error != "", rx.el.div(S.name_error, class_name="grove-field-error")),
                class_name="grove-field",
                width="100%",
            ),
            rx.cond(S.importing, progress),
            button("Import", icon="download", type="submit", loading=S.importing, id="import-query"),
            on_submit=S.run_import,
            class_name="query-form",
        ),
        title="Import into a data source",
        description="The rows are copied into a new data source; the query is recorded so it can be refreshed.",
    )


@app_page(
    "/projects/[project_id]/connections/[connection_id]/query",
    "Query a database",
    crumbs=[
        ("Projects", "/projects"),
        (ProjectState.name, "/projects/" + ProjectState.project_id),
        ("Connections", "/projects/" + ProjectState.project_id + "/connections"),
        (S.connection_name, "/projects/" + ProjectState.project_id + "/connections/" + S.connection_id),
        ("Query", None),
    ],
    tab="Projects",
    on_load=[ConnectorQueryState.load],
)
def connector_query_page() -> rx.Component:
    return rx.box(
        page_header(
            rx.cond(S.connection_name != "", "Query “" + S.connection_name + "”", "Query a database"),
            subtitle="Build a query without writing SQL: every value you type is sent as a parameter.",
        ),
        form_error(S.error),
        rx.box(height="1rem"),
        rx.vstack(
            card(_mode_tabs(), rx.cond(S.mode == "raw", _raw(), _builder()), title="Query"),
            _generated(),
            _preview(),
            rx.cond(S.can_edit, _import()),
            spacing="5",
            width="100%",
            align="stretch",
        ),
        width="100%",
    )
