"""Data Studio: /projects/[project_id]/studio/[session_id].

Left: the operation panel (a form generated from the operation's parameter schema). Middle: the server-paged
grid with a view-only sort, filter and search. Right: the history. Below: column profile, charts and code.
"""

from __future__ import annotations

import reflex as rx

from hydroml.components import button, download_button, form_error
from hydroml.components.layout import page_header
from hydroml.pages.template import app_page
from hydroml.state.studio import CONDITION_OPS, FILTER_OPS, OPERATION_GROUPS, PAGE_SIZES, StudioState
from hydroml.state.studio_panels import StudioPanelsState

ROUTE = "/projects/[project_id]/studio/[session_id]"


def _status_badge(state) -> rx.Component:
    return rx.el.span(
        rx.match(
            state,
            ("applied", "applied"),
            ("off", "off"),
            ("broken", "does not fit"),
            ("pending", "undone"),
            state,
        ),
        class_name=rx.match(
            state,
            ("applied", "grove-badge grove-badge--success"),
            ("broken", "grove-badge grove-badge--error"),
            ("pending", "grove-badge grove-badge--info"),
            "grove-badge grove-badge--neutral",
        ),
    )


# ------------------------------------------------------------------------------------------------ operation form


def _select(
    value, options, on_change, *, label: str, placeholder="Choose…", class_name: str = "grove-select", **props
) -> rx.Component:
    return rx.el.select(
        rx.el.option(placeholder, value=""),
        rx.foreach(options, lambda option: rx.el.option(option, value=option)),
        value=value,
        on_change=on_change,
        class_name=class_name,
        aria_label=label,
        **props,
    )


def _checklist(field) -> rx.Component:
    return rx.el.div(
        rx.foreach(
            field.options,
            lambda option: rx.el.label(
                rx.el.input(
                    type="checkbox",
                    checked=field.selected.contains(option),
                    on_change=lambda _checked: StudioState.toggle_option(field.name, option),
                ),
                rx.el.span(option),
                class_name="studio-check",
            ),
        ),
        class_name="studio-checklist",
    )


def _mapping(field) -> rx.Component:
    def row(pair):
        control = rx.cond(
            field.choices.length() > 0,
            rx.el.select(
                rx.el.option("—", value=""),
                rx.foreach(field.choices, lambda c: rx.el.option(c, value=c)),
                value=pair[1],
                on_change=lambda v: StudioState.set_pair(field.name, pair[0], v),
                class_name="grove-select studio-small",
                aria_label="Value for " + pair[0],
            ),
            rx.el.input(
                value=pair[1],
                on_change=lambda v: StudioState.set_pair(field.name, pair[0], v),
                class_name="grove-input studio-small",
                aria_label="Value for " + pair[0],
            ),
        )
        return rx.el.div(
            rx.el.span(pair[0], class_name="studio-pair-name"), control, class_name="studio-pair"
        )

    return rx.el.div(rx.foreach(field.pairs, row), class_name="studio-checklist")


def _conditions(field) -> rx.Component:
    def rule(parts, index):
        return rx.el.div(
            _select(
                parts[0],
                field.options,
                lambda v: StudioState.set_rule(field.name, index, 0, v),
                label="Column",
                class_name="grove-select studio-small",
            ),
            rx.el.select(
                *[rx.el.option(op, value=op) for op in CONDITION_OPS],
                value=parts[1],
                on_change=lambda v: StudioState.set_rule(field.name, index, 1, v),
                class_name="grove-select studio-small",
                aria_label="Comparison",
            ),
            rx.el.input(
                value=parts[2],
                on_change=lambda v: StudioState.set_rule(field.name, index, 2, v),
                placeholder="value",
                class_name="grove-input studio-small",
                aria_label="Value",
            ),
            rx.el.button(
                "×",
                on_click=StudioState.remove_rule(field.name, index),
                class_name="studio-x",
                aria_label="Remove condition",
                type="button",
            ),
            class_name="studio-rule",
        )

    return rx.el.div(
        rx.el.select(
            rx.el.option("all conditions hold (AND)", value="all"),
            rx.el.option("any condition holds (OR)", value="any"),
            value=field.combine,
            on_change=lambda v: StudioState.set_combine(field.name, v),
            class_name="grove-select studio-small",
            aria_label="Combine conditions",
        ),
        rx.foreach(field.rules, rule),
        rx.el.button(
            "+ condition", on_click=StudioState.add_rule(field.name), class_name="studio-link", type="button"
        ),
        class_name="studio-conditions",
    )


