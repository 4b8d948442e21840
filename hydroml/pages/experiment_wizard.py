"""The experiment wizard: /projects/[project_id]/experiments/new.

Five steps (data; target and features; model; preprocessing and split; metrics and review) behind a stepper,
each checked on Next with its errors shown at the fields. The model's form is generated from its Param schema by
the Data Studio's field renderer.
"""

from __future__ import annotations

import reflex as rx

from hydroml.components import badge, button, card, confirm_modal, empty_state, form_error
from hydroml.pages.projects import PROJECT_CRUMBS, _project_frame
from hydroml.pages.studio import param_field
from hydroml.pages.template import app_page
from hydroml.services.experiments.pipeline import CATEGORICAL_IMPUTATION, NUMERIC_IMPUTATION, SCALING
from hydroml.services.experiments.splits import STRATEGIES
from hydroml.state.experiment_wizard import (
    IMPUTATION_LABELS,
    PROBLEM_TYPES,
    SCALING_LABELS,
    STEPS,
    ExperimentWizardState,
)
from hydroml.state.projects import ProjectState

W = ExperimentWizardState
ROUTE = "/projects/[project_id]/experiments/new"
KIND_FILTERS = (
    ("", "All kinds"),
    ("numeric", "Numeric"),
    ("text", "Text"),
    ("date", "Date"),
    ("boolean", "Boolean"),
)


# ------------------------------------------------------------------------------------------------ small parts


def _error(name: str) -> rx.Component:
    return rx.cond(
        W.errors.contains(name),
        rx.el.p(W.errors[name], class_name="grove-field-error", role="alert", id=f"error-{name}"),
    )


def _label(text: str, html_for: str, required: bool = False) -> rx.Component:
    return rx.el.label(
        text,
        rx.el.span("*", class_name="grove-field-required", aria_hidden="true") if required else "",
        html_for=html_for,
        class_name="grove-field-label",
    )


def _help(text) -> rx.Component:
    return rx.el.p(text, class_name="grove-field-help")


def _options(pairs) -> list[rx.Component]:
    return [rx.el.option(label, value=value) for value, label in pairs]


def _select_field(label: str, field_id: str, value, on_change, options, *, error: str = "", help_text=None):
    return rx.el.div(
        _label(label, field_id),
        rx.el.select(*options, value=value, on_change=on_change, id=field_id, class_name="grove-select"),
        _help(help_text) if help_text is not None else rx.fragment(),
        _error(error) if error else rx.fragment(),
        class_name="wizard-field",
    )


def _input_field(label: str, name: str, *, help_text=None, input_type: str = "text", width: str = "8rem"):
    field_id = f"split-{name}"
    return rx.el.div(
        _label(label, field_id),
        rx.el.input(
            value=W.split_form[name],
            on_change=lambda v: W.set_split(name, v),  # not debounced: Next must see the last keystroke
            type=input_type,
            id=field_id,
            class_name="grove-input",
            style={"width": width},
            aria_invalid=rx.cond(W.errors.contains(name), "true", "false"),
        ),
        _help(help_text) if help_text is not None else rx.fragment(),
        _error(name),
        class_name="wizard-field",
    )


def _checkbox(label, checked, on_change, field_id: str) -> rx.Component:
    return rx.el.label(
        rx.el.input(type="checkbox", checked=checked, on_change=on_change, id=field_id),
        rx.el.span(label),
        class_name="wizard-check",
    )


# ------------------------------------------------------------------------------------------------ stepper


