"""Data sources: import (upload, preview, settings, types) and the data source page."""

import reflex as rx

from hydroml.components import (
    badge,
    button,
    card,
    confirm_modal,
    download_button,
    form_error,
    page_header,
    progress_bar,
    select_input,
    table,
    text_input,
    textarea_input,
)
from hydroml.pages.template import app_page
from hydroml.services.ingest import TYPES
from hydroml.state.connector_source import EXPORT_MODES, ConnectorSourceState
from hydroml.state.data_import import UPLOAD_ID, DataImportState
from hydroml.state.datasource import PAGE_SIZES, DataSourceState
from hydroml.state.studio_sessions import StudioSessionsState

ACCEPT = {
    "text/csv": [".csv", ".tsv", ".txt"],
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": [".xlsx"],
    "application/vnd.ms-excel": [".xls"],
    "application/octet-stream": [".parquet", ".pq"],
    "application/json": [".json", ".jsonl", ".ndjson"],
}
DELIMITERS = [(",", "Comma ,"), (";", "Semicolon ;"), ("\t", "Tab"), ("|", "Pipe |")]
ENCODINGS = [
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 with BOM"),
    ("latin-1", "Latin-1"),
    ("cp1252", "Windows-1252"),
    ("utf-16", "UTF-16"),
]


def _setting_select(label: str, key: str, options, *, field_id: str) -> rx.Component:
    return rx.el.div(
        rx.el.label(label, html_for=field_id, class_name="grove-field-label"),
        rx.el.select(
            *[rx.el.option(text, value=value) for value, text in options],
            value=DataImportState.settings[key],
            on_change=lambda value: DataImportState.set_setting(key, value),
            class_name="grove-select",
            id=field_id,
        ),
        class_name="grove-field",
        style={"width": "auto"},
    )


def _settings_panel() -> rx.Component:
    csv_settings = rx.hstack(
        _setting_select("Delimiter", "delimiter", DELIMITERS, field_id="setting-delimiter"),
        _setting_select(
            "Decimal separator", "decimal", [(".", "Point ."), (",", "Comma ,")], field_id="setting-decimal"
        ),
        _setting_select("Encoding", "encoding", ENCODINGS, field_id="setting-encoding"),
        _setting_select(
            "Header", "header_row", [("0", "First row"), ("none", "No header")], field_id="setting-header"
        ),
        _setting_select(
            "Dates",
            "dayfirst",
            [("False", "Month first"), ("True", "Day first")],
            field_id="setting-dayfirst",
        ),
        spacing="4",
        wrap="wrap",
    )
    excel_settings = rx.el.div(
        rx.el.label("Sheet", html_for="setting-sheet", class_name="grove-field-label"),
        rx.el.select(
            rx.foreach(DataImportState.sheets, lambda sheet: rx.el.option(sheet, value=sheet)),
            value=DataImportState.settings["sheet"],
            on_change=lambda value: DataImportState.set_setting("sheet", value),
            class_name="grove-select",
            id="setting-sheet",
        ),
        class_name="grove-field",
        style={"width": "auto"},
    )
    return card(
        rx.match(
            DataImportState.settings["format"],
            ("csv", csv_settings),
            ("excel", excel_settings),
            rx.el.p("No settings to choose for this format.", class_name="grove-muted"),
        ),
        title=rx.el.span("Detected settings ", badge(DataImportState.settings["format"], status="info")),
        description="Change a setting if the preview looks wrong; the preview updates at once.",
    )


def _type_header(column) -> rx.Component:
    return rx.el.th(
        rx.el.div(column["name"], title=column["name"]),
        rx.el.select(
            *[rx.el.option(t, value=t) for t in TYPES],
            value=column["dtype"],
            on_change=lambda dtype: DataImportState.set_column_type(column["name"], dtype),
            class_name="grove-select",
            aria_label="Type of column " + column["name"],
            style={"height": "1.75rem", "font_size": "0.75rem", "margin_top": "0.25rem"},
            id="type-" + column["name"],
        ),
    )