def _field_control(field, set_field=None, id_prefix: str = "op-field-") -> rx.Component:
    """The control of one parameter field. The Data Studio passes nothing (its own state); another form built
    from the same `Param` schemas (the experiment wizard's model form) passes its `set_field(name, text)` handler
    and gets the scalar kinds (text, integer, number, integers, choice, boolean, column)."""
    studio = set_field is None
    set_field = StudioState.set_field if studio else set_field
    text = rx.el.input(
        value=field.value,
        on_change=lambda v: set_field(field.name, v),
        class_name="grove-input",
        id=id_prefix + field.name,
        aria_label=field.label,
        aria_invalid=rx.cond(field.error != "", "true", "false"),
    )
    cases = [
        (
            "column",
            _select(
                field.value,
                field.options,
                lambda v: set_field(field.name, v),
                label="Column",
                placeholder=rx.cond(field.required, "Choose…", "— none —"),
                id=id_prefix + field.name,
            ),
        ),  # fmt: skip
        (
            "choice",
            _select(
                field.value,
                field.choices,
                lambda v: set_field(field.name, v),
                label=field.label,
                id=id_prefix + field.name,
            ),
        ),  # fmt: skip
        (
            "boolean",
            rx.el.label(
                rx.el.input(
                    type="checkbox",
                    checked=field.value == "true",
                    on_change=lambda c: set_field(field.name, rx.cond(c, "true", "false")),
                    id=id_prefix + field.name,
                ),
                rx.el.span(" yes"),
                class_name="studio-check",
            ),
        ),  # fmt: skip
    ]
    if studio:
        cases += [
            (
                "source",
                rx.el.select(
                    rx.el.option("Choose a data source…", value=""),
                    rx.foreach(StudioState.source_choices, lambda c: rx.el.option(c[1], value=c[0])),
                    value=field.value,
                    on_change=lambda v: StudioState.set_field(field.name, v),
                    class_name="grove-select",
                    id=id_prefix + field.name,
                ),
            ),  # fmt: skip
            ("columns", _checklist(field)),
            ("mapping", _mapping(field)),
            ("conditions", _conditions(field)),
        ]
    return rx.match(field.kind, *cases, text)


def param_field(field, set_field=None, id_prefix: str = "op-field-") -> rx.Component:
    """One parameter field (label, control, help, error) of a form generated from a `Param` schema."""
    return rx.el.div(
        rx.el.label(
            field.label,
            rx.cond(field.required, " *", ""),
            class_name="grove-label",
            html_for=id_prefix + field.name,
        ),
        _field_control(field, set_field, id_prefix),
        rx.cond(field.help != "", rx.el.p(field.help, class_name="grove-field-help")),
        rx.cond(field.error != "", rx.el.p(field.error, class_name="grove-field-error", role="alert")),
        class_name="studio-field",
    )