def _stepper() -> rx.Component:
    items = []
    for index, label in enumerate(STEPS):
        number = rx.el.span(
            rx.cond(W.step > index, rx.icon("check", size=14, aria_hidden="true"), str(index + 1)),
            class_name="wizard-step-number",
        )
        state_text = rx.cond(W.step > index, "done", rx.cond(W.step == index, "current step", "to do"))
        content = rx.cond(
            W.step > index,
            rx.el.button(
                number,
                rx.el.span(label, class_name="wizard-step-label"),
                on_click=W.go_to(index),
                type="button",
                class_name="wizard-step-button",
                aria_label=f"Step {index + 1}, {label}: done. Go back to it",
                disabled=W.busy != "",
            ),
            rx.el.div(
                number, rx.el.span(label, class_name="wizard-step-label"), class_name="wizard-step-button"
            ),
        )
        items.append(
            rx.el.li(
                content,
                rx.el.span(state_text, class_name="wizard-sr-only"),
                class_name=rx.cond(
                    W.step > index,
                    "wizard-step wizard-step--done",
                    rx.cond(W.step == index, "wizard-step wizard-step--current", "wizard-step"),
                ),
                aria_current=rx.cond(W.step == index, "step", "false"),
                id=f"wizard-step-{index}",
            )
        )
    return rx.el.ol(*items, class_name="wizard-stepper", aria_label="Steps")


# ------------------------------------------------------------------------------------------------ 1. data


def _data_step() -> rx.Component:
    kind = rx.el.fieldset(
        rx.el.legend("Train on", class_name="grove-field-label"),
        rx.el.label(
            rx.el.input(
                type="radio",
                name="data-kind",
                value="data_source",
                checked=W.data_kind == "data_source",
                on_change=lambda _v: W.set_data_kind("data_source"),
                id="data-kind-source",
            ),
            rx.el.span("A data source of the project"),
            class_name="wizard-check",
        ),
        rx.el.label(
            rx.el.input(
                type="radio",
                name="data-kind",
                value="studio_session",
                checked=W.data_kind == "studio_session",
                on_change=lambda _v: W.set_data_kind("studio_session"),
                id="data-kind-session",
            ),
            rx.el.span("The result of a Data Studio session"),
            class_name="wizard-check",
        ),
        class_name="wizard-fieldset",
    )
    source = rx.el.div(
        _select_field(
            "Data source",
            "data-source",
            W.data_source_id,
            W.choose_source,
            [
                rx.el.option("Choose a data source…", value=""),
                rx.foreach(W.source_choices, lambda c: rx.el.option(c.label + " — " + c.hint, value=c.value)),
            ],
        ),
        _select_field(
            "Version",
            "data-version",
            W.version,
            W.set_version,
            [
                rx.el.option("Newest", value=""),
                rx.foreach(W.version_choices, lambda c: rx.el.option(c.label, value=c.value)),
            ],
            help_text="The run records the exact version, so it can be repeated later.",
        ),
        class_name="wizard-row",
    )
    session = _select_field(
        "Studio session",
        "data-session",
        W.session_id,
        W.choose_session,
        [
            rx.el.option("Choose a session…", value=""),
            rx.foreach(W.session_choices, lambda c: rx.el.option(c.label + " — " + c.hint, value=c.value)),
        ],
        help_text="The session's recipe is pinned as it is now: later changes in the studio do not change this "
        "experiment.",
    )
    no_sessions = rx.el.p(
        "This project has no studio sessions yet. Open a data source and start one to clean or add features.",
        class_name="grove-muted",
    )
    no_sources = empty_state(
        "No data to train on yet",
        "Import a data source first; then come back to set up an experiment.",
        rx.link(
            button("Import data", icon="upload"), href="/projects/" + ProjectState.project_id + "/import"
        ),
        icon="database",
    )
    return rx.cond(
        W.source_choices.length() > 0,
        rx.el.div(
            kind,
            rx.cond(
                W.data_kind == "data_source",
                source,
                rx.cond(W.session_choices.length() > 0, session, no_sessions),
            ),
            _error("data"),
            class_name="wizard-stack",
        ),
        no_sources,
    )


# ------------------------------------------------------------------------------------------------ 2. target


