"""One training run: progress while it trains; metrics, charts, tables, parameters, lineage and files after."""

import reflex as rx

from hydroml.components import (
    badge,
    button,
    card,
    confirm_modal,
    download_button,
    form_modal,
    progress_bar,
    text_input,
)
from hydroml.pages.projects import _project_frame
from hydroml.pages.template import app_page
from hydroml.state.experiment_run import ArtifactRow, ExperimentRunState, MetricCard, ParamRow
from hydroml.state.projects import ProjectState

S = ExperimentRunState
RUN_CRUMBS = [
    ("Projects", "/projects"),
    (ProjectState.name, "/projects/" + ProjectState.project_id),
    ("Experiments", "/projects/" + ProjectState.project_id + "/experiments"),
    (S.name, None),
]
CHART_TITLES = {
    "predicted_vs_observed": "Predicted vs observed",
    "residuals": "Residuals",
    "hydrograph": "Hydrograph",
    "feature_importance": "Feature importance",
    "confusion_matrix": "Confusion matrix",
    "roc": "ROC curve",
}


def _rename() -> rx.Component:
    form = rx.form(
        rx.vstack(
            text_input(
                "name", "Name", required=True, error=S.rename_error, max_length=120, default_value=S.name
            ),
            rx.hstack(
                rx.dialog.close(button("Cancel", variant="secondary", type="button")),
                button("Rename", type="submit", id="rename-submit"),
                justify="end",
                width="100%",
                spacing="3",
            ),
            spacing="4",
        ),
        on_submit=S.rename,
    )
    return form_modal(
        button("Rename", icon="pencil", variant="secondary", id="rename-run"),
        title="Rename the run",
        description="The new name shows here and in MLflow's run list of this app.",
        body=form,
        open=S.rename_open,
        on_open_change=S.set_rename_open,
    )


def _actions() -> rx.Component:
    delete = confirm_modal(
        button("Delete", icon="trash-2", variant="secondary", id="delete-run"),
        title="Delete this run?",
        description="Its metrics, charts, predictions and saved model are deleted here and in MLflow.",
        confirm_label="Delete run",
        on_confirm=S.delete,
        test_id="delete-run",
    )
    cancel = button(
        "Cancel run",
        icon="square",
        variant="danger",
        on_click=S.cancel,
        disabled=S.cancel_requested,
        id="cancel-run",
    )
    return rx.cond(
        S.can_edit,
        rx.hstack(rx.cond(S.active, cancel, rx.fragment(_rename(), delete)), spacing="2"),
    )


def _meta(label: str, value) -> rx.Component:
    return rx.el.div(rx.el.dt(label), rx.el.dd(value, title=value), class_name="exp-meta-item")


def _header() -> rx.Component:
    return rx.el.div(
        rx.el.div(
            rx.el.div(
                rx.el.h2(S.name, class_name="exp-run-title", id="run-name"),
                badge(S.status, status=S.badge, id="run-status"),
                class_name="exp-run-heading",
            ),
            rx.el.dl(
                _meta("Model", S.model),
                _meta("Data", S.data),
                _meta("Target", S.target),
                _meta("Created", S.created_by + " · " + S.created),
                _meta("Duration", rx.cond(S.duration != "", S.duration, "—")),
                class_name="exp-meta",
            ),
        ),
        _actions(),
        class_name="exp-run-header",
    )


def _progress() -> rx.Component:
    return card(
        rx.el.div(
            rx.el.span(rx.cond(S.stage != "", S.stage, "Waiting"), id="run-stage"),
            rx.el.span(
                rx.cond(S.fold_text != "", S.fold_text + " · ", ""),
                S.percent.to_string() + "%",
                class_name="grove-muted",
                id="run-percent",
            ),  # fmt: skip
            class_name="exp-progress-line",
        ),
        progress_bar(S.percent, label="Training progress"),
        rx.el.p(
            "This page updates by itself. You can leave it: the run keeps training on the server.",
            class_name="grove-muted exp-note",
        ),
        title=rx.cond(S.status == "queued", "Queued", "Training"),
        id="run-progress",
    )


