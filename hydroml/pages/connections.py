"""Database connections: a project's list (add, edit, delete, test) and one connection's schema browser."""

import reflex as rx

from hydroml.components import (
    badge,
    button,
    card,
    confirm_modal,
    empty_state,
    form_error,
    form_modal,
    password_input,
    select_input,
    table,
    text_input,
)
from hydroml.pages.projects import _project_frame
from hydroml.pages.template import app_page
from hydroml.services.connectors.connections import SSL_MODES
from hydroml.state.connections import KIND_OPTIONS, ConnectionBrowserState, ConnectionsState
from hydroml.state.projects import ProjectState

PROJECT_HREF = "/projects/" + ProjectState.project_id
CONNECTIONS_CRUMBS = [
    ("Projects", "/projects"),
    (ProjectState.name, PROJECT_HREF),
    ("Connections", None),
]
BROWSER_CRUMBS = [
    ("Projects", "/projects"),
    (ProjectState.name, PROJECT_HREF),
    ("Connections", PROJECT_HREF + "/connections"),
    (ConnectionBrowserState.connection_name, None),
]


def _ssl_options(kind: str) -> list[tuple[str, str]]:
    return [("", "Driver default")] + [(mode, mode) for mode in SSL_MODES[kind]]


# ---------------------------------------------------------------- the form


def _server_fields() -> rx.Component:
    form, errors = ConnectionsState.form, ConnectionsState.errors
    ssl = {
        "error": errors["sslmode"],
        "default_value": form["sslmode"],
        "help_text": "TLS for the connection to the server.",
    }
    return rx.vstack(
        rx.hstack(
            rx.box(
                text_input(
                    "host",
                    "Host",
                    required=True,
                    default_value=form["host"],
                    error=errors["host"],
                    max_length=255,
                    placeholder="db.example.org",
                ),
                flex="3",
            ),
            rx.box(
                text_input(
                    "port",
                    "Port",
                    default_value=form["port"],
                    error=errors["port"],
                    input_mode="numeric",
                    max_length=5,
                    placeholder=rx.cond(ConnectionsState.form_kind == "mysql", "3306", "5432"),
                ),
                flex="1",
            ),
            width="100%",
            spacing="3",
            align="start",
        ),
        text_input(
            "database",
            "Database",
            required=True,
            default_value=form["database"],
            error=errors["database"],
            max_length=500,
        ),
        text_input(
            "username",
            "User name",
            required=True,
            default_value=form["username"],
            error=errors["username"],
            max_length=255,
            auto_complete="off",
        ),
        password_input(
            "password",
            "Password",
            error=errors["password"],
            max_length=1024,
            auto_complete="new-password",
            help_text=rx.cond(
                ConnectionsState.editing & ConnectionsState.form_has_password,
                "Leave empty to keep the stored password.",
                "Stored encrypted; never shown again.",
            ),
        ),
        rx.cond(
            ConnectionsState.form_kind == "mysql",
            select_input("sslmode", "TLS mode", _ssl_options("mysql"), **ssl),
            select_input("sslmode", "TLS mode", _ssl_options("postgresql"), **ssl),
        ),
        spacing="4",
        width="100%",
    )


def _sqlite_fields() -> rx.Component:
    return text_input(
        "database",
        "SQLite file",
        required=True,
        default_value=ConnectionsState.form["database"],
        error=ConnectionsState.errors["database"],
        max_length=500,
        placeholder="stations.db",
        help_text="The file's path inside the server's SQLite folder. It is opened read-only.",
    )


def _connection_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            form_error(ConnectionsState.errors["form"]),
            text_input(
                "name",
                "Name",
                required=True,
                default_value=ConnectionsState.form["name"],
                error=ConnectionsState.errors["name"],
                max_length=120,
                auto_focus=True,
            ),
            select_input(
                "kind",
                "Database type",
                KIND_OPTIONS,
                value=ConnectionsState.form_kind,
                on_change=ConnectionsState.set_form_kind,
                error=ConnectionsState.errors["kind"],
            ),
            rx.cond(ConnectionsState.form_kind == "sqlite", _sqlite_fields(), _server_fields()),
            rx.hstack(
                rx.dialog.close(button("Cancel", variant="secondary", type="button")),
                button(
                    rx.cond(ConnectionsState.editing, "Save", "Add connection"),
                    type="submit",
                    id="connection-submit",
                ),
                justify="end",
                width="100%",
                spacing="3",
            ),
            spacing="4",
        ),
        on_submit=ConnectionsState.save,
    )


# ---------------------------------------------------------------- the list