def _feature_row(column) -> rx.Component:
    return rx.el.label(
        rx.el.input(
            type="checkbox",
            checked=W.features.contains(column.name),
            on_change=lambda _c: W.toggle_feature(column.name),
        ),
        rx.el.span(column.name, class_name="wizard-column-name", title=column.name),
        badge(column.dtype),
        rx.cond(
            column.warning != "",
            rx.el.span(
                rx.icon("triangle-alert", size=14, aria_hidden="true"),
                rx.el.span("Warning: ", class_name="wizard-sr-only"),
                column.warning,
                class_name="wizard-leak",
            ),
        ),
        class_name="wizard-feature",
    )


def _target_step() -> rx.Component:
    target = rx.el.div(
        _select_field(
            "Target (the column to predict)",
            "target",
            W.target,
            W.choose_target,
            [
                rx.el.option("Choose…", value=""),
                rx.foreach(W.target_choices, lambda c: rx.el.option(c, value=c)),
            ],
            error="target",
        ),
        _select_field(
            "Problem type",
            "problem-type",
            W.problem_type,
            W.set_problem_type,
            [rx.el.option("Choose…", value=""), *_options(PROBLEM_TYPES)],
            error="problem_type",
            help_text=rx.cond(
                W.detected_type != "", "Detected from the target: " + W.detected_type + ".", ""
            ),
        ),
        class_name="wizard-row",
    )
    toolbar = rx.el.div(
        rx.el.input(
            value=W.feature_search,
            on_change=W.set_feature_search.debounce(250),
            placeholder="Search columns",
            aria_label="Search columns",
            class_name="grove-input",
            id="feature-search",
            style={"width": "14rem"},
        ),
        rx.el.select(
            *_options(KIND_FILTERS),
            value=W.feature_kind,
            on_change=W.set_feature_kind,
            class_name="grove-select",
            aria_label="Column kind",
            id="feature-kind",
        ),
        rx.el.button("Select all", on_click=W.select_shown(True), type="button", class_name="query-link"),
        rx.el.button("Select none", on_click=W.select_shown(False), type="button", class_name="query-link"),
        rx.el.span(
            W.features.length().to_string() + " selected",
            rx.cond(W.warned_features > 0, " · " + W.warned_features.to_string() + " with a warning", ""),
            class_name="grove-muted wizard-count",
        ),
        class_name="wizard-toolbar",
    )
    features = rx.el.fieldset(
        rx.el.legend("Features (the columns the model learns from)", class_name="grove-field-label"),
        toolbar,
        rx.el.div(
            rx.foreach(W.feature_rows, _feature_row),
            rx.cond(W.feature_rows.length() == 0, rx.el.p("No column matches.", class_name="grove-muted")),
            class_name="wizard-checklist",
            id="feature-list",
        ),
        _help(
            "Warnings mark columns that probably leak the answer (ids, the time column, copies or future "
            "values of the target) or carry nothing. You decide."
        ),  # fmt: skip
        _error("features"),
        class_name="wizard-fieldset",
    )
    return rx.el.div(
        target,
        rx.cond(W.target != "", features, _help("Choose the target to see the candidate features.")),
        class_name="wizard-stack",
    )


# ------------------------------------------------------------------------------------------------ 3. model


def _model_step() -> rx.Component:
    return rx.el.div(
        _select_field(
            "Model",
            "model",
            W.model,
            W.choose_model,
            [rx.foreach(W.model_choices, lambda c: rx.el.option(c.label, value=c.value))],
            error="model",
            help_text=W.model_description,
        ),
        rx.el.fieldset(
            rx.el.legend("Hyperparameters", class_name="grove-field-label"),
            rx.el.div(
                rx.foreach(W.fields, lambda f: param_field(f, W.set_param, "param-")),
                class_name="wizard-params",
                id="param-form",
            ),
            rx.el.button(
                "Reset to the defaults", on_click=W.reset_params, type="button", class_name="query-link"
            ),
            class_name="wizard-fieldset",
        ),
        class_name="wizard-stack",
    )


# ------------------------------------------------------------------------------------------------ 4. preparation


def _prep_select(label: str, name: str, values, labels) -> rx.Component:
    return _select_field(
        label,
        f"prep-{name}",
        W.prep[name],
        lambda v: W.set_prep(name, v),
        _options((v, labels.get(v, v)) for v in values),
        error=name,
    )