def _preview_grid() -> rx.Component:
    return rx.el.div(
        rx.el.table(
            rx.el.thead(rx.el.tr(rx.foreach(DataImportState.columns, _type_header))),
            rx.el.tbody(
                rx.foreach(
                    DataImportState.rows,
                    lambda row: rx.el.tr(rx.foreach(row, lambda cell: rx.el.td(cell, title=cell))),
                )
            ),
            class_name="grove-table",
            id="preview-table",
        ),
        class_name="grove-table-wrap",
        style={"max_height": "28rem", "overflow": "auto"},
    )


def _drop_zone() -> rx.Component:
    return rx.upload(
        rx.el.div(
            rx.icon("upload", size=28, aria_hidden="true"),
            rx.el.div(
                "Drop a file here, or click to choose one",
                style={"font_weight": "600", "margin_top": "0.5rem"},
            ),
            rx.el.div("CSV, TSV, TXT, Excel (.xlsx, .xls), Parquet or JSON", class_name="grove-field-help"),
            class_name="grove-dropzone",
        ),
        id=UPLOAD_ID,
        multiple=False,
        max_files=1,
        accept=ACCEPT,
        on_drop=DataImportState.handle_upload(
            rx.upload_files(upload_id=UPLOAD_ID, on_upload_progress=DataImportState.on_upload_progress)
        ),
        border="none",
        padding="0",
        width="100%",
    )


@app_page(
    "/projects/[project_id]/import",
    "Import data",
    crumbs=[("Projects", "/projects"), ("Import data", None)],
    tab="Projects",
    on_load=[DataImportState.load],
)
def import_page() -> rx.Component:
    uploading = rx.vstack(
        rx.el.div("Uploading… ", DataImportState.upload_percent, "%", class_name="grove-muted"),
        progress_bar(DataImportState.upload_percent, label="Upload progress", id="upload-progress"),
        width="100%",
    )
    importing = rx.vstack(
        rx.el.div(
            DataImportState.import_stage, " · ", DataImportState.import_percent, "%", id="import-stage"
        ),
        progress_bar(DataImportState.import_percent, label="Import progress", id="import-progress"),
        width="100%",
    )
    preview = rx.vstack(
        card(
            rx.hstack(
                rx.icon("file", size=18, aria_hidden="true"),
                rx.el.strong(DataImportState.file_name, id="uploaded-name"),
                rx.el.span(DataImportState.file_size, class_name="grove-muted"),
                align="center",
                spacing="2",
            ),
            rx.foreach(
                DataImportState.warnings,
                lambda w: rx.el.div(badge("note", status="warning"), " ", w, class_name="grove-field-help"),
            ),
            title="Uploaded file",
        ),
        _settings_panel(),
        card(
            rx.cond(
                DataImportState.hidden_columns > 0,
                rx.el.p(
                    "Showing the first 50 columns; ",
                    DataImportState.hidden_columns,
                    " more keep their detected types.",
                    class_name="grove-field-help",
                ),
            ),
            _preview_grid(),
            title="Preview: first 100 rows",
            description="Check each column's type; values that do not fit a type become missing and are counted.",
        ),
        card(
            rx.vstack(
                rx.cond(
                    DataImportState.replace_id == "",
                    rx.el.div(
                        rx.el.label(
                            "Data source name", html_for="import-name", class_name="grove-field-label"
                        ),
                        rx.input(
                            value=DataImportState.name,
                            on_change=DataImportState.set_name,
                            id="import-name",
                            size="3",
                            max_length=300,
                        ),
                        class_name="grove-field",
                    ),
                    rx.el.p(
                        "This file becomes a new version of “",
                        DataImportState.name,
                        "”; earlier versions stay.",
                        class_name="grove-prose",
                    ),
                ),
                rx.cond(DataImportState.importing, importing),
                rx.hstack(
                    button(
                        "Cancel",
                        variant="secondary",
                        on_click=DataImportState.cancel,
                        disabled=DataImportState.importing,
                    ),
                    button(
                        "Import",
                        icon="check",
                        on_click=DataImportState.run_import,
                        loading=DataImportState.importing,
                        id="run-import",
                    ),
                    spacing="3",
                ),
                spacing="4",
                width="100%",
                align="start",
            ),
            title="Import",
        ),
        spacing="5",
        width="100%",
        align="stretch",
    )
    return rx.box(
        page_header(
            rx.cond(DataImportState.replace_id == "", "Import data", "Upload a new version"),
            subtitle="Nothing is changed or cleaned: what you confirm here is exactly what gets imported. "
            "The original file is kept.",
        ),
        form_error(DataImportState.error),
        rx.box(height="1rem"),
        rx.cond(
            DataImportState.upload_id == "",
            rx.vstack(_drop_zone(), rx.cond(DataImportState.uploading, uploading), width="100%", spacing="3"),
            preview,
        ),
        width="100%",
    )


