"""Several runs side by side (`?runs=id1,id2,...`): metrics with the best value marked, a bar chart, their
predictions overlaid when they trained on the same data, and the parameters that differ."""

from __future__ import annotations

import asyncio
import dataclasses

import plotly.graph_objects as go
import reflex as rx

from hydroml.services.errors import NotFound, ServiceError
from hydroml.services.experiments import charts, reports, runs
from hydroml.state.auth import AuthState
from hydroml.state.connections import _not_found, load_project_frame
from hydroml.state.experiments import STATUS_BADGES, model_label

MAX_RUNS = 8


@dataclasses.dataclass
class CompareRun:
    id: str = ""
    name: str = ""
    href: str = ""
    status: str = ""
    badge: str = ""
    model: str = ""
    data: str = ""


@dataclasses.dataclass
class CompareRow:
    label: str = ""
    hint: str = ""
    cells: list[list[str]] = dataclasses.field(default_factory=list)  # [value, "best" or ""] per run


def _load_predictions(mlflow_ids: list[str]):
    from hydroml.services.experiments import tracking

    frames = []
    for run_id in mlflow_ids:
        try:
            frames.append(tracking.load_predictions(run_id) if run_id else None)
        except Exception:  # noqa: BLE001 - a run without predictions is left out of the overlay
            frames.append(None)
    return frames


class ExperimentCompareState(AuthState):
    project_id: str = ""
    loaded: bool = False
    runs: list[CompareRun] = []
    rows: list[CompareRow] = []
    differences: list[CompareRow] = []
    same_data: bool = False
    message: str = ""
    has_bars: bool = False
    bars: go.Figure = go.Figure()
    overlay_loading: bool = False
    has_overlay: bool = False
    overlay: go.Figure = go.Figure()

    @rx.var
    def list_href(self) -> str:
        return f"/projects/{self.project_id}/experiments"

    def _ids(self) -> list[str]:
        raw = str(self.router.url.query_parameters.get("runs", "") or "")
        return list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))

    @rx.event
    async def load(self):
        self.loaded, self.runs, self.rows, self.differences, self.message = False, [], [], [], ""
        self.has_bars, self.has_overlay, self.overlay_loading, self.same_data = False, False, False, False
        self.bars, self.overlay = go.Figure(), go.Figure()
        ids = self._ids()
        try:
            user = self._require_user()
            self.project_id = await load_project_frame(self, user)
            if len(ids) < 2:
                yield [rx.toast.info("Tick two or more runs to compare them."), rx.redirect(self.list_href)]
                return
            if len(ids) > MAX_RUNS:
                self.message = f"Showing the first {MAX_RUNS} of the {len(ids)} runs asked for."
                ids = ids[:MAX_RUNS]
            infos = await asyncio.to_thread(runs.get_runs, user, self.project_id, ids)
        except NotFound as error:
            back = self.list_href if str(error) == runs.NOT_FOUND else "/projects"
            yield _not_found(error, back)
            return
        except ServiceError as error:
            yield self._fail(error)
            return
        self._fill(infos)
        self.loaded = True
        yield
        if not self.same_data:
            return
        self.overlay_loading = True
        yield
        names = [info.name for info in infos]
        frames = await asyncio.to_thread(_load_predictions, [info.mlflow_run_id for info in infos])
        spec = infos[0].spec
        figure = await asyncio.to_thread(
            reports.overlay_figure,
            names,
            frames,
            infos[0].target,
            str(spec.get("time_column") or ""),
            str(spec.get("group_column") or ""),
        )
        self.overlay_loading = False
        if figure is not None:
            self.overlay, self.has_overlay = figure, True

    def _fill(self, infos: list[runs.RunInfo]) -> None:
        self.runs = [
            CompareRun(
                id=str(info.id),
                name=info.name,
                href=f"/projects/{self.project_id}/experiments/{info.id}",
                status=info.status,
                badge=STATUS_BADGES.get(info.status, "neutral"),
                model=model_label(info.model_key),
                data=info.data_label,
            )
            for info in infos
        ]
        keys = reports.metric_columns([info.metrics for info in infos])
        rows, series = [], {}
        scores = reports.score_metrics(keys) or keys[:1]
        for key in keys:
            values = [reports.metric_mean(info.metrics, key) for info in infos]
            best = reports.best_indexes(key, values) if len(infos) > 1 else set()
            info = reports.METRICS.get(key)
            rows.append(
                CompareRow(
                    label=reports.metric_label(key),
                    hint=info.description if info else "",
                    cells=[[reports.number(v), "best" if i in best else ""] for i, v in enumerate(values)],
                )
            )
            if key in scores:
                series[reports.metric_label(key)] = [None if v != v else v for v in values]
        self.rows = rows
        if series:
            self.bars = charts.metric_bars([info.name for info in infos], series)
            self.has_bars = True
        self.differences = [
            CompareRow(label=f"{name}", hint=section, cells=[[value, ""] for value in values])
            for section, name, values in reports.differing_parameters([info.spec for info in infos])
        ]
        self.same_data = reports.same_data(
            [info.data_fingerprint for info in infos], [info.spec.get("data") or {} for info in infos]
        )