def _preprocessing() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend("Preprocessing (saved with the model)", class_name="wizard-legend"),
        rx.el.div(
            _prep_select("Missing numbers", "numeric_imputation", NUMERIC_IMPUTATION, IMPUTATION_LABELS),
            _prep_select(
                "Missing categories", "categorical_imputation", CATEGORICAL_IMPUTATION, IMPUTATION_LABELS
            ),
            _prep_select("Scaling of numbers", "scaling", SCALING, SCALING_LABELS),
            class_name="wizard-row",
        ),
        rx.el.div(
            _checkbox(
                "One-hot encode text columns (else ordinal codes)",
                W.prep["one_hot"] == "true",
                lambda c: W.set_prep("one_hot", rx.cond(c, "true", "false")),
                "prep-one_hot",
            ),
            rx.el.div(
                _label("At most", "prep-max_categories"),
                rx.el.input(
                    value=W.prep["max_categories"],
                    on_change=lambda v: W.set_prep("max_categories", v),
                    id="prep-max_categories",
                    class_name="grove-input",
                    style={"width": "5rem"},
                ),
                rx.el.span("categories per column", class_name="grove-field-help"),
                class_name="wizard-inline",
            ),
            _error("max_categories"),
            rx.cond(
                W.is_regression,
                _checkbox(
                    "Log-transform the target (log1p): for skewed targets such as flows",
                    W.prep["log1p_target"] == "true",
                    lambda c: W.set_prep("log1p_target", rx.cond(c, "true", "false")),
                    "prep-log1p_target",
                ),
            ),
            _error("log1p_target"),
            _error("numeric_imputation"),
            class_name="wizard-stack wizard-stack--tight",
        ),
        class_name="wizard-fieldset wizard-box",
    )


def _split_fields() -> rx.Component:
    percent = _input_field("Test share (%)", "test_percent", help_text="e.g. 20", width="6rem")
    seed = _input_field("Random seed", "seed", width="7rem")
    folds = _input_field("Folds", "n_splits", width="5rem")
    return rx.match(
        W.strategy,
        ("random_holdout", rx.el.div(percent, seed, class_name="wizard-row")),
        ("stratified_holdout", rx.el.div(percent, seed, class_name="wizard-row")),
        (
            "chronological_holdout",
            rx.el.div(
                _select_field(
                    "Test on",
                    "split-holdout_by",
                    W.split_form["holdout_by"],
                    lambda v: W.set_split("holdout_by", v),
                    _options(
                        (("percent", "The last X % of the time range"), ("date", "Rows from a date on")),
                    ),
                ),
                rx.cond(
                    W.split_form["holdout_by"] == "date",
                    _input_field("First test date", "cut_date", input_type="date", width="11rem"),
                    percent,
                ),
                class_name="wizard-row",
            ),
        ),
        (
            "kfold",
            rx.el.div(
                folds,
                rx.el.div(
                    _checkbox(
                        "Shuffle the rows first",
                        W.split_form["shuffle"] == "true",
                        lambda c: W.set_split("shuffle", rx.cond(c, "true", "false")),
                        "split-shuffle",
                    ),
                    class_name="wizard-field wizard-field--end",
                ),
                rx.cond(W.split_form["shuffle"] == "true", seed),
                class_name="wizard-row",
            ),
        ),
        (
            "time_series_cv",
            rx.el.div(
                folds,
                _select_field(
                    "Training window",
                    "split-window",
                    W.split_form["window"],
                    lambda v: W.set_split("window", v),
                    _options(
                        (("expanding", "Expanding (all the past)"), ("sliding", "Sliding (a fixed length)"))
                    ),
                    error="window",
                ),
                rx.cond(
                    W.split_form["window"] == "sliding",
                    _input_field("Training length (time steps)", "max_train_size", width="7rem"),
                ),
                _input_field(
                    "Gap (time steps)", "gap", width="6rem", help_text="Left out between train and test"
                ),
                _input_field(
                    "Test size (time steps)", "test_size", width="7rem", help_text="Empty: automatic"
                ),
                class_name="wizard-row",
            ),
        ),
        ("group_kfold", rx.el.div(folds, class_name="wizard-row")),
        rx.fragment(),
    )