# ---------------------------------------------------------------- the data source page


def _quality_row(column) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.el.strong(column.name), title=column.name),
        rx.el.td(badge(column.dtype)),
        rx.el.td(column.missing, class_name="num"),
        rx.el.td(column.missing_pct, class_name="num"),
        rx.el.td(column.unique, class_name="num"),
        rx.el.td(column.detail, title=column.detail),
        rx.el.td(
            rx.el.div(
                rx.foreach(column.bars, lambda h: rx.el.div(style={"height": h + "%"})),
                class_name="grove-histogram",
                aria_hidden="true",
            )
        ),
    )


def _version_row(v) -> rx.Component:
    return rx.el.tr(
        rx.el.td("v" + v["version"]),
        rx.el.td(v["rows"], class_name="num"),
        rx.el.td(v["columns"], class_name="num"),
        rx.el.td(v["created"]),
        rx.el.td(v["original"]),
        rx.el.td(rx.el.code(v["sha256"]), title="SHA-256 of the stored Parquet file"),
    )


def _grid_header(column) -> rx.Component:
    arrow = rx.cond(
        DataSourceState.sort_column == column["name"], rx.cond(DataSourceState.sort_ascending, " ▲", " ▼"), ""
    )
    return rx.el.th(
        rx.el.button(
            column["name"],
            arrow,
            on_click=DataSourceState.sort_by(column["name"]),
            style={"all": "unset", "cursor": "pointer"},
            title="Sort the view (the data is not changed)",
        ),
        rx.el.div(badge(column["dtype"]), style={"margin_top": "0.25rem"}),
        class_name=rx.cond((column["dtype"] == "integer") | (column["dtype"] == "float"), "num", ""),
    )


def _grid() -> rx.Component:
    def row(cells):
        return rx.el.tr(
            rx.foreach(
                cells,
                lambda cell, index: rx.el.td(
                    cell,
                    title=cell,
                    class_name=rx.cond(
                        (DataSourceState.grid_columns[index]["dtype"] == "integer")
                        | (DataSourceState.grid_columns[index]["dtype"] == "float"),
                        "num",
                        "",
                    ),
                ),
            )
        )

    pager = rx.hstack(
        rx.el.span(DataSourceState.page_label, id="page-label", class_name="grove-muted"),
        rx.spacer(),
        rx.el.select(
            *[rx.el.option(f"{n} rows", value=n) for n in PAGE_SIZES],
            value=DataSourceState.page_size.to_string(),
            on_change=DataSourceState.set_page_size,
            class_name="grove-select",
            aria_label="Rows per page",
        ),
        button(
            "Previous",
            variant="secondary",
            on_click=DataSourceState.previous_page,
            disabled=~DataSourceState.has_previous,
            id="page-previous",
        ),
        button(
            "Next",
            variant="secondary",
            on_click=DataSourceState.next_page,
            disabled=~DataSourceState.has_next,
            id="page-next",
        ),
        width="100%",
        align="center",
        spacing="3",
        margin_bottom="0.75rem",
    )
    return rx.box(
        pager,
        rx.cond(
            DataSourceState.hidden_columns > 0,
            rx.el.p(
                "Showing the first 60 columns; ",
                DataSourceState.hidden_columns,
                " more are in the downloads.",
                class_name="grove-field-help",
            ),
        ),
        rx.el.div(
            rx.el.table(
                rx.el.thead(rx.el.tr(rx.foreach(DataSourceState.grid_columns, _grid_header))),
                rx.el.tbody(rx.foreach(DataSourceState.grid_rows, row)),
                class_name="grove-table",
                id="data-grid",
            ),
            class_name="grove-table-wrap",
            style={"max_height": "36rem", "overflow": "auto"},
        ),
        width="100%",
    )


