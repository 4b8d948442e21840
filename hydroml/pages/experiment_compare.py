"""Compare training runs side by side: metrics (best marked), bars, overlaid predictions, differing settings."""

import reflex as rx

from hydroml.components import badge, button, card
from hydroml.pages.projects import _project_frame
from hydroml.pages.template import app_page
from hydroml.state.experiment_compare import CompareRow, CompareRun
from hydroml.state.experiment_compare import ExperimentCompareState as S
from hydroml.state.projects import ProjectState

COMPARE_CRUMBS = [
    ("Projects", "/projects"),
    (ProjectState.name, "/projects/" + ProjectState.project_id),
    ("Experiments", "/projects/" + ProjectState.project_id + "/experiments"),
    ("Compare", None),
]


def _run_head(run: CompareRun) -> rx.Component:
    return rx.el.th(
        rx.el.div(
            rx.link(run.name, href=run.href),
            rx.el.div(badge(run.status, status=run.badge), rx.el.span(run.model, class_name="grove-muted")),
            class_name="exp-compare-head",
        ),
        class_name="num",
        title=run.data,
    )


def _cell(cell) -> rx.Component:
    return rx.el.td(
        rx.cond(
            cell[1] == "best",
            rx.el.span(
                cell[0], rx.el.span(" best", class_name="sr-only"), class_name="exp-best", title="Best"
            ),
            cell[0],
        ),
        class_name="num",
    )


def _row(row: CompareRow) -> rx.Component:
    return rx.el.tr(rx.el.th(row.label, title=row.hint, scope="row"), rx.foreach(row.cells, _cell))


def _difference(row: CompareRow) -> rx.Component:
    return rx.el.tr(
        rx.el.th(rx.el.span(row.hint + " · ", class_name="grove-muted"), row.label, scope="row"),
        rx.foreach(row.cells, lambda cell: rx.el.td(rx.el.code(cell[0]), title=cell[0])),
    )


def _table(rows, render, table_id: str) -> rx.Component:
    return rx.el.div(
        rx.el.table(
            rx.el.thead(rx.el.tr(rx.el.th(""), rx.foreach(S.runs, _run_head))),
            rx.el.tbody(rx.foreach(rows, render)),
            class_name="grove-table exp-compare",
            id=table_id,
        ),
        class_name="grove-table-wrap",
    )


@app_page(
    "/projects/[project_id]/experiments/compare",
    "Compare runs",
    crumbs=COMPARE_CRUMBS,
    tab="Projects",
    on_load=[S.load],
)
def experiment_compare_page() -> rx.Component:
    overlay = rx.cond(
        S.has_overlay,
        rx.el.div(rx.plotly(data=S.overlay, width="100%", height="400px", id="compare-overlay"),
                  class_name="grove-card exp-chart"),
        rx.cond(
            S.overlay_loading,
            rx.hstack(rx.spinner(), rx.el.span("Loading the predictions from MLflow…", class_name="grove-muted")),
            rx.el.p(
                rx.cond(
                    S.same_data,
                    "These runs saved no predictions to overlay.",
                    "These runs trained on different data, so their predictions are not drawn on one chart.",
                ),
                class_name="grove-muted",
            ),
        ),
    )  # fmt: skip
    body = rx.cond(
        S.loaded,
        rx.vstack(
            rx.el.div(
                rx.el.h2("Comparing " + S.runs.length().to_string() + " runs", class_name="exp-run-title"),
                rx.spacer(),
                rx.link(button("Back to all runs", icon="arrow-left", variant="secondary"), href=S.list_href),
                class_name="grove-toolbar",
            ),
            rx.cond(S.message != "", rx.el.p(S.message, class_name="grove-muted")),
            card(
                _table(S.rows, _row, "compare-metrics"),
                title="Metrics",
                description="Mean over the folds; the best value of each metric is marked.",
            ),
            rx.cond(
                S.has_bars,
                rx.el.div(
                    rx.plotly(data=S.bars, width="100%", height="360px", id="compare-bars"),
                    class_name="grove-card exp-chart",
                ),
            ),  # fmt: skip
            overlay,
            card(
                rx.cond(
                    S.differences.length() > 0,
                    _table(S.differences, _difference, "compare-params"),
                    rx.el.p("Every setting is the same in these runs.", class_name="grove-muted"),
                ),
                title="Settings that differ",
            ),
            spacing="5",
            width="100%",
            align="stretch",
        ),
        rx.center(rx.spinner(size="3"), padding="3rem"),
    )
    return _project_frame("Experiments", body)