def _shuffle_warning() -> rx.Component:
    return rx.cond(
        (W.shuffle_risk & (W.time_column != "")) | W.errors.contains("allow_shuffle"),
        rx.el.div(
            rx.el.p(
                rx.el.strong("This split ignores time. "),
                rx.cond(
                    W.errors.contains("allow_shuffle"),
                    W.errors["allow_shuffle"],
                    "Rows from the future will be used to predict the past (the data has the time column '"
                    + W.time_column
                    + "'), so the scores will look better than a real forecast would.",
                ),
            ),
            _checkbox(
                "I understand: use rows from the future",
                W.allow_shuffle,
                W.set_allow_shuffle,
                "allow-shuffle",
            ),
            class_name="studio-warning",
            role=rx.cond(W.errors.contains("allow_shuffle"), "alert", "note"),
            id="shuffle-warning",
        ),
    )


def _split() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend("Training and test data", class_name="wizard-legend"),
        rx.el.div(
            _select_field(
                "Split",
                "split-strategy",
                W.strategy,
                lambda v: W.set_split("strategy", v),
                _options(STRATEGIES.items()),
                error="strategy",
            ),
            _select_field(
                "Time column",
                "time-column",
                W.time_column,
                W.set_time_column,
                [
                    rx.el.option("— none —", value=""),
                    rx.foreach(W.time_choices, lambda c: rx.el.option(c, value=c)),
                ],
                error="time_column",
                help_text="Orders the rows for time-aware splits and the hydrograph.",
            ),
            _select_field(
                "Group column",
                "group-column",
                W.group_column,
                W.set_group_column,
                [
                    rx.el.option("— none —", value=""),
                    rx.foreach(W.group_choices, lambda c: rx.el.option(c, value=c)),
                ],
                error="group_column",
                help_text="e.g. the station: metrics per group; group k-fold holds groups out.",
            ),
            class_name="wizard-row",
        ),
        _split_fields(),
        _error("frame"),
        _error("split"),
        _shuffle_warning(),
        class_name="wizard-fieldset wizard-box",
    )


def _prepare_step() -> rx.Component:
    return rx.el.div(_preprocessing(), _split(), class_name="wizard-stack")


# ------------------------------------------------------------------------------------------------ 5. review


def _metric_row(choice) -> rx.Component:
    return rx.el.label(
        rx.el.input(
            type="checkbox",
            checked=W.metrics.contains(choice.value),
            on_change=lambda _c: W.toggle_metric(choice.value),
        ),
        rx.el.span(choice.label, class_name="wizard-column-name"),
        rx.el.span(choice.hint, class_name="grove-field-help"),
        class_name="wizard-feature",
    )


def _review_step() -> rx.Component:
    chosen = rx.el.fieldset(
        rx.el.legend("Metrics to compute", class_name="wizard-legend"),
        rx.el.div(
            rx.foreach(W.metric_choices, _metric_row), class_name="wizard-checklist wizard-checklist--short"
        ),
        _error("metrics"),
        _select_field(
            "Metric to optimise",
            "primary-metric",
            W.primary_metric,
            W.set_primary_metric,
            [
                rx.foreach(
                    W.metric_choices,
                    lambda c: rx.cond(W.metrics.contains(c.value), rx.el.option(c.label, value=c.value)),
                )
            ],
            error="primary_metric",
            help_text="Runs are ranked by it; suites search for its best value.",
        ),
        class_name="wizard-fieldset",
    )
    review = rx.el.dl(
        rx.foreach(
            W.review,
            lambda row: rx.el.div(rx.el.dt(row[0]), rx.el.dd(row[1]), class_name="wizard-review-row"),
        ),
        class_name="wizard-review",
        id="wizard-review",
    )
    notes = rx.cond(
        W.split_warnings.length() > 0,
        rx.el.ul(rx.foreach(W.split_warnings, lambda w: rx.el.li(w)), class_name="wizard-notes"),
    )
    name = rx.el.div(
        _label("Run name", "run-name", required=True),
        rx.el.input(
            value=W.run_name,
            on_change=W.set_run_name,  # not debounced: Train must see the last keystroke
            id="run-name",
            class_name="grove-input",
            max_length=140,
        ),
        _error("name"),
        class_name="wizard-field wizard-field--wide",
    )
    return rx.el.div(
        chosen,
        rx.el.div(rx.el.h3("Review", class_name="wizard-legend"), review, notes, class_name="wizard-box"),
        name,
        class_name="wizard-stack",
    )