def _problem() -> rx.Component:
    return card(
        rx.el.p(
            rx.cond(S.error != "", S.error, "The run ended without a result."),
            class_name="grove-prose",
            id="run-error",
        ),  # fmt: skip
        rx.el.p(S.advice, class_name="grove-prose grove-muted"),
        rx.hstack(
            rx.cond(
                S.can_edit,
                rx.link(
                    button("New experiment", icon="plus"),
                    href="/projects/" + S.project_id + "/experiments/new",
                ),
            ),
            margin_top="1rem",
        ),
        title=rx.match(
            S.status,
            ("failed", "Training failed"),
            ("cancelled", "Cancelled"),
            ("interrupted", "Interrupted"),
            "Not finished",
        ),
        variant="danger",
        id="run-problem",
    )


def _metric_card(item: MetricCard) -> rx.Component:
    return rx.el.div(
        rx.el.div(
            rx.el.span(
                item.label,
                rx.cond(item.primary, rx.el.span(" · primary", class_name="exp-primary")),
                class_name="grove-stat-label",
            ),
            rx.el.span(item.value, class_name="grove-stat-value"),
            rx.el.span(rx.cond(item.spread != "", item.spread, item.hint), class_name="grove-stat-hint"),
            class_name="grove-stat",
        ),
        class_name=rx.cond(item.primary, "grove-card exp-card-primary", "grove-card"),
        title=item.hint,
        id="metric-" + item.key,
    )


def _chart(name: str) -> rx.Component:
    figure = getattr(S, f"fig_{name}")
    return rx.cond(
        S.chart_names.contains(name),
        rx.el.div(
            rx.plotly(data=figure, width="100%", height="360px", id=f"chart-{name}"),
            class_name="grove-card exp-chart",
        ),
    )


def _charts() -> rx.Component:
    return rx.fragment(
        rx.el.h3("Charts", class_name="exp-section-title"),
        rx.cond(
            S.charts_loading & (S.chart_names.length() == 0),
            rx.hstack(rx.spinner(), rx.el.span("Loading the charts from MLflow…", class_name="grove-muted")),
        ),
        rx.el.div(*[_chart(name) for name in CHART_TITLES], class_name="exp-charts"),
        rx.cond(
            ~S.charts_loading & (S.chart_names.length() == 0),
            rx.el.p("This run has no charts.", class_name="grove-muted"),
        ),
    )


def _grid_table(headers, rows, table_id: str) -> rx.Component:
    return rx.el.div(
        rx.el.table(
            rx.el.thead(
                rx.el.tr(rx.foreach(headers, lambda h, i: rx.el.th(h, class_name=rx.cond(i > 0, "num", ""))))
            ),
            rx.el.tbody(
                rx.foreach(
                    rows,
                    lambda row: rx.el.tr(
                        rx.foreach(row, lambda cell, i: rx.el.td(cell, class_name=rx.cond(i > 0, "num", "")))
                    ),
                )
            ),
            class_name="grove-table",
            id=table_id,
        ),
        class_name="grove-table-wrap",
    )


def _param_row(row: ParamRow) -> rx.Component:
    return rx.el.tr(
        rx.el.td(row.section, class_name="grove-muted"),
        rx.el.td(row.name),
        rx.el.td(rx.el.code(row.value), title=row.value, class_name="exp-param-value"),
    )


def _parameters() -> rx.Component:
    return card(
        rx.el.div(
            rx.el.table(
                rx.el.thead(rx.el.tr(rx.el.th("Part"), rx.el.th("Setting"), rx.el.th("Value"))),
                rx.el.tbody(rx.foreach(S.params, _param_row)),
                class_name="grove-table",
                id="run-params",
            ),
            class_name="grove-table-wrap",
        ),
        title="Parameters",
        description="How this run was set up: data, target and features, model, preprocessing and split.",
    )


def _linked(text, href) -> rx.Component:
    return rx.cond(href != "", rx.link(text, href=href), rx.el.span(text))