def _test_cell(row) -> rx.Component:
    last = rx.cond(
        row.test_status == "ok",
        badge("ok", status="success"),
        rx.cond(row.test_status == "failed", badge("failed", status="error"), badge("not tested")),
    )
    return rx.vstack(
        rx.hstack(last, rx.el.span(row.tested, class_name="grove-muted"), spacing="2", align="center"),
        rx.cond(
            row.message != "",
            rx.el.span(
                row.message,
                title=row.message,
                class_name=rx.cond(row.test_status == "ok", "grove-muted", "grove-field-error"),
                id="test-message-" + row.name,
                style={"white_space": "normal"},
            ),
        ),
        spacing="1",
        align="start",
    )


def _connection_row(row) -> rx.Component:
    href = PROJECT_HREF + "/connections/" + row.id
    actions = rx.hstack(
        button(
            "Test",
            variant="secondary",
            size="1",
            icon="plug-zap",
            loading=row.testing,
            on_click=ConnectionsState.test(row.id),
            id="test-" + row.name,
        ),
        rx.link(button("Browse", variant="secondary", size="1", icon="table"), href=href),
        rx.cond(
            ConnectionsState.can_edit,
            rx.hstack(
                button(
                    "Edit",
                    variant="ghost",
                    size="1",
                    on_click=ConnectionsState.open_edit(row.id),
                    id="edit-" + row.name,
                ),
                confirm_modal(
                    button("Delete", variant="ghost", size="1"),
                    title="Delete this connection?",
                    description="Saved queries and imports that use it stop working. "
                    "The database itself is not touched.",
                    confirm_label="Delete",
                    on_confirm=ConnectionsState.delete(row.id),
                    test_id="delete-" + row.name,
                ),
                spacing="2",
            ),
        ),
        spacing="2",
        justify="end",
    )
    return rx.el.tr(
        rx.el.td(rx.link(row.name, href=href, class_name="connection-link")),
        rx.el.td(badge(row.kind_label, status="info")),
        rx.el.td(rx.el.code(row.target), title=row.target),
        rx.el.td(_test_cell(row), style={"max_width": "20rem"}),
        rx.el.td(actions),
    )


@app_page(
    "/projects/[project_id]/connections",
    "Connections",
    crumbs=CONNECTIONS_CRUMBS,
    tab="Projects",
    on_load=[ConnectionsState.load],
)
def connections_page() -> rx.Component:
    new_button = button(
        "New connection", icon="plus", on_click=ConnectionsState.open_new, id="new-connection"
    )
    add = rx.cond(
        ConnectionsState.can_edit,
        form_modal(
            new_button,
            title=rx.cond(ConnectionsState.editing, "Edit connection", "New connection"),
            description="A database this project reads from: PostgreSQL, MySQL / MariaDB or a SQLite file.",
            body=_connection_form(),
            open=ConnectionsState.form_open,
            on_open_change=ConnectionsState.set_form_open,
        ),
    )
    listing = table(
        ("Name", "Type", "Server / file", "Last test", ""),
        ConnectionsState.connections,
        _connection_row,
        table_id="connections-table",
    )
    empty = empty_state(
        "No connections yet",
        rx.cond(
            ConnectionsState.can_edit,
            "Connect a PostgreSQL, MySQL or SQLite database to browse its tables and import query results.",
            "The project's editors have not connected any database yet.",
        ),
        icon="database-zap",
    )
    toolbar = rx.el.div(
        rx.el.p(
            "Every member can test and browse a connection; owners and editors add, edit and delete them.",
            class_name="grove-muted",
            style={"margin": 0, "flex": "1"},
        ),
        add,
        class_name="grove-toolbar",
    )
    body = rx.cond(
        ConnectionsState.loaded,
        rx.cond(ConnectionsState.connections.length() > 0, listing, empty),
        rx.center(rx.spinner(), padding="2rem"),
    )
    return _project_frame("Connections", toolbar, body)


# ---------------------------------------------------------------- one connection


def _table_row(row) -> rx.Component:
    selected = ConnectionBrowserState.table_name == row.name
    return rx.el.tr(
        rx.el.td(
            rx.el.button(
                row.name,
                on_click=ConnectionBrowserState.select_table(row.name),
                class_name="connection-table-link",
                aria_pressed=rx.cond(selected, "true", "false"),
                id="table-" + row.name,
                style={
                    "all": "unset",
                    "cursor": "pointer",
                    "color": "var(--grove-primary)",
                    "font_weight": rx.cond(selected, "700", "500"),
                },
            ),
        ),
        rx.el.td(badge(row.kind)),
        rx.el.td(row.rows, class_name="num"),
        style=rx.cond(selected, {"background": "var(--grove-info-soft)"}, {}),
    )


def _column_row(row) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.el.strong(row.name)),
        rx.el.td(rx.el.code(row.type)),
        rx.el.td(row.nullable),
    )