# ------------------------------------------------------------------------------------------------ the page


def _footer() -> rx.Component:
    return rx.el.div(
        button(
            "Back",
            variant="secondary",
            icon="arrow-left",
            on_click=W.previous_step,
            disabled=(W.step == 0) | (W.busy != ""),
            id="wizard-back",
        ),
        rx.cond(
            W.busy != "",
            rx.el.span(
                rx.spinner(size="1"), W.busy, class_name="wizard-busy", role="status", id="wizard-busy"
            ),
        ),
        rx.spacer(),
        rx.cond(
            W.step < len(STEPS) - 1,
            button("Next", on_click=W.next_step, loading=W.busy != "", id="wizard-next"),
            button("Train", icon="play", on_click=W.train, loading=W.busy != "", id="wizard-train"),
        ),
        class_name="wizard-footer",
    )


def _wizard() -> rx.Component:
    start_over = confirm_modal(
        button("Start over", variant="ghost", icon="rotate-ccw", id="start-over", size="1"),
        title="Start over?",
        description="The saved draft of this experiment is discarded.",
        confirm_label="Discard the draft",
        on_confirm=W.start_over,
        test_id="start-over",
    )
    body = rx.match(
        W.step,
        (0, _data_step()),
        (1, _target_step()),
        (2, _model_step()),
        (3, _prepare_step()),
        _review_step(),
    )
    return rx.el.div(
        rx.el.div(
            rx.el.h2("New experiment", class_name="wizard-title"),
            rx.cond(W.resumed, badge("draft resumed", status="draft", id="draft-resumed")),
            rx.spacer(),
            start_over,
            class_name="wizard-head",
        ),
        _stepper(),
        card(
            rx.el.h3(
                rx.match(W.step, *[(i, f"{i + 1}. {label}") for i, label in enumerate(STEPS)], ""),
                class_name="grove-card-title",
            ),
            rx.cond(
                (W.busy != "") & (W.step == 0),
                rx.el.div(rx.spinner(size="3"), rx.el.p(W.busy), class_name="wizard-reading", role="status"),
                body,
            ),
            form_error(W.step_error),
            _footer(),
            id="wizard-card",
        ),
        class_name="wizard",
    )


def _viewer_notice() -> rx.Component:
    return card(
        rx.el.p(
            "Only editors and owners set up experiments. Your role in this project is ",
            ProjectState.role,
            ": you can look at the runs, and an owner can make you an editor.",
            class_name="grove-prose",
        ),
        rx.link(
            button("Back to the experiments", variant="secondary", icon="arrow-left"),
            href="/projects/" + ProjectState.project_id + "/experiments",
            id="back-to-experiments",
        ),
        title="You cannot set up experiments here",
        id="viewer-notice",
    )


@app_page(
    ROUTE, "New experiment", crumbs=PROJECT_CRUMBS, tab="Projects", on_load=[ExperimentWizardState.load]
)
def experiment_wizard_page() -> rx.Component:
    return _project_frame(
        "Experiments",
        rx.cond(
            W.loaded,
            rx.cond(W.can_edit, _wizard(), _viewer_notice()),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
    )
