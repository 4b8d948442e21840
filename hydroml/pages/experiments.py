"""The experiments of a project: every training run in one table, filtered, sorted by a metric, compared."""

import reflex as rx

from hydroml.components import badge, button, confirm_modal, empty_state
from hydroml.pages.projects import PROJECT_CRUMBS, _project_frame
from hydroml.pages.template import app_page
from hydroml.state.experiments import ORDER_OPTIONS, STATUS_OPTIONS, ExperimentsState, MetricHeader, RunRow


def _select(value, on_change, options, *, label: str, id: str, dynamic=None, first: str = "") -> rx.Component:
    """A compact select; `options` are static (value, label) pairs, `dynamic` a list Var of [value, label]."""
    children = [rx.el.option(text, value=key) for key, text in options]
    if dynamic is not None:
        children = [
            rx.el.option(first, value=""),
            rx.foreach(dynamic, lambda o: rx.el.option(o[1], value=o[0])),
        ]
    return rx.el.select(
        *children, value=value, on_change=on_change, class_name="grove-select", aria_label=label, id=id
    )


def _toolbar() -> rx.Component:
    compare = rx.cond(
        ExperimentsState.selected_count >= 2,
        rx.link(
            button(
                "Compare " + ExperimentsState.selected_count.to_string(), icon="columns-3", id="compare-runs"
            ),
            href=ExperimentsState.compare_href,
        ),
        button(
            "Compare",
            icon="columns-3",
            variant="secondary",
            disabled=True,
            id="compare-runs",
            title="Tick two or more runs to compare them",
        ),
    )
    delete = rx.cond(
        ExperimentsState.can_edit & (ExperimentsState.selected_count > 0),
        confirm_modal(
            button("Delete", icon="trash-2", variant="secondary", id="delete-runs"),
            title="Delete the ticked runs?",
            description=(
                "Their results, charts and saved models are deleted here and in MLflow. "
                "Queued or running runs are kept: cancel them first."
            ),
            confirm_label="Delete",
            on_confirm=ExperimentsState.delete_selected,
            test_id="delete-runs",
        ),
    )
    return rx.el.div(
        _select(
            ExperimentsState.status_filter,
            ExperimentsState.set_status_filter,
            STATUS_OPTIONS,
            label="Filter by status",
            id="filter-status",
        ),
        _select(
            ExperimentsState.model_filter,
            ExperimentsState.set_model_filter,
            (),
            label="Filter by model",
            id="filter-model",
            dynamic=ExperimentsState.model_options,
            first="Any model",
        ),
        _select(
            ExperimentsState.source_filter,
            ExperimentsState.set_source_filter,
            (),
            label="Filter by data source",
            id="filter-source",
            dynamic=ExperimentsState.source_options,
            first="Any data",
        ),
        _select(
            ExperimentsState.order,
            ExperimentsState.set_order,
            ORDER_OPTIONS,
            label="Order of the runs",
            id="run-order",
        ),
        rx.spacer(),
        rx.cond(
            ExperimentsState.selected_count > 0,
            rx.el.span(
                ExperimentsState.selected_count.to_string() + " ticked",
                class_name="grove-muted",
                style={"font_size": "var(--text-sm)"},
            ),
        ),
        delete,
        compare,
        class_name="grove-toolbar",
    )


def _metric_header(header: MetricHeader) -> rx.Component:
    return rx.el.th(
        rx.el.button(
            header.label,
            rx.el.span(header.arrow, aria_hidden="true"),
            on_click=ExperimentsState.sort_by(header.key),
            title=header.hint,
            class_name="exp-sort",
            type="button",
            id="sort-" + header.key,
        ),
        class_name="num",
        aria_sort=rx.cond(
            header.arrow == "", "none", rx.cond(header.arrow == "↓", "descending", "ascending")
        ),
    )


