"""The runs table of a project: filter, sort by a metric, pick runs to compare or delete, live progress.

The table holds one small row of preformatted strings per run (a project may have a thousand runs); sorting and
filtering happen on the server, and while a run is queued or running a background event refreshes the rows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import reflex as rx

from hydroml.services import datasources
from hydroml.services.errors import InvalidInput, NotFound, ServiceError
from hydroml.services.experiments import reports, runs
from hydroml.state.auth import AuthState
from hydroml.state.connections import _not_found, load_project_frame
from hydroml.state.formatting import when
from hydroml.state.projects import ProjectState

POLL_SECONDS = 2.0
POLL_LIMIT_SECONDS = 30 * 60
MAX_COMPARE = 8
STATUS_BADGES = {
    runs.QUEUED: "info",
    runs.RUNNING: "running",
    runs.FINISHED: "success",
    runs.FAILED: "failed",
    runs.CANCELLED: "neutral",
    runs.INTERRUPTED: "warning",
}
STATUS_OPTIONS = [("", "Any status")] + [(status, status.capitalize()) for status in runs.STATUSES]
ORDER_OPTIONS = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("name", "Name"),
    ("duration", "Longest"),
]


@dataclasses.dataclass
class RunRow:
    id: str = ""
    name: str = ""
    href: str = ""
    status: str = ""
    badge: str = "neutral"
    progress: str = ""  # "42%" while running
    stage: str = ""
    model: str = ""
    data: str = ""
    target: str = ""
    metrics: list[str] = dataclasses.field(default_factory=list)  # aligned with the metric headers
    duration: str = ""
    created: str = ""


@dataclasses.dataclass
class MetricHeader:
    key: str = ""
    label: str = ""
    hint: str = ""  # what the metric means and which way is better
    arrow: str = ""  # "↓" best first, "↑" worst first, "" when the table is not sorted by it


def model_label(key: str) -> str:
    """The catalog's name of a model, or its key when the catalog does not know it."""
    try:
        from hydroml.services.experiments import catalog

        return catalog.get_model(key).label
    except Exception:  # noqa: BLE001 - a missing or renamed model still shows its key
        return key


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_texts(info: runs.RunInfo) -> tuple[str, str]:
    """(percent, stage) of a queued or running run; ("", "") otherwise."""
    if info.status not in runs.ACTIVE:
        return "", ""
    progress = info.progress or {}
    try:
        percent = f"{int(float(progress.get('percent') or 0))}%"
    except (TypeError, ValueError):
        percent = ""
    return percent, str(progress.get("stage") or "")


def _hint(key: str) -> str:
    info = reports.METRICS.get(key)
    if info is None:
        return key
    if info.best_at_optimal:
        direction = f"best at {info.optimal:g}"
    else:
        direction = "higher is better" if info.greater_is_better else "lower is better"
    return f"{info.description} {direction.capitalize()}. Click to sort."


def _row(info: runs.RunInfo, project_id: str, columns: list[str], labels: dict[str, str]) -> RunRow:
    percent, stage = progress_texts(info)
    return RunRow(
        id=str(info.id),
        name=info.name,
        href=f"/projects/{project_id}/experiments/{info.id}",
        status=info.status,
        badge=STATUS_BADGES.get(info.status, "neutral"),
        progress=percent,
        stage=stage,
        model=labels.get(info.model_key, info.model_key),
        data=info.data_label,
        target=info.target,
        metrics=[reports.number(reports.metric_mean(info.metrics, key)) for key in columns],
        duration=duration_text(info.duration_s),
        created=when(info.created_at),
    )