def _downloads() -> rx.Component:
    links = [("CSV", "csv"), ("Parquet", "parquet"), ("Excel", "excel"), ("JSON", "json")]
    return rx.hstack(
        *[
            download_button(label, DataSourceState.download_base + fmt, id=f"download-{fmt}")
            for label, fmt in links
        ],
        spacing="2",
        wrap="wrap",
    )


def _link() -> rx.Component:
    return card(
        rx.form(
            rx.hstack(
                rx.el.div(
                    rx.el.label("Project", html_for="link-project", class_name="grove-field-label"),
                    rx.el.select(
                        rx.foreach(
                            DataSourceState.link_targets, lambda t: rx.el.option(t["name"], value=t["id"])
                        ),
                        name="project",
                        id="link-project",
                        class_name="grove-select",
                    ),
                    class_name="grove-field",
                    style={"width": "auto"},
                ),
                select_input(
                    "role",
                    "Role there",
                    [("primary", "Primary"), ("secondary", "Secondary"), ("reference", "Reference")],
                    default_value="secondary",
                    field_id="link-role",
                ),
                button("Use there too", type="submit", variant="secondary", id="link-submit"),
                align="end",
                spacing="3",
            ),
            form_error(DataSourceState.link_error),
            on_submit=DataSourceState.link,
        ),
        title="Use in another project",
        description="The same data, no copy: new versions show up in every project that uses it.",
    )


def _manage() -> rx.Component:
    return card(
        rx.form(
            rx.vstack(
                text_input(
                    "name",
                    "Name",
                    default_value=DataSourceState.info["name"],
                    error=DataSourceState.name_error,
                    max_length=300,
                    required=True,
                ),
                textarea_input(
                    "description",
                    "Description",
                    default_value=DataSourceState.info["description"],
                    max_length=4000,
                ),
                rx.hstack(
                    button("Save", type="submit", id="save-data-source"),
                    rx.link(
                        button("Upload a new version", variant="secondary", icon="upload", type="button"),
                        href="/projects/"
                        + DataSourceState.project_id
                        + "/import?replace="
                        + DataSourceState.data_source_id,
                    ),
                    rx.spacer(),
                    confirm_modal(
                        button("Delete", variant="danger", type="button", id="delete-data-source"),
                        title="Delete this data source?",
                        description="Its versions and files are deleted. If other projects use it, it is only "
                        "removed from this project.",
                        confirm_label="Delete",
                        on_confirm=DataSourceState.delete,
                        test_id="delete-data-source",
                    ),
                    width="100%",
                    spacing="3",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=DataSourceState.rename,
            key=DataSourceState.info["name"],
        ),
        title="Manage",
    )


def _lineage() -> rx.Component:
    parent = rx.cond(
        DataSourceState.lineage["href"] != "",
        rx.link(DataSourceState.lineage["parent"], href=DataSourceState.lineage["href"]),
        rx.el.span(DataSourceState.lineage["parent"]),
    )
    return card(
        rx.el.p("Derived from ", parent, " version ", DataSourceState.lineage["version"], " by these steps:"),
        rx.el.ol(
            rx.foreach(DataSourceState.lineage_steps, lambda step: rx.el.li(step)),
            class_name="grove-lineage-steps",
        ),
        title="Lineage",
        description="Saved from a Data Studio session: the recipe is kept with this version.",
        id="lineage",
    )


def _studio_session_row(row) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.link(row.name, href=row.href, class_name="studio-session-link")),
        rx.el.td(row.steps),
        rx.el.td(row.version, class_name="num"),
        rx.el.td(row.author),
        rx.el.td(row.updated),
        rx.el.td(
            rx.cond(
                DataSourceState.can_edit,
                rx.hstack(
                    rx.popover.root(
                        rx.popover.trigger(button("Rename", variant="ghost", size="1")),
                        rx.popover.content(
                            rx.el.form(
                                rx.el.input(type="hidden", name="id", value=row.id),
                                rx.el.input(
                                    name="name",
                                    default_value=row.name,
                                    class_name="grove-input",
                                    aria_label="Session name",
                                ),  # fmt: skip
                                button("Save", size="1", type="submit"),
                                on_submit=StudioSessionsState.rename_session,
                                class_name="studio-inline",
                            )
                        ),
                    ),
                    button(
                        "Duplicate",
                        variant="ghost",
                        size="1",
                        on_click=StudioSessionsState.duplicate_session(row.id),
                    ),
                    confirm_modal(
                        button("Delete", variant="ghost", size="1"),
                        title="Delete this studio session?",
                        description="Its history of steps is removed. The data source itself is not changed.",
                        confirm_label="Delete session",
                        on_confirm=StudioSessionsState.delete_session(row.id),
                        test_id="delete-session",
                    ),
                    spacing="1",
                ),
            )
        ),
    )