def _preview_grid() -> rx.Component:
    return rx.el.div(
        rx.el.table(
            rx.el.thead(rx.el.tr(rx.foreach(ConnectionBrowserState.preview_columns, lambda c: rx.el.th(c)))),
            rx.el.tbody(
                rx.foreach(
                    ConnectionBrowserState.preview_rows,
                    lambda row: rx.el.tr(rx.foreach(row, lambda cell: rx.el.td(cell, title=cell))),
                )
            ),
            class_name="grove-table",
            id="preview-grid",
        ),
        class_name="grove-table-wrap",
        style={"max_height": "28rem", "overflow": "auto"},
    )


def _tables_panel() -> rx.Component:
    schema_select = rx.el.select(
        rx.foreach(ConnectionBrowserState.schemas, lambda name: rx.el.option(name, value=name)),
        value=ConnectionBrowserState.schema_name,
        on_change=ConnectionBrowserState.select_schema,
        class_name="grove-select",
        aria_label="Schema",
        id="schema-select",
        style={"width": "100%"},
    )
    tables = table(
        ("Table", "Kind", "Rows (est.)"),
        ConnectionBrowserState.tables,
        _table_row,
        table_id="tables-table",
        numeric=("Rows (est.)",),
    )
    return card(
        rx.vstack(
            rx.el.label("Schema", html_for="schema-select", class_name="grove-field-label"),
            schema_select,
            rx.cond(
                ConnectionBrowserState.tables_loading,
                rx.center(rx.spinner(), padding="2rem", width="100%"),
                rx.cond(
                    ConnectionBrowserState.tables.length() > 0,
                    tables,
                    rx.el.p("No tables or views in this schema.", class_name="grove-muted"),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        title="Tables and views",
        style={"flex": "1 1 20rem", "max_width": "28rem", "min_width": "16rem"},
    )


def _table_panel() -> rx.Component:
    columns = table(
        ("Column", "Type", "Nullable"), ConnectionBrowserState.columns, _column_row, table_id="columns-table"
    )
    detail = rx.vstack(
        rx.el.h3("Columns", class_name="grove-field-label", style={"margin": 0}),
        columns,
        rx.el.h3(
            "Preview",
            rx.el.span(" · the first 100 rows, in the database's order", class_name="grove-muted"),
            class_name="grove-field-label",
            style={"margin": "1rem 0 0 0"},
        ),
        _preview_grid(),
        spacing="2",
        width="100%",
    )
    return card(
        rx.cond(
            ConnectionBrowserState.table_name == "",
            empty_state(
                "Choose a table",
                "Click a table or view on the left to see its columns and first rows.",
                icon="table",
            ),
            rx.cond(
                ConnectionBrowserState.table_loading,
                rx.center(rx.spinner(), padding="3rem", width="100%"),
                rx.cond(ConnectionBrowserState.preview_columns.length() > 0, detail),
            ),
        ),
        title=rx.cond(ConnectionBrowserState.table_name == "", "Table", ConnectionBrowserState.table_name),
        style={"flex": "3 1 30rem", "min_width": "0"},
        id="table-detail",
    )


@app_page(
    "/projects/[project_id]/connections/[connection_id]",
    "Connection",
    crumbs=BROWSER_CRUMBS,
    tab="Projects",
    on_load=[ConnectionBrowserState.load],
)
def connection_page() -> rx.Component:
    summary = rx.el.div(
        rx.hstack(
            rx.icon("database", size=20, aria_hidden="true"),
            rx.el.h2(
                ConnectionBrowserState.connection_name,
                class_name="grove-card-title",
                id="connection-name",
                style={"margin": 0},
            ),
            badge(ConnectionBrowserState.kind_label, status="info"),
            rx.el.code(ConnectionBrowserState.target, class_name="grove-muted"),
            align="center",
            spacing="3",
            style={"flex": "1", "min_width": "0"},
        ),
        rx.link(
            button("Build a query", icon="square-terminal", id="build-query"),
            href=ConnectionBrowserState.query_href,
        ),
        class_name="grove-toolbar",
    )
    error = rx.cond(
        ConnectionBrowserState.browse_error != "",
        rx.el.div(
            ConnectionBrowserState.browse_error,
            role="alert",
            class_name="grove-form-error",
            id="browse-error",
            style={"margin_bottom": "1rem"},
        ),
    )
    content = rx.cond(
        ConnectionBrowserState.loaded,
        rx.box(
            summary,
            error,
            rx.flex(_tables_panel(), _table_panel(), gap="1rem", wrap="wrap", align="start", width="100%"),
            width="100%",
        ),
        rx.center(rx.spinner(), padding="2rem"),
    )
    return _project_frame("Connections", content)