def _operation_panel() -> rx.Component:
    chooser = rx.el.select(
        rx.el.option("Add a step…", value=""),
        *[
            rx.el.optgroup(*[rx.el.option(label, value=key) for key, label in ops], label=group)
            for group, ops in OPERATION_GROUPS
        ],
        value=rx.cond(StudioState.editing_step_id == "", StudioState.op_key, ""),
        on_change=StudioState.choose_operation,
        class_name="grove-select",
        id="operation-select",
        aria_label="Operation",
        disabled=~StudioState.can_edit,
    )
    form = rx.el.div(
        rx.el.h3(
            rx.cond(StudioState.editing_step_id != "", "Edit: ", ""),
            StudioState.op_label,
            class_name="grove-card-title",
        ),
        rx.el.p(StudioState.op_summary, class_name="grove-field-help"),
        rx.foreach(StudioState.fields, lambda field: param_field(field)),
        form_error(StudioState.form_error),
        rx.cond(
            StudioState.confirm_discard,
            rx.el.div(
                rx.el.p(
                    "You undid ",
                    StudioState.step_count - StudioState.cursor,
                    " step(s). Adding this step discards them.",
                ),
                rx.hstack(
                    button(
                        "Discard and add",
                        variant="danger",
                        on_click=StudioState.submit_operation(True),
                        id="confirm-discard",
                    ),  # fmt: skip
                    button("Keep them", variant="secondary", on_click=StudioState.cancel_discard),
                    spacing="2",
                ),
                class_name="studio-warning",
                role="alert",
            ),
        ),
        rx.hstack(
            button(
                rx.cond(StudioState.editing_step_id != "", "Save step", "Apply step"),
                on_click=StudioState.submit_operation(False),
                loading=StudioState.busy != "",
                id="apply-step",
            ),
            button("Cancel", variant="ghost", on_click=StudioState.close_form, id="cancel-step"),
            spacing="2",
            margin_top="0.75rem",
        ),
        class_name="studio-form",
    )
    return rx.el.section(
        rx.el.h2("Operations", class_name="studio-panel-title"),
        rx.cond(
            StudioState.can_edit,
            chooser,
            rx.el.p("You can view this session; editors change it.", class_name="grove-field-help"),
        ),
        rx.cond(StudioState.op_key != "", form),
        class_name="studio-panel",
        id="operation-panel",
    )


# ------------------------------------------------------------------------------------------------ grid


def _header(column) -> rx.Component:
    return rx.el.th(
        rx.el.button(
            column.name,
            rx.cond(column.sort_mark != "", rx.el.span(" ", column.sort_mark, class_name="studio-sort")),
            on_click=StudioState.sort_by(column.name),
            style={"all": "unset", "cursor": "pointer"},
            title="Sort the view (the data is not changed); click again to reverse, a third time to remove",
        ),
        rx.el.div(
            rx.el.span(column.dtype, class_name="grove-badge grove-badge--neutral"),
            rx.cond(
                column.missing != "0",
                rx.el.span(column.missing, " missing", class_name="grove-badge grove-badge--warning"),
            ),
            rx.el.button(
                "profile",
                on_click=StudioPanelsState.show_profile(column.name),
                class_name="studio-link",
                title="Column profile",
            ),
            class_name="studio-header-meta",
        ),
        class_name=rx.cond(column.numeric, "num", ""),
    )


