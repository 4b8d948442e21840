"""One data source: quality report, paged preview, versions, downloads, rename and delete."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from hydroml.services import datasources, projects
from hydroml.services.errors import InvalidInput, NotFound, ServiceError
from hydroml.services.studio.lineage import lineage
from hydroml.state.auth import AuthState
from hydroml.state.formatting import count, size, when

PAGE_SIZES = ("25", "50", "100", "500")
GRID_COLUMNS = 60  # a page of a very wide table must stay far below the 1 MB socket message limit
NUMERIC = ("integer", "float")


def _number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


@dataclasses.dataclass
class ColumnRow:
    """One line of the quality report, as shown."""

    name: str = ""
    dtype: str = ""
    missing: str = ""
    missing_pct: str = ""
    unique: str = ""
    detail: str = ""
    bars: list[str] = dataclasses.field(default_factory=list)


def _column_row(report: dict) -> ColumnRow:
    histogram = report.get("histogram") or {}
    counts = histogram.get("counts") or []
    peak = max(counts) if counts else 0
    top = report.get("top") or []
    dt = report.get("datetime") or {}
    if dt:
        first, last = (
            str(dt.get(key) or "").replace("T00:00:00", "").replace("T", " ") for key in ("first", "last")
        )
        detail = (
            f"{first} → {last} · "
            + (f"every {dt['frequency']}" if dt.get("frequency") else "irregular")
            + (
                f" · {dt.get('gaps', 0):,} gap(s), longest {dt['longest_gap']}"
                if dt.get("gaps")
                else " · no gaps"
            )
            + (f" · {dt['duplicates']:,} repeated timestamps" if dt.get("duplicates") else "")
        )
    elif report.get("dtype") in NUMERIC:
        detail = (
            f"min {_number(report.get('min'))} · max {_number(report.get('max'))} · "
            f"mean {_number(report.get('mean'))} · std {_number(report.get('std'))}"
        )
    else:
        detail = "top: " + ", ".join(f"{value} ({n:,})" for value, n in top[:5]) if top else ""
    return ColumnRow(
        name=report["name"],
        dtype=report["dtype"],
        missing=count(report.get("missing", 0)),
        missing_pct=f"{report.get('missing_pct', 0):.1f}%",
        unique=count(report.get("unique", 0)),
        detail=detail,
        bars=[str(round(100 * c / peak)) if peak else "0" for c in counts],
    )


def _version_source(version: datasources.VersionInfo) -> str:
    """Where a version's rows came from, as the versions table shows it."""
    if version.original_filename:
        return version.original_filename
    if version.has_recipe:
        return "derived"
    connection = version.import_settings.get("connection_name")
    return f"database query ({connection})" if connection else "created in HydroML"