def _studio_sessions() -> rx.Component:
    return card(
        rx.cond(
            StudioSessionsState.session_rows.length() > 0,
            table(
                ("Session", "Where", "Version", "Started by", "Changed", ""),
                StudioSessionsState.session_rows,
                _studio_session_row,
                table_id="sessions-table",
                numeric=("Version",),
            ),
            rx.el.p(
                "No sessions yet. Open the Data Studio to clean and reshape this data; every step is kept.",
                class_name="grove-field-help",
            ),
        ),
        form_error(StudioSessionsState.sessions_error),
        rx.cond(
            DataSourceState.can_edit,
            button(
                "New studio session",
                icon="wand-sparkles",
                on_click=StudioSessionsState.new_session,
                id="new-session",
                margin_top="0.75rem",
            ),  # fmt: skip
        ),
        title="Data Studio sessions",
        description="Named, lasting histories of cleaning steps over this data. Resume any of them.",
        id="studio-sessions",
    )


def _database_query() -> rx.Component:
    C = ConnectorSourceState
    refreshing = rx.vstack(
        rx.el.div(
            C.refresh_stage, " · ", C.refresh_percent, "%", id="refresh-stage", class_name="grove-muted"
        ),
        progress_bar(C.refresh_percent, label="Refresh progress", id="refresh-progress"),
        width="100%",
    )
    return card(
        rx.cond(
            C.recorded_connection != "",
            rx.el.p("Connection: ", rx.el.strong(C.recorded_connection), class_name="grove-muted"),
        ),
        rx.el.pre(rx.el.code(C.recorded_sql), class_name="studio-code", id="recorded-sql"),
        rx.cond(
            C.recorded_params.length() > 0,
            rx.el.div(
                rx.el.ul(
                    rx.foreach(C.recorded_params, lambda p: rx.el.li(rx.el.code(p))), id="recorded-params"
                ),
                class_name="query-params",
            ),
        ),
        form_error(C.refresh_error),
        rx.cond(C.refreshing, refreshing),
        rx.cond(
            C.can_edit,
            rx.box(
                button(
                    "Refresh",
                    icon="refresh-cw",
                    variant="secondary",
                    on_click=C.refresh,
                    loading=C.refreshing,
                    id="refresh-query",
                ),
                margin_top="0.75rem",
            ),
        ),
        title="Database query",
        description="This data source was imported from a database; Refresh runs the query again into a new "
        "version (earlier versions stay).",
        id="database-query",
    )


def _export_to_database() -> rx.Component:
    C = ConnectorSourceState
    exporting = rx.vstack(
        rx.el.div(C.export_stage, " · ", C.export_percent, "%", id="export-stage", class_name="grove-muted"),
        progress_bar(C.export_percent, label="Export progress", id="export-progress"),
        width="100%",
    )
    form = rx.vstack(
        rx.hstack(
            rx.el.div(
                rx.el.label("Connection", html_for="export-connection", class_name="grove-field-label"),
                rx.el.select(
                    rx.foreach(C.export_connections, lambda c: rx.el.option(c["name"], value=c["id"])),
                    value=C.export_connection_id,
                    on_change=C.set_export_connection,
                    name="connection",
                    id="export-connection",
                    class_name="grove-select",
                ),
                class_name="grove-field",
            ),
            rx.el.div(
                rx.el.label("Table name", html_for="export-table", class_name="grove-field-label"),
                rx.input(
                    value=C.export_table,
                    on_change=C.set_export_table,
                    name="table",
                    id="export-table",
                    size="3",
                ),
                class_name="grove-field",
            ),
            rx.el.div(
                rx.el.label("If the table exists", html_for="export-mode", class_name="grove-field-label"),
                rx.el.select(
                    *[rx.el.option(text, value=mode) for mode, text in EXPORT_MODES],
                    value=C.export_mode,
                    on_change=C.set_export_mode,
                    name="mode",
                    id="export-mode",
                    class_name="grove-select",
                ),
                class_name="grove-field",
            ),
            spacing="4",
            wrap="wrap",
            align="end",
        ),
        form_error(C.export_error),
        rx.cond(C.exporting, exporting),
        button("Export", icon="upload", type="submit", loading=C.exporting, id="run-export"),
        spacing="3",
        width="100%",
        align="start",
    )
    form = rx.form(form, on_submit=C.run_export, width="100%")
    return card(
        rx.cond(
            C.export_connections.length() > 0,
            form,
            rx.el.p(
                "Add a database connection to the project first (Connections tab).", class_name="grove-muted"
            ),
        ),
        title="Export to a database table",
        description="Writes the newest version to a table: create a new one, replace it, or append rows.",
        id="export-database",
    )