def _grid() -> rx.Component:
    def row(cells):
        return rx.el.tr(
            rx.foreach(
                cells,
                lambda cell, index: rx.el.td(
                    cell, title=cell, class_name=rx.cond(StudioState.grid_columns[index].numeric, "num", "")
                ),
            )
        )

    view_tools = rx.hstack(
        rx.el.form(
            rx.el.input(
                name="search",
                placeholder="Search the view…",
                class_name="grove-input studio-small",
                aria_label="Search",
                id="grid-search",
                default_value=StudioState.search,
            ),  # fmt: skip
            on_submit=StudioState.apply_search,
            reset_on_submit=False,
        ),
        rx.el.form(
            rx.el.select(
                rx.foreach(StudioState.column_names, lambda c: rx.el.option(c, value=c)),
                name="column",
                class_name="grove-select studio-small",
                aria_label="Filter column",
                id="filter-column",
            ),
            rx.el.select(
                *[rx.el.option(op, value=op) for op in FILTER_OPS],
                name="op",
                class_name="grove-select studio-small",
                aria_label="Filter comparison",
                id="filter-op",
            ),
            rx.el.input(
                name="value",
                placeholder="value",
                class_name="grove-input studio-small",
                aria_label="Filter value",
                id="filter-value",
            ),  # fmt: skip
            button("Filter view", variant="secondary", type="submit", size="1", id="filter-add"),
            on_submit=StudioState.add_filter,
            class_name="studio-inline",
        ),
        rx.cond(
            (StudioState.sort_keys.length() > 0)
            | (StudioState.filter_rules.length() > 0)
            | (StudioState.search != ""),
            button("Clear view", variant="ghost", size="1", on_click=StudioState.clear_view, id="clear-view"),
        ),
        spacing="3",
        wrap="wrap",
        align="center",
    )
    filters = rx.hstack(
        rx.foreach(
            StudioState.filter_rules,
            lambda rule, i: rx.el.span(
                rule[0],
                " ",
                rule[1],
                " ",
                rule[2],
                rx.el.button(
                    "×",
                    on_click=StudioState.remove_filter(i),
                    class_name="studio-x",
                    aria_label="Remove filter",
                ),
                class_name="grove-badge grove-badge--info",
            ),  # fmt: skip
        ),
        spacing="2",
        wrap="wrap",
    )
    pager = rx.hstack(
        rx.el.span(StudioState.page_label, id="page-label", class_name="grove-muted"),
        rx.el.span(" · ", StudioState.column_label, class_name="grove-muted", id="column-label"),
        rx.spacer(),
        rx.cond(
            StudioState.wide,
            rx.hstack(
                button(
                    "◀ columns",
                    variant="ghost",
                    size="1",
                    on_click=StudioState.shift_columns(-1),
                    disabled=StudioState.column_offset == 0,
                    id="columns-previous",
                ),  # fmt: skip
                button(
                    "columns ▶",
                    variant="ghost",
                    size="1",
                    on_click=StudioState.shift_columns(1),
                    id="columns-next",
                ),  # fmt: skip
                spacing="1",
            ),
        ),
        rx.el.select(
            *[rx.el.option(f"{n} rows", value=n) for n in PAGE_SIZES],
            value=StudioState.page_size.to_string(),
            on_change=StudioState.set_page_size,
            class_name="grove-select studio-small",
            aria_label="Rows per page",
        ),
        button(
            "Previous",
            variant="secondary",
            size="1",
            on_click=StudioState.previous_page,
            disabled=~StudioState.has_previous,
            id="page-previous",
        ),  # fmt: skip
        button(
            "Next",
            variant="secondary",
            size="1",
            on_click=StudioState.next_page,
            disabled=~StudioState.has_next,
            id="page-next",
        ),  # fmt: skip
        width="100%",
        align="center",
        spacing="2",
        wrap="wrap",
    )
    return rx.el.section(
        view_tools,
        filters,
        rx.cond(
            StudioState.view_error != "",
            rx.el.p(StudioState.view_error, class_name="grove-field-error", role="alert"),
        ),  # fmt: skip
        pager,
        rx.el.div(
            rx.el.table(
                rx.el.thead(rx.el.tr(rx.foreach(StudioState.grid_columns, _header))),
                rx.el.tbody(rx.foreach(StudioState.grid_rows, row)),
                class_name="grove-table",
                id="studio-grid",
            ),
            class_name="grove-table-wrap studio-grid-wrap",
        ),
        class_name="studio-panel studio-center",
    )


# ------------------------------------------------------------------------------------------------ history


def _history_row(row) -> rx.Component:
    small = {"variant": "ghost", "size": "1"}
    return rx.el.li(
        rx.el.div(
            rx.el.button(
                rx.el.span(row.number, ".", class_name="studio-step-number"),
                rx.el.span(row.label, class_name="studio-step-label"),
                on_click=StudioState.jump(row.index + 1),
                class_name="studio-step-jump",
                title="Go to this step",
                disabled=~StudioState.can_edit,
            ),
            _status_badge(row.state),
            class_name="studio-step-head",
        ),
        rx.cond(
            row.reason != "",
            rx.el.p(
                row.reason,
                class_name=rx.cond(
                    row.state == "broken", "grove-field-error", "grove-field-help studio-note"
                ),
            ),
        ),
        rx.cond(row.shape != "", rx.el.p(row.shape, class_name="grove-field-help")),
        rx.cond(
            StudioState.can_edit,
            rx.hstack(
                button(
                    rx.cond(row.state == "off", "Turn on", "Turn off"),
                    on_click=StudioState.toggle_step(row.step_id),
                    **small,
                ),  # fmt: skip
                button("Edit", on_click=StudioState.edit_step(row.step_id), **small),
                button("↑", on_click=StudioState.move_step(row.step_id, -1), aria_label="Move up", **small),
                button("↓", on_click=StudioState.move_step(row.step_id, 1), aria_label="Move down", **small),
                button(
                    "Delete", on_click=StudioState.delete_step(row.step_id), aria_label="Delete step", **small
                ),
                spacing="1",
                wrap="wrap",
            ),
        ),
        class_name=rx.cond(
            row.current,
            "studio-step studio-step--current",
            rx.cond(row.state == "pending", "studio-step studio-step--pending", "studio-step"),
        ),  # fmt: skip
        id="step-" + row.number,
    )


