"""The Data Studio's lower panels: column profile, charts and the recipe's pandas script.

Separate from StudioState so drawing a chart never waits for (or repickles) the grid and history.
"""

from __future__ import annotations

import asyncio

import plotly.graph_objects as go
import reflex as rx

from hydroml.services.errors import InvalidInput, ServiceError
from hydroml.services.studio import sessions
from hydroml.state.auth import AuthState
from hydroml.state.formatting import count


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, int):
        return count(value)
    return str(value)


def _facts(report: dict) -> list[list[str]]:
    facts = [["Type", str(report.get("dtype", ""))], ["Missing", f"{_fmt(report.get('missing', 0))} "
             f"({report.get('missing_pct', 0):.1f}%)"], ["Unique", _fmt(report.get("unique"))]]  # fmt: skip
    for key, label in (("min", "Minimum"), ("max", "Maximum"), ("mean", "Mean"), ("std", "Std. deviation")):
        if key in report:
            facts.append([label, _fmt(report[key])])
    moments = report.get("datetime") or {}
    for key, label in (("first", "First"), ("last", "Last"), ("frequency", "Step"), ("gaps", "Gaps"),
                       ("longest_gap", "Longest gap"), ("duplicates", "Repeated timestamps")):  # fmt: skip
        if moments.get(key) not in (None, ""):
            facts.append([label, _fmt(moments[key])])
    for value, n in (report.get("top") or [])[:8]:
        facts.append([f"“{value}”", _fmt(n)])
    return facts


class StudioPanelsState(AuthState):
    lower_tab: str = "profile"
    profile_column: str = ""
    profile_facts: list[list[str]] = []
    profile_bars: list[str] = []
    figure: go.Figure = go.Figure()
    has_chart: bool = False
    drawing: bool = False
    chart_error: str = ""
    script_text: str = ""

    def _ids(self):
        return self._require_user(), self._route_id("project_id"), self._route_id("session_id")

    @rx.event
    def reset_panels(self):
        self.profile_column, self.profile_facts, self.profile_bars = "", [], []
        self.figure, self.has_chart, self.chart_error, self.script_text = go.Figure(), False, "", ""

    @rx.event
    def set_lower_tab(self, value: str):
        self.lower_tab = value

    @rx.event
    async def show_profile(self, column: str):
        self.lower_tab = "profile"
        try:
            user, project_id, session_id = self._ids()
            report = await asyncio.to_thread(sessions.column_profile, user, project_id, session_id, column)
        except ServiceError as error:
            return self._fail(error)
        counts = (report.get("histogram") or {}).get("counts") or []
        peak = max(counts) if counts else 0
        self.profile_column = column
        self.profile_facts = _facts(report)
        self.profile_bars = [str(round(100 * c / peak)) if peak else "0" for c in counts]

    @rx.event
    async def draw_chart(self, form_data: dict):
        self.chart_error, self.drawing = "", True
        yield
        try:
            user, project_id, session_id = self._ids()
            figure = await asyncio.to_thread(
                sessions.chart,
                user,
                project_id,
                session_id,
                str(form_data.get("kind", "")),
                str(form_data.get("x", "")),
                str(form_data.get("y", "")),
                str(form_data.get("group", "")),
            )
            self.figure, self.has_chart = figure, True
        except InvalidInput as error:
            self.chart_error, self.has_chart = error.message, False
        except ServiceError as error:
            yield self._fail(error)
        finally:
            self.drawing = False

    @rx.event
    async def load_script(self):
        try:
            user, project_id, session_id = self._ids()
            _, text = await asyncio.to_thread(sessions.script, user, project_id, session_id)
        except ServiceError as error:
            return self._fail(error)
        self.script_text = text