@app_page(
    "/projects/[project_id]/data/[data_source_id]",
    "Data source",
    crumbs=[("Projects", "/projects"), (DataSourceState.project_name, None)],
    tab="Projects",
    on_load=[DataSourceState.load, StudioSessionsState.load_sessions, ConnectorSourceState.load_connector],
)
def data_source_page() -> rx.Component:
    base = "/projects/" + DataSourceState.project_id
    overview = rx.el.div(
        *[
            rx.el.div(
                rx.el.div(
                    rx.el.span(label, class_name="grove-stat-label"),
                    rx.el.span(
                        DataSourceState.overview[key], class_name="grove-stat-value", id=f"overview-{key}"
                    ),
                    class_name="grove-stat",
                ),
                class_name="grove-card",
            )
            for label, key in (
                ("Rows", "rows"),
                ("Columns", "columns"),
                ("Memory", "memory"),
                ("Missing cells", "missing"),
            )
        ],
        class_name="grove-grid",
    )
    quality = card(
        table(
            ("Column", "Type", "Missing", "%", "Unique", "Summary", "Distribution"),
            DataSourceState.column_reports,
            _quality_row,
            table_id="quality-table",
            numeric=("Missing", "%", "Unique"),
        ),
        title="Quality report",
        description="Computed from the stored data, nothing changed: gaps and duplicates are information.",
    )
    versions = card(
        table(
            ("Version", "Rows", "Columns", "Created", "Source", "Fingerprint"),
            DataSourceState.versions,
            _version_row,
            table_id="versions-table",
            numeric=("Rows", "Columns"),
        ),
        title="Versions and lineage",
        description="Each upload is kept as its own version, with the original file it came from.",
    )
    content = rx.vstack(
        page_header(
            DataSourceState.info["name"],
            subtitle=rx.el.div(
                rx.el.div(
                    "Version ",
                    DataSourceState.info["version"],
                    " · ",
                    DataSourceState.info["size"],
                    " on disk · role ",
                    DataSourceState.info["role"],
                ),
                rx.el.div(
                    DataSourceState.info["description"],
                    id="data-source-description",
                    style={"margin_top": "0.5rem", "max_width": "48rem"},
                ),
            ),
            actions=[rx.link(button("Back to project", variant="ghost", icon="arrow-left"), href=base)],
        ),
        overview,
        card(
            _downloads(), title="Download", description="Streamed from the server in the format you choose."
        ),
        rx.cond(DataSourceState.lineage.length() > 0, _lineage()),
        rx.cond(ConnectorSourceState.is_query, _database_query()),
        _studio_sessions(),
        quality,
        card(
            _grid(),
            title="Data",
            description="Click a column name to sort the view; the stored data never changes.",
        ),
        versions,
        rx.cond(DataSourceState.can_edit, _manage()),
        rx.cond(ConnectorSourceState.can_edit, _export_to_database()),
        rx.cond(DataSourceState.link_targets.length() > 0, _link()),
        spacing="5",
        width="100%",
        align="stretch",
    )
    return rx.cond(
        DataSourceState.loaded,
        content,
        rx.center(rx.spinner(size="3"), padding="4rem"),
    )