class ExperimentsState(AuthState):
    """The runs of the project in the URL. Every handler re-checks the user; the services check the role."""

    project_id: str = ""
    runs: list[RunRow] = []
    metric_headers: list[MetricHeader] = []
    loaded: bool = False
    can_edit: bool = False
    total: int = 0  # runs in the project, whatever the filters
    # filters and order
    status_filter: str = ""
    model_filter: str = ""
    source_filter: str = ""
    order: str = "newest"
    sort_metric: str = ""
    best_first: bool = True
    model_options: list[list[str]] = []
    source_options: list[list[str]] = []
    # picked rows (ids), for compare and delete
    selected: list[str] = []
    active: bool = False  # a listed run is queued or running
    _poll_id: int = 0

    @rx.var
    def selected_count(self) -> int:
        return len(self.selected)

    @rx.var
    def compare_href(self) -> str:
        return f"/projects/{self.project_id}/experiments/compare?runs=" + ",".join(self.selected)

    @rx.var
    def filtered(self) -> bool:
        return bool(self.status_filter or self.model_filter or self.source_filter)

    async def _reload(self, user=None) -> None:
        """The rows for the current filters and order, and the filter options (from all the runs)."""
        user = user or self._require_user()
        project_id = self._route_id("project_id")
        order = self.order if self.order in runs.SORTS else "newest"
        everything = await asyncio.to_thread(runs.list_runs, user, project_id, sort=order)
        listed = everything
        if self.filtered:
            listed = await asyncio.to_thread(
                runs.list_runs,
                user,
                project_id,
                status=self.status_filter,
                model=self.model_filter,
                data_source_id=self.source_filter,
                sort=order,
            )
        columns = reports.metric_columns([info.metrics for info in listed])
        if self.sort_metric and self.sort_metric in columns:
            listed = reports.rank_by_metric(
                listed, lambda info: info.metrics, self.sort_metric, best_first=self.best_first
            )
        elif self.sort_metric:
            self.sort_metric = ""
        labels = {key: model_label(key) for key in {info.model_key for info in everything}}
        self.metric_headers = [
            MetricHeader(
                key=key,
                label=reports.metric_label(key),
                hint=_hint(key),
                arrow=("↓" if self.best_first else "↑") if key == self.sort_metric else "",
            )
            for key in columns
        ]
        self.runs = [_row(info, project_id, columns, labels) for info in listed]
        self.total = len(everything)
        self.can_edit = bool(everything[0].can_edit) if everything else self.can_edit
        self.model_options = [[key, labels[key]] for key in sorted(labels, key=lambda k: labels[k]) if key]
        sources = {str(info.data_source_id): info.data_label for info in everything if info.data_source_id}
        names = {}
        if sources:
            infos = await asyncio.to_thread(datasources.list_data_sources, user, project_id)
            names = {str(info.id): info.name for info in infos}
        self.source_options = sorted(
            ([sid, names.get(sid, label)] for sid, label in sources.items()), key=lambda pair: pair[1].lower()
        )
        present = {row.id for row in self.runs}
        self.selected = [rid for rid in self.selected if rid in present]
        self.active = any(info.status in runs.ACTIVE for info in everything)

    @rx.event
    async def load(self):
        self.runs, self.metric_headers, self.selected, self.loaded = [], [], [], False
        self.status_filter = self.model_filter = self.source_filter = self.sort_metric = ""
        self.order, self.best_first, self.active = "newest", True, False
        self._poll_id += 1
        try:
            user = self._require_user()
            self.project_id = await load_project_frame(self, user)
            self.can_edit = (await self.get_state(ProjectState)).can_edit
            await self._reload(user)
        except NotFound as error:
            return _not_found(error)
        except ServiceError as error:
            return self._fail(error)
        self.loaded = True
        if self.active:
            return ExperimentsState.poll

    async def _apply(self):
        try:
            await self._reload()
        except NotFound as error:
            return _not_found(error)
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    async def refresh(self):
        return await self._apply()

    @rx.event
    async def set_status_filter(self, value: str):
        self.status_filter = value if value in runs.STATUSES else ""
        return await self._apply()

    @rx.event
    async def set_model_filter(self, value: str):
        self.model_filter = str(value or "")[:40]
        return await self._apply()

    @rx.event
    async def set_source_filter(self, value: str):
        self.source_filter = str(value or "")[:40]
        return await self._apply()

    @rx.event
    async def set_order(self, value: str):
        self.order = value if value in runs.SORTS else "newest"
        self.sort_metric, self.best_first = "", True
        return await self._apply()

    @rx.event
    async def sort_by(self, key: str):
        """Click on a metric header: best first; a second click: worst first (runs without it stay last)."""
        if key not in reports.METRICS:
            return
        self.best_first = not self.best_first if key == self.sort_metric else True
        self.sort_metric = key
        return await self._apply()

    @rx.event
    async def clear_filters(self):
        self.status_filter = self.model_filter = self.source_filter = ""
        return await self._apply()

    @rx.event
    def toggle(self, run_id: str, picked: bool):
        run_id = str(run_id)
        others = [rid for rid in self.selected if rid != run_id]
        self.selected = [*others, run_id] if picked else others

    @rx.event
    def clear_selection(self):
        self.selected = []

    @rx.event
    async def delete_selected(self):
        """Delete the picked runs (editors); a queued or running run is refused with the service's message."""
        picked = list(self.selected)
        if not picked:
            return
        deleted, refused = 0, []
        try:
            user = self._require_user()
            project_id = self._route_id("project_id")
            for run_id in picked:
                try:
                    await asyncio.to_thread(runs.delete_run_everywhere, user, project_id, run_id)
                    deleted += 1
                except NotFound:
                    continue
                except InvalidInput as error:
                    refused.append(error.message)
            self.selected = []
            await self._reload(user)
        except ServiceError as error:
            return self._fail(error)
        toasts = []
        if deleted:
            toasts.append(rx.toast.success(f"Deleted {deleted} run{'s' if deleted != 1 else ''}."))
        if refused:
            toasts.append(rx.toast.error(refused[0]))
        return toasts

    @rx.event(background=True)
    async def poll(self):
        """Refresh the rows every ~2 s while a run is queued or running; stops when none is, when the tab
        leaves the page or loads it again, or after 30 minutes."""
        async with self:
            poll_id = self._poll_id
            path = self.router.url.path
        started = time.monotonic()
        while time.monotonic() - started < POLL_LIMIT_SECONDS:
            await asyncio.sleep(POLL_SECONDS)
            async with self:
                if self._poll_id != poll_id or self.router.url.path != path or not self.active:
                    return
                try:
                    await self._reload()
                except ServiceError:
                    return
                if not self.active:
                    return