def _history_panel() -> rx.Component:
    return rx.el.section(
        rx.el.h2("History", class_name="studio-panel-title"),
        rx.hstack(
            button(
                "Undo",
                variant="secondary",
                size="1",
                icon="undo-2",
                on_click=StudioState.undo,
                disabled=~StudioState.can_undo,
                id="undo",
            ),  # fmt: skip
            button(
                "Redo",
                variant="secondary",
                size="1",
                icon="redo-2",
                on_click=StudioState.redo,
                disabled=~StudioState.can_redo,
                id="redo",
            ),  # fmt: skip
            spacing="2",
        ),
        rx.el.ol(
            rx.el.li(
                rx.el.button(
                    "0. Original data",
                    on_click=StudioState.jump(0),
                    class_name="studio-step-jump",
                    disabled=~StudioState.can_edit,
                ),
                class_name=rx.cond(
                    StudioState.cursor == 0, "studio-step studio-step--current", "studio-step"
                ),
                id="step-0",
            ),
            rx.foreach(StudioState.history, _history_row),
            class_name="studio-history",
            id="history",
        ),
        class_name="studio-panel",
    )


# ------------------------------------------------------------------------------------------------ lower panels


def _profile() -> rx.Component:
    return rx.cond(
        StudioPanelsState.profile_column != "",
        rx.el.div(
            rx.el.h3("Column ", StudioPanelsState.profile_column, class_name="grove-card-title"),
            rx.el.dl(
                rx.foreach(
                    StudioPanelsState.profile_facts,
                    lambda fact: rx.el.div(rx.el.dt(fact[0]), rx.el.dd(fact[1]), class_name="studio-fact"),
                ),
                class_name="studio-facts",
                id="profile-facts",
            ),
            rx.el.div(
                rx.foreach(StudioPanelsState.profile_bars, lambda h: rx.el.div(style={"height": h + "%"})),
                class_name="grove-histogram studio-spark",
            ),
        ),
        rx.el.p("Click “profile” under a column name to see its statistics.", class_name="grove-field-help"),
    )


def _column_choice(name: str, empty: str, label: str) -> rx.Component:
    return rx.el.select(
        rx.el.option(empty, value=""),
        rx.foreach(StudioState.column_names, lambda c: rx.el.option(c, value=c)),
        name=name,
        class_name="grove-select studio-small",
        aria_label=label,
        id=f"chart-{name}",
    )


def _charts() -> rx.Component:
    return rx.el.div(
        rx.el.form(
            rx.el.select(
                *[rx.el.option(label, value=key) for key, label in CHART_KINDS],
                name="kind",
                class_name="grove-select studio-small",
                aria_label="Chart type",
                id="chart-kind",
            ),
            _column_choice("x", "—", "Column or time axis"),
            _column_choice("y", "—", "Second column (scatter y, series)"),
            _column_choice("group", "no grouping", "Group by"),
            button(
                "Draw",
                variant="secondary",
                size="1",
                type="submit",
                id="chart-draw",
                loading=StudioPanelsState.drawing,
            ),  # fmt: skip
            on_submit=StudioPanelsState.draw_chart,
            class_name="studio-inline",
        ),
        rx.cond(
            StudioPanelsState.chart_error != "",
            rx.el.p(StudioPanelsState.chart_error, class_name="grove-field-error", role="alert"),
        ),  # fmt: skip
        rx.cond(
            StudioPanelsState.has_chart,
            rx.plotly(data=StudioPanelsState.figure, width="100%", height="420px", id="studio-chart"),
        ),
    )