def _lineage() -> rx.Component:
    arrow = rx.icon("arrow-right", size=16, aria_hidden="true", class_name="grove-muted")
    return card(
        rx.el.div(
            rx.el.div(
                rx.el.span("Data source", class_name="exp-lineage-kind"),
                _linked(S.lineage["source"], S.lineage["source_href"]),
                class_name="exp-lineage-node",
            ),
            rx.cond(
                S.lineage["session"] != "",
                rx.fragment(
                    arrow,
                    rx.el.div(
                        rx.el.span("Studio recipe · " + S.lineage["steps"], class_name="exp-lineage-kind"),
                        _linked(S.lineage["session"], S.lineage["session_href"]),
                        class_name="exp-lineage-node",
                    ),
                ),
            ),
            arrow,
            rx.el.div(
                rx.el.span("Run", class_name="exp-lineage-kind"),
                rx.el.span(S.name),
                class_name="exp-lineage-node",
            ),
            class_name="exp-lineage",
            id="run-lineage",
        ),  # fmt: skip
        title="Lineage",
        description="Where the training data came from.",
    )


def _artifact_row(row: ArtifactRow) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.el.code(row.path), title=row.path),
        rx.el.td(row.size, class_name="num"),
        rx.el.td(download_button("Download", row.url, aria_label="Download " + row.path), class_name="num"),
    )


def _files() -> rx.Component:
    listing = rx.el.div(
        rx.el.table(
            rx.el.thead(rx.el.tr(rx.el.th("File"), rx.el.th("Size", class_name="num"), rx.el.th(""))),
            rx.el.tbody(rx.foreach(S.artifacts, _artifact_row)),
            class_name="grove-table",
            id="run-artifacts",
        ),
        class_name="grove-table-wrap exp-files",
    )
    return card(
        rx.cond(
            S.artifacts_error != "",
            rx.el.p(S.artifacts_error, class_name="grove-muted"),
            listing,
        ),
        title="Files",
        description="Everything the run saved in MLflow: model, predictions, charts, recipe.",
    )


def _snippet() -> rx.Component:
    return rx.cond(
        S.snippet != "",
        card(
            rx.el.pre(S.snippet, class_name="studio-code", id="model-snippet"),
            rx.hstack(
                button(
                    "Copy",
                    icon="copy",
                    variant="secondary",
                    size="1",
                    on_click=S.copy_snippet,
                    id="copy-snippet",
                ),
                margin_top="0.75rem",
            ),
            title="Use the model",
            description="Paste this into Python to load the trained pipeline and predict on new rows.",
        ),
    )


def _results() -> rx.Component:
    return rx.vstack(
        rx.el.div(
            rx.foreach(S.metric_cards, _metric_card), class_name="grove-grid exp-metrics", id="run-metrics"
        ),
        rx.cond(
            S.facts.length() > 0,
            rx.el.p(
                rx.foreach(
                    S.facts, lambda f: rx.el.span(f[0] + ": ", rx.el.strong(f[1]), class_name="exp-fact")
                ),
                class_name="exp-facts grove-muted",
            ),
        ),
        _charts(),
        rx.cond(
            S.fold_rows.length() > 0,
            card(
                _grid_table(S.fold_headers, S.fold_rows, "run-folds"),
                title="Per fold",
                description="Each fold's test score; the cards above show their mean ± standard deviation.",
            ),
        ),  # fmt: skip
        rx.cond(
            S.group_rows.length() > 0,
            card(
                _grid_table(S.group_headers, S.group_rows, "run-groups"),
                title="Per group",
                description="The scores of the test rows of each group (e.g. each station).",
            ),
        ),  # fmt: skip
        spacing="5",
        width="100%",
        align="stretch",
    )


@app_page(
    "/projects/[project_id]/experiments/[run_id]",
    "Run",
    crumbs=RUN_CRUMBS,
    tab="Projects",
    on_load=[ExperimentRunState.load],
)
def experiment_run_page() -> rx.Component:
    body = rx.cond(
        S.loaded,
        rx.vstack(
            _header(),
            rx.cond(S.active, _progress()),
            rx.cond(S.finished, _results()),
            rx.cond(~S.active & ~S.finished, _problem()),
            rx.el.div(
                rx.el.div(_parameters(), class_name="exp-col"),
                rx.el.div(_lineage(), rx.cond(S.finished, _files()), class_name="exp-col"),
                class_name="exp-two-columns",
            ),
            rx.cond(S.finished, _snippet()),
            spacing="5",
            width="100%",
            align="stretch",
        ),
        rx.center(rx.spinner(size="3"), padding="3rem"),
    )
    return _project_frame("Experiments", body)