def _status_cell(row: RunRow) -> rx.Component:
    return rx.el.td(
        rx.el.div(
            badge(row.status, status=row.badge),
            rx.cond(row.progress != "", rx.el.span(row.progress, class_name="exp-percent")),
            rx.cond(
                row.stage != "", rx.el.span(row.stage, class_name="exp-stage grove-muted", title=row.stage)
            ),
            class_name="exp-status",
        )
    )


def _run_row(row: RunRow) -> rx.Component:
    return rx.el.tr(
        rx.el.td(
            rx.checkbox(
                checked=ExperimentsState.selected.contains(row.id),
                on_change=lambda picked: ExperimentsState.toggle(row.id, picked),
                aria_label="Tick " + row.name,
            ),
            class_name="exp-pick",
        ),
        rx.el.td(rx.link(row.name, href=row.href), title=row.name),
        _status_cell(row),
        rx.el.td(row.model, title=row.model, class_name="exp-model"),
        rx.el.td(
            row.data,
            rx.el.span(" → " + row.target, class_name="grove-muted"),
            title=row.data + " → " + row.target,
            class_name="exp-data",
        ),  # fmt: skip
        rx.foreach(row.metrics, lambda value: rx.el.td(value, class_name="num")),
        rx.el.td(row.duration, class_name="num"),
        rx.el.td(row.created, class_name="exp-created"),
        id="run-" + row.id,
    )


def _runs_table() -> rx.Component:
    head = rx.el.thead(
        rx.el.tr(
            rx.el.th(rx.el.span("Pick", class_name="sr-only")),
            rx.el.th("Name"),
            rx.el.th("Status"),
            rx.el.th("Model"),
            rx.el.th("Data → target"),
            rx.foreach(ExperimentsState.metric_headers, _metric_header),
            rx.el.th("Duration", class_name="num"),
            rx.el.th("Created"),
        )
    )
    return rx.el.div(
        rx.el.table(
            head,
            rx.el.tbody(rx.foreach(ExperimentsState.runs, _run_row)),
            class_name="grove-table exp-table",
            id="runs-table",
        ),
        class_name="grove-table-wrap",
    )


def _new_button() -> rx.Component:
    return rx.cond(
        ExperimentsState.can_edit,
        rx.link(
            button("New experiment", icon="plus", id="new-experiment"),
            href="/projects/" + ExperimentsState.project_id + "/experiments/new",
        ),
    )


def _empty() -> rx.Component:
    return rx.cond(
        ExperimentsState.total > 0,
        empty_state(
            "No run matches these filters",
            "Change or clear the filters to see the other runs.",
            button("Clear filters", variant="secondary", on_click=ExperimentsState.clear_filters),
            icon="filter",
            id="runs-empty",
        ),
        empty_state(
            "No experiments yet",
            rx.cond(
                ExperimentsState.can_edit,
                "Train a model on a data source or a studio session: pick the target, the features, a model "
                "and a validation split. Every run is tracked here with its metrics and charts.",
                "The project's editors have not trained any model yet. Runs appear here when they do.",
            ),
            _new_button(),
            icon="flask-conical",
            id="runs-empty",
        ),
    )


@app_page(
    "/projects/[project_id]/experiments",
    "Experiments",
    crumbs=PROJECT_CRUMBS,
    tab="Projects",
    on_load=[ExperimentsState.load],
)
def experiments_page() -> rx.Component:
    header = rx.el.div(
        rx.el.p(
            ExperimentsState.total.to_string()
            + " runs. Click a metric's name to rank the runs by it, best first.",
            class_name="grove-muted",
            style={"margin": 0, "font_size": "var(--text-sm)"},
        ),
        rx.spacer(),
        _new_button(),
        class_name="grove-toolbar",
    )
    body = rx.cond(
        ExperimentsState.loaded,
        rx.cond(
            ExperimentsState.total > 0,
            rx.fragment(
                header,
                _toolbar(),
                rx.cond(ExperimentsState.runs.length() > 0, _runs_table(), _empty()),
            ),
            _empty(),
        ),
        rx.center(rx.spinner(), padding="2rem"),
    )
    return _project_frame("Experiments", body)