def _code() -> rx.Component:
    return rx.el.div(
        rx.hstack(
            button(
                "Show the script",
                variant="secondary",
                size="1",
                on_click=StudioPanelsState.load_script,
                id="show-script",
            ),  # fmt: skip
            rx.cond(
                StudioPanelsState.script_text != "",
                button(
                    "Copy",
                    variant="ghost",
                    size="1",
                    icon="copy",
                    on_click=[rx.set_clipboard(StudioPanelsState.script_text), rx.toast.success("Copied.")],
                ),
            ),  # fmt: skip
            *[
                download_button(
                    label, StudioState.download_base + path, variant="ghost", id=f"download-{key}"
                )
                for key, label, path in (
                    ("script", "Download .py", "script"),
                    ("result-csv", "Result as CSV", "download?format=csv"),
                    ("result-parquet", "Result as Parquet", "download?format=parquet"),
                    ("result-excel", "Result as Excel", "download?format=excel"),
                )
            ],
            spacing="2",
            wrap="wrap",
        ),
        rx.cond(
            StudioPanelsState.script_text != "",
            rx.el.pre(rx.el.code(StudioPanelsState.script_text), class_name="studio-code", id="script-text"),
        ),
    )


CHART_KINDS = (
    ("histogram", "Histogram (x)"),
    ("box", "Box plot (x, by group)"),
    ("scatter", "Scatter (x vs y)"),
    ("time_series", "Time series (time x, series y, by group)"),
    ("missing", "Missing-data matrix"),
)


def _lower() -> rx.Component:
    return rx.tabs.root(
        rx.tabs.list(
            rx.tabs.trigger("Column profile", value="profile", id="tab-profile"),
            rx.tabs.trigger("Charts", value="charts", id="tab-charts"),
            rx.tabs.trigger("Code", value="code", id="tab-code"),
        ),
        rx.tabs.content(_profile(), value="profile", padding_top="1rem"),
        rx.tabs.content(_charts(), value="charts", padding_top="1rem"),
        rx.tabs.content(_code(), value="code", padding_top="1rem"),
        value=StudioPanelsState.lower_tab,
        on_change=StudioPanelsState.set_lower_tab,
        class_name="studio-panel",
    )


# ------------------------------------------------------------------------------------------------ page


def _save_form() -> rx.Component:
    return rx.el.form(
        rx.el.input(
            name="name",
            placeholder="Name of the new data source",
            class_name="grove-input studio-small",
            aria_label="New data source name",
            id="save-name",
            required=True,
        ),  # fmt: skip
        button(
            "Save as data source",
            variant="secondary",
            size="1",
            type="submit",
            icon="save",
            id="save-result",
            disabled=~StudioState.can_edit,
        ),  # fmt: skip
        on_submit=StudioState.save_as_data_source,
        class_name="studio-inline",
    )


@app_page(
    ROUTE,
    "Data Studio",
    crumbs=[("Projects", "/projects"), ("Data Studio", None)],
    tab="Projects",
    on_load=[StudioState.load, StudioPanelsState.reset_panels],
)
def studio_page() -> rx.Component:
    back = "/projects/" + StudioState.project_id + "/data/" + StudioState.data_source_id
    header = page_header(
        rx.el.span(StudioState.session_name, id="session-name"),
        subtitle=rx.el.span(
            "On ",
            rx.link(StudioState.source_name, href=back),
            " version ",
            StudioState.version,
            " · step ",
            rx.el.span(StudioState.cursor, id="cursor"),
            " of ",
            StudioState.step_count,
            " · ",
            StudioState.project_name,
        ),
        actions=[_save_form()],
    )
    busy = rx.cond(
        StudioState.busy != "",
        rx.hstack(
            rx.spinner(size="2"), rx.el.span(StudioState.busy), id="studio-busy", class_name="studio-busy"
        ),
    )
    newer = rx.cond(
        StudioState.has_newer_version,
        rx.el.div(
            "A newer version (",
            StudioState.latest_version,
            ") of the data source exists. ",
            button(
                "Replay this recipe on it",
                variant="secondary",
                size="1",
                on_click=StudioState.replay_on_latest,
                id="replay-latest",
                disabled=~StudioState.can_edit,
            ),
            class_name="studio-warning",
        ),  # fmt: skip
    )
    layout = rx.el.div(_operation_panel(), _grid(), _history_panel(), class_name="studio-layout")
    content = rx.vstack(header, busy, newer, layout, _lower(), spacing="4", width="100%", align="stretch")
    return rx.cond(StudioState.loaded, content, rx.center(rx.spinner(size="3"), rx.el.span(StudioState.busy),
                                                          padding="4rem"))  # fmt: skip
