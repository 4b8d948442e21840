"""One training run: its progress while it trains, then its metrics, charts, tables, parameters, lineage,
artifacts and the code to load its model.

Charts come from MLflow one at a time in a worker thread, and each is sent on its own (a chart is at most a few
hundred kB; several in one message could pass the websocket's 1 MB limit).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from urllib.parse import quote

import plotly.graph_objects as go
import reflex as rx

from hydroml.services import datasources
from hydroml.services.errors import InvalidInput, NotFound, ServiceError
from hydroml.services.experiments import reports, runs
from hydroml.services.studio import sessions
from hydroml.state.auth import AuthState
from hydroml.state.connections import _not_found, load_project_frame
from hydroml.state.experiments import STATUS_BADGES, duration_text, model_label, progress_texts
from hydroml.state.formatting import size, when

POLL_SECONDS = 1.0
POLL_LIMIT_SECONDS = 30 * 60
CHARTS = ("predicted_vs_observed", "residuals", "hydrograph", "feature_importance", "confusion_matrix", "roc")
ADVICE = {
    runs.FAILED: "Check the setup in Parameters below (target, features, split) and the data, then train a "
    "new experiment. If the message names a column or a value, fix it in the Data Studio first.",
    runs.INTERRUPTED: "Nothing of this run was kept. Start the same experiment again.",
    runs.CANCELLED: "Nothing of this run was kept. Start a new experiment when you are ready.",
}
NO_LINEAGE = {"source": "", "source_href": "", "session": "", "session_href": "", "steps": ""}


@dataclasses.dataclass
class MetricCard:
    key: str = ""
    label: str = ""
    value: str = ""
    spread: str = ""  # "± 0.012 over 5 folds" for cross-validation
    hint: str = ""
    primary: bool = False


@dataclasses.dataclass
class ParamRow:
    section: str = ""
    name: str = ""
    value: str = ""


@dataclasses.dataclass
class ArtifactRow:
    path: str = ""
    size: str = ""
    url: str = ""


def _cards(summary: dict, primary: str) -> list[MetricCard]:
    keys = reports.metric_columns([summary])
    if primary in keys:
        keys = [primary] + [k for k in keys if k != primary]
    cards = []
    for key in keys:
        entry = reports.summary_metrics(summary).get(key) or {}
        std = reports.metric_std(summary, key)
        folds = int(entry.get("n_valid") or entry.get("n_folds") or 0) if isinstance(entry, dict) else 0
        info = reports.METRICS.get(key)
        cards.append(
            MetricCard(
                key=key,
                label=reports.metric_label(key),
                value=reports.number(reports.metric_mean(summary, key)),
                spread=f"± {reports.number(std)} over {folds} folds" if folds > 1 and std == std else "",
                hint=info.description if info else "",
                primary=key == primary,
            )
        )
    return cards


def _fold_table(summary: dict, keys: list[str]) -> tuple[list[str], list[list[str]]]:
    metrics = reports.summary_metrics(summary)
    count = max((len((metrics.get(k) or {}).get("folds") or []) for k in keys), default=0)
    if count < 2:
        return [], []
    rows = []
    for index in range(count):
        cells = [f"Fold {index + 1}"]
        for key in keys:
            values = (metrics.get(key) or {}).get("folds") or []
            cells.append(reports.number(values[index]) if index < len(values) else reports.MISSING)
        rows.append(cells)
    return ["Fold", *[reports.metric_label(k) for k in keys]], rows


def _group_table(summary: dict, keys: list[str]) -> tuple[list[str], list[list[str]]]:
    groups = summary.get("groups") or []
    if not groups:
        return [], []
    rows = []
    for entry in groups:
        group = entry.get("group")
        cells = ["(no value)" if group is None else str(group), f"{int(entry.get('rows') or 0):,}"]
        cells.extend(reports.number(entry.get(key)) for key in keys)
        rows.append(cells)
    return ["Group", "Rows", *[reports.metric_label(k) for k in keys]], rows


def _lineage(user, project_id: str, info: runs.RunInfo) -> dict[str, str]:
    """Data source -> studio recipe -> the run, with links to what still exists (runs in a worker thread)."""
    data = info.spec.get("data") or {}
    base = f"/projects/{project_id}"
    lineage = dict(NO_LINEAGE)
    source_id = str(data.get("data_source_id") or "")
    version = data.get("version")
    lineage["source"] = str(data.get("data_source_name") or "") or str(data.get("label") or "")
    if source_id:
        try:
            source, _ = datasources.get_data_source(user, project_id, source_id)
            lineage["source"] = source.name
            lineage["source_href"] = f"{base}/data/{source.id}"
        except ServiceError:
            lineage["source"] = (lineage["source"] or "A data source") + " (deleted)"
    if version:
        lineage["source"] += f" v{version}"
    if data.get("kind") == "studio_session":
        steps = reports.recipe_steps(data.get("recipe_json"))
        lineage["session"] = str(data.get("session_name") or "studio session")
        lineage["steps"] = f"{steps} step{'s' if steps != 1 else ''}"
        session_id = str(data.get("session_id") or "")
        try:
            if not session_id:
                raise NotFound("no session")
            sessions.get_session(user, project_id, session_id)
            lineage["session_href"] = f"{base}/studio/{session_id}"
        except ServiceError:
            lineage["session"] += " (deleted)"
    return lineage


class ExperimentRunState(AuthState):
    """The run in the URL. Every handler re-checks the user; the services check the role."""

    project_id: str = ""
    run_id: str = ""
    loaded: bool = False
    name: str = ""
    status: str = ""
    badge: str = "neutral"
    model: str = ""
    data: str = ""
    target: str = ""
    problem_type: str = ""
    created_by: str = ""
    created: str = ""
    duration: str = ""
    can_edit: bool = False
    # while queued or running
    active: bool = False
    percent: int = 0
    stage: str = ""
    fold_text: str = ""
    cancel_requested: bool = False
    # failed, cancelled, interrupted
    error: str = ""
    advice: str = ""
    # finished
    facts: list[list[str]] = []
    metric_cards: list[MetricCard] = []
    fold_headers: list[str] = []
    fold_rows: list[list[str]] = []
    group_headers: list[str] = []
    group_rows: list[list[str]] = []
    params: list[ParamRow] = []
    lineage: dict[str, str] = dict(NO_LINEAGE)
    artifacts: list[ArtifactRow] = []
    artifacts_error: str = ""
    snippet: str = ""
    charts_loading: bool = False
    chart_names: list[str] = []
    fig_predicted_vs_observed: go.Figure = go.Figure()
    fig_residuals: go.Figure = go.Figure()
    fig_hydrograph: go.Figure = go.Figure()
    fig_feature_importance: go.Figure = go.Figure()
    fig_confusion_matrix: go.Figure = go.Figure()
    fig_roc: go.Figure = go.Figure()
    rename_open: bool = False
    rename_error: str = ""
    _mlflow_run_id: str = ""
    _poll_id: int = 0

    @rx.var
    def finished(self) -> bool:
        return self.status == runs.FINISHED

    @rx.var
    def list_href(self) -> str:
        return f"/projects/{self.project_id}/experiments"

    def _reset(self) -> None:
        self.loaded, self.active, self.percent, self.stage, self.fold_text = False, False, 0, "", ""
        self.error = self.advice = self.snippet = self.artifacts_error = ""
        self.facts, self.metric_cards, self.params, self.artifacts = [], [], [], []
        self.fold_headers, self.fold_rows, self.group_headers, self.group_rows = [], [], [], []
        self.lineage, self.chart_names, self.charts_loading = dict(NO_LINEAGE), [], False
        self.rename_open, self.rename_error, self.cancel_requested = False, "", False
        for name in CHARTS:
            setattr(self, f"fig_{name}", go.Figure())

    def _show(self, info: runs.RunInfo) -> None:
        """The header and the progress of the run."""
        self.run_id, self.name, self.status = str(info.id), info.name, info.status
        self.badge = STATUS_BADGES.get(info.status, "neutral")
        self.model, self.data, self.target = model_label(info.model_key), info.data_label, info.target
        self.problem_type = info.problem_type
        self.created_by, self.created = info.created_by or "someone", when(info.created_at)
        self.can_edit, self.cancel_requested = info.can_edit, info.cancel_requested
        self.active = info.status in runs.ACTIVE
        if self.active and info.started_at is not None:
            self.duration = duration_text(time.time() - info.started_at.timestamp())
        else:
            self.duration = duration_text(info.duration_s)
        percent, self.stage = progress_texts(info)
        self.percent = int(percent.rstrip("%") or 0)
        progress = info.progress or {}
        fold, folds = progress.get("fold"), progress.get("folds")
        self.fold_text = f"Fold {fold} of {folds}" if fold and folds else ""
        if self.fold_text and self.fold_text in self.stage:
            self.fold_text = ""  # the stage says it already
        self.error = info.error if info.status in (runs.FAILED, runs.CANCELLED, runs.INTERRUPTED) else ""
        self.advice = ADVICE.get(info.status, "")
        self._mlflow_run_id = info.mlflow_run_id

    def _results(self, info: runs.RunInfo) -> None:
        """What the run page shows of a finished run without asking MLflow."""
        summary = info.metrics or {}
        primary = str(summary.get("primary") or info.spec.get("primary_metric") or "")
        self.metric_cards = _cards(summary, primary)
        keys = [card.key for card in self.metric_cards]
        self.fold_headers, self.fold_rows = _fold_table(summary, keys)
        self.group_headers, self.group_rows = _group_table(summary, keys)
        facts = [
            ["Rows", summary.get("rows")],
            ["Rows without a target (dropped)", summary.get("dropped_missing_target")],
            ["Folds", summary.get("folds")],
            ["Training rows per fold", summary.get("train_rows")],
            ["Test rows per fold", summary.get("test_rows")],
        ]
        self.facts = [[label, f"{int(value):,}"] for label, value in facts if isinstance(value, int | float)]

    def _parameters(self, info: runs.RunInfo) -> None:
        self.params = [ParamRow(s, n, v) for s, n, v in reports.spec_parameters(info.spec)]

    async def _load_run(self):
        user = self._require_user()
        self.project_id = await load_project_frame(self, user)
        info = await asyncio.to_thread(runs.get_run, user, self.project_id, self._route_id("run_id"))
        return user, info

    @rx.event
    async def load(self):
        self._reset()
        self._poll_id += 1
        yield  # the previous run's page must not show while this one loads
        try:
            user, info = await self._load_run()
        except NotFound as error:
            back = "/projects"
            if str(error) == runs.NOT_FOUND:
                back = f"/projects/{self._route_id('project_id')}/experiments"
            yield _not_found(error, back)
            return
        except ServiceError as error:
            yield self._fail(error)
            return
        self._show(info)
        self._parameters(info)
        if info.status == runs.FINISHED:
            self._results(info)
        self.lineage = await asyncio.to_thread(_lineage, user, self.project_id, info)
        self.loaded = True
        if self.active:
            yield ExperimentRunState.poll
            return
        if info.status != runs.FINISHED:
            return
        yield
        await self._load_artifacts()
        yield
        if self._mlflow_run_id:
            self.charts_loading = True
            yield
            for name in CHARTS:
                figure = await self._figure(name)
                if figure is not None:
                    setattr(self, f"fig_{name}", figure)
                    self.chart_names = [*self.chart_names, name]
                    yield
            self.charts_loading = False

    async def _load_artifacts(self) -> None:
        if not self._mlflow_run_id:
            self.artifacts_error = "This run saved nothing to MLflow."
            return
        from hydroml.services.experiments import tracking

        base = f"/api/projects/{self.project_id}/runs/{self.run_id}/artifacts/"
        try:
            files = await asyncio.to_thread(tracking.list_artifacts, self._mlflow_run_id)
            self.snippet = await asyncio.to_thread(tracking.model_snippet, self._mlflow_run_id)
        except ServiceError as error:
            self.artifacts_error = str(error)
            return
        except Exception:  # noqa: BLE001 - MLflow down or its store moved: the rest of the page still works
            self.artifacts_error = "MLflow could not be reached, so the run's files cannot be listed now."
            return
        self.artifacts = [ArtifactRow(path, size(nbytes), base + quote(path)) for path, nbytes in files]

    async def _figure(self, name: str) -> go.Figure | None:
        from hydroml.services.experiments import tracking

        try:
            data = await asyncio.to_thread(tracking.load_figure, self._mlflow_run_id, name)
            return go.Figure(data)
        except Exception:  # noqa: BLE001 - a chart that is missing or unreadable simply does not show
            return None

    @rx.event(background=True)
    async def poll(self):
        """Refresh the progress about every second until the run is done (then reload the whole page)."""
        async with self:
            poll_id, path = self._poll_id, self.router.url.path
        started = time.monotonic()
        while time.monotonic() - started < POLL_LIMIT_SECONDS:
            await asyncio.sleep(POLL_SECONDS)
            async with self:
                if self._poll_id != poll_id or self.router.url.path != path:
                    return
                try:
                    _, info = await self._load_run()
                except ServiceError:
                    return
                self._show(info)
                if not self.active:
                    return ExperimentRunState.load

    @rx.event
    async def cancel(self):
        try:
            user = self._require_user()
            info = await asyncio.to_thread(runs.request_cancel, user, self.project_id, self.run_id)
        except InvalidInput as error:
            return rx.toast.error(error.message)
        except ServiceError as error:
            return self._fail(error)
        self._show(info)
        if info.status == runs.CANCELLED:
            return rx.toast.success("The run was cancelled before it started.")
        return rx.toast.info("Stopping the run; it ends within a few seconds.")

    @rx.event
    def set_rename_open(self, value: bool):
        self.rename_open, self.rename_error = bool(value), ""

    @rx.event
    async def rename(self, form_data: dict):
        self.rename_error = ""
        try:
            user = self._require_user()
            info = await asyncio.to_thread(
                runs.rename_run, user, self.project_id, self.run_id, str(form_data.get("name", ""))
            )
        except InvalidInput as error:
            self.rename_error = error.message
            return
        except ServiceError as error:
            return self._fail(error)
        self.name, self.rename_open = info.name, False
        return rx.toast.success("Run renamed.")

    @rx.event
    async def delete(self):
        try:
            user = self._require_user()
            await asyncio.to_thread(runs.delete_run_everywhere, user, self.project_id, self.run_id)
        except InvalidInput as error:
            return rx.toast.error(error.message)
        except ServiceError as error:
            return self._fail(error)
        self._poll_id += 1
        return [rx.redirect(self.list_href), rx.toast.success(f"Run “{self.name}” deleted.")]

    @rx.event
    def copy_snippet(self):
        return [rx.set_clipboard(self.snippet), rx.toast.success("Copied.")]