class DataSourceState(AuthState):
    project_id: str = ""
    data_source_id: str = ""
    project_name: str = ""
    role: str = ""
    loaded: bool = False
    info: dict[str, str] = {}
    versions: list[dict[str, str]] = []
    overview: dict[str, str] = {}
    column_reports: list[ColumnRow] = []
    grid_columns: list[dict[str, str]] = []
    grid_rows: list[list[str]] = []
    hidden_columns: int = 0
    total_rows: int = 0
    offset: int = 0
    page_size: int = 50
    sort_column: str = ""
    sort_ascending: bool = True
    name_error: str = ""
    link_targets: list[dict[str, str]] = []
    link_error: str = ""
    # Lineage of a derived source: parent name/version/href ("" when not in this project) and recipe lines.
    lineage: dict[str, str] = {}
    lineage_steps: list[str] = []

    @rx.var
    def can_edit(self) -> bool:
        return self.role in ("owner", "editor")

    @rx.var
    def page_label(self) -> str:
        if self.total_rows == 0:
            return "No rows"
        last = min(self.offset + self.page_size, self.total_rows)
        return f"Rows {self.offset + 1:,}–{last:,} of {self.total_rows:,}"

    @rx.var
    def has_previous(self) -> bool:
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        return self.offset + self.page_size < self.total_rows

    @rx.var
    def download_base(self) -> str:
        return f"/api/projects/{self.project_id}/data-sources/{self.data_source_id}/download?format="

    def _ids(self):
        user = self._require_user()
        self.project_id = self._route_id("project_id") or self.project_id
        self.data_source_id = self._route_id("data_source_id") or self.data_source_id
        return user

    def _read_page(self, user):
        sort = [(self.sort_column, self.sort_ascending)] if self.sort_column else None
        return datasources.read_page(
            user, self.project_id, self.data_source_id, offset=self.offset, limit=self.page_size, sort=sort
        )

    def _show_page(self, page) -> None:
        self.grid_columns = [{"name": c["name"], "dtype": c["dtype"]} for c in page.columns[:GRID_COLUMNS]]
        self.hidden_columns = max(0, len(page.columns) - GRID_COLUMNS)
        self.grid_rows = [row[:GRID_COLUMNS] for row in page.rows]
        self.total_rows = page.total_rows

    @rx.event
    def load(self):
        self.loaded, self.role = False, ""
        self.offset, self.sort_column, self.name_error = 0, "", ""
        try:
            user = self._ids()
            project = projects.get_project(user, self.project_id)
            self.project_name, self.role = project.name, project.role
            info, versions = datasources.get_data_source(user, self.project_id, self.data_source_id)
            self.info = {
                "name": info.name,
                "description": info.description,
                "version": str(info.version),
                "rows": count(info.rows),
                "columns": count(info.columns),
                "size": size(info.size_bytes),
                "original": info.original_filename or "",
                "role": info.role,
            }
            self.versions = [
                {
                    "version": str(v.version),
                    "rows": count(v.rows),
                    "columns": count(v.columns),
                    "created": when(v.created_at),
                    "original": _version_source(v),
                    "sha256": v.sha256[:12],
                }
                for v in versions
            ]
            report = datasources.quality_report(user, self.project_id, self.data_source_id)
            self.overview = {
                "rows": count(report["rows"]),
                "columns": count(report["columns"]),
                "memory": size(report["memory_bytes"]),
                "missing": count(sum(c.get("missing", 0) for c in report["column_reports"])),
            }
            self.column_reports = [_column_row(c) for c in report["column_reports"][:300]]
            self._show_page(self._read_page(user))  # the first page in file order: a cheap slice
            self._load_link_targets(user)
            self._load_lineage(user)
            self.loaded = True
        except NotFound as error:
            # Inside my project but not this data source: back to the project; otherwise to the list.
            back = f"/projects/{self.project_id}" if self.role else "/projects"
            return [rx.toast.error(str(error)), rx.redirect(back)]
        except ServiceError as error:
            return self._fail(error)

    async def _regrid(self):
        """A page of the view, read in a worker thread: a sorted view of a large file takes a moment."""
        try:
            self._show_page(await asyncio.to_thread(self._read_page, self._ids()))
        except InvalidInput as error:
            self.sort_column = ""  # an unknown column must not stick to every later page
            return rx.toast.error(str(error))
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    async def next_page(self):
        if self.offset + self.page_size < self.total_rows:
            self.offset += self.page_size
        return await self._regrid()

    @rx.event
    async def previous_page(self):
        self.offset = max(0, self.offset - self.page_size)
        return await self._regrid()

    @rx.event
    async def set_page_size(self, value: str):
        self.page_size = int(value) if value in PAGE_SIZES else 50
        self.offset = 0
        return await self._regrid()

    @rx.event
    async def sort_by(self, column: str):
        """Click a header: ascending, then descending, then unsorted. The data itself never changes."""
        if self.sort_column != column:
            self.sort_column, self.sort_ascending = column, True
        elif self.sort_ascending:
            self.sort_ascending = False
        else:
            self.sort_column = ""
        self.offset = 0
        return await self._regrid()

    def _load_lineage(self, user) -> None:
        found = lineage(user, self.project_id, self.data_source_id)
        self.lineage = (
            {
                "parent": found.parent_name,
                "version": str(found.parent_version),
                "href": f"/projects/{self.project_id}/data/{found.parent_id}" if found.parent_id else "",
            }
            if found
            else {}
        )
        self.lineage_steps = found.steps if found else []

    def _load_link_targets(self, user) -> None:
        targets = (
            datasources.link_targets(user, self.project_id, self.data_source_id) if self.can_edit else []
        )
        self.link_targets = [{"id": str(project_id), "name": name} for project_id, name in targets]

    @rx.event
    def link(self, form_data: dict):
        self.link_error = ""
        try:
            user = self._ids()
            target = str(form_data.get("project", ""))
            datasources.link_data_source(
                user, self.project_id, self.data_source_id, target, str(form_data.get("role", "secondary"))
            )
            name = next((t["name"] for t in self.link_targets if t["id"] == target), "the project")
            self._load_link_targets(user)
        except InvalidInput as error:
            self.link_error = error.message
            return
        except ServiceError as error:
            return self._fail(error)
        return rx.toast.success(f"Now also used in “{name}”.")

    @rx.event
    def rename(self, form_data: dict):
        self.name_error = ""
        try:
            user = self._ids()
            info = datasources.update_data_source(
                user,
                self.project_id,
                self.data_source_id,
                name=str(form_data.get("name", "")),
                description=str(form_data.get("description", "")),
            )
        except InvalidInput as error:
            self.name_error = error.message
            return
        except ServiceError as error:
            return self._fail(error)
        self.info = {**self.info, "name": info.name, "description": info.description}
        return rx.toast.success("Data source saved.")

    @rx.event
    def delete(self):
        try:
            user = self._ids()
            everywhere = datasources.delete_data_source(user, self.project_id, self.data_source_id)
        except ServiceError as error:
            return self._fail(error)
        message = (
            "Data source deleted."
            if everywhere
            else "Removed from this project; other projects still use it."
        )
        return [rx.redirect(f"/projects/{self.project_id}"), rx.toast.success(message)]
