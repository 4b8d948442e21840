"""Import a file into a project: upload with progress, preview with editable settings and types, import as a job."""

from __future__ import annotations

import asyncio
import json

import reflex as rx

from hydroml.services import datasources, ingest
from hydroml.services.errors import InvalidInput, NotSignedIn, ServiceError
from hydroml.state.auth import AuthState
from hydroml.state.formatting import size

PREVIEW_COLUMNS = 50  # more would not fit on screen (and a socket message must stay small)
UPLOAD_ID = "data-upload"


class DataImportState(AuthState):
    project_id: str = ""
    replace_id: str = ""  # set when uploading a new version of an existing data source
    upload_id: str = ""
    file_name: str = ""
    file_size: str = ""
    uploading: bool = False
    upload_percent: int = 0
    settings_json: str = ""
    columns: list[dict[str, str]] = []
    rows: list[list[str]] = []
    hidden_columns: int = 0
    sheets: list[str] = []
    warnings: list[str] = []
    error: str = ""
    name: str = ""
    importing: bool = False
    import_percent: int = 0
    import_stage: str = ""

    @rx.var
    def settings(self) -> dict[str, str]:
        if not self.settings_json:
            return {}
        raw = json.loads(self.settings_json)
        return {
            key: "" if raw.get(key) is None else str(raw.get(key))
            for key in (
                "format",
                "encoding",
                "delimiter",
                "decimal",
                "header_row",
                "skip_rows",
                "sheet",
                "dayfirst",
                "json_lines",
            )
        }

    def _project(self):
        user = self._require_user()
        self.project_id = self._route_id("project_id") or self.project_id
        return user

    def _reset(self) -> None:
        self.upload_id = self.file_name = self.file_size = self.settings_json = self.error = self.name = ""
        self.columns, self.rows, self.sheets, self.warnings = [], [], [], []
        self.hidden_columns = self.upload_percent = self.import_percent = 0
        self.uploading = self.importing = False
        self.import_stage = ""

    @rx.event
    def load(self):
        replace_id = self.router.url.query_parameters.get("replace", "")
        same_page = self.project_id == self._route_id("project_id") and replace_id == self.replace_id
        if same_page and (self.upload_id or self.uploading):
            # A file for this page is staged: keep its preview. The upload travels over HTTP, this load over
            # the websocket, so a file dropped right after the page opened may be handled before this runs.
            try:
                self._project()
            except ServiceError as error:
                return self._fail(error)
            return
        self._reset()
        self.replace_id = replace_id
        try:
            user = self._project()
            if self.replace_id:
                info, _ = datasources.get_data_source(user, self.project_id, self.replace_id)
                self.name = info.name
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    def on_upload_progress(self, progress: dict):
        fraction = float(progress.get("progress", 0))
        self.upload_percent = round(fraction * 100)
        self.uploading = fraction < 1  # the last progress event can arrive after the upload was handled

    @rx.event
    async def handle_upload(self, files: list[rx.UploadFile]):
        self.error = ""
        try:
            user = self._project()
            if not files:
                raise InvalidInput("file", "Choose a file to upload.")
            upload = files[0]
            staged = await asyncio.to_thread(
                datasources.stage_upload,
                user,
                self.project_id,
                upload.file,
                upload.name or upload.filename or "upload",
            )
            self.upload_id, self.file_name, self.file_size = (
                staged.id,
                staged.original_name,
                size(staged.size_bytes),
            )
            if not self.name:
                self.name = staged.original_name.rsplit(".", 1)[0]
            preview = await asyncio.to_thread(datasources.preview_upload, user, self.project_id, staged.id)
            self._show(preview)
        except NotSignedIn as error:
            self.upload_id = ""
            return self._fail(error)
        except ServiceError as error:
            self.error = str(error)
            self.upload_id = ""
        finally:
            self.uploading = False

    def _show(self, preview: ingest.Preview) -> None:
        self.settings_json = preview.settings.to_json()
        shown = preview.columns[:PREVIEW_COLUMNS]
        self.hidden_columns = max(0, len(preview.columns) - PREVIEW_COLUMNS)
        self.columns = [{"name": c.name, "dtype": c.dtype} for c in shown]
        self.rows = [row[:PREVIEW_COLUMNS] for row in preview.rows]
        self.sheets = list(preview.sheets)
        self.warnings = list(preview.warnings)

    async def _repreview(self, settings: ingest.ImportSettings):
        """Preview again in a worker thread: reading a big file's head takes a moment."""
        user = self._project()
        self._show(
            await asyncio.to_thread(
                datasources.preview_upload, user, self.project_id, self.upload_id, settings
            )
        )

    @rx.event
    async def set_setting(self, key: str, value: str):
        """Change one detected setting and preview again."""
        if not self.settings_json:
            return
        self.error = ""
        raw = json.loads(self.settings_json)
        if key == "header_row":
            try:
                raw[key] = None if value in ("", "none") else max(0, int(value))
            except ValueError:
                self.error = "The header row must be a row number, or none."
                return
        elif key == "skip_rows":
            try:
                raw[key] = max(0, int(value or 0))
            except ValueError:
                self.error = "Rows to skip must be a whole number."
                return
        elif key in ("dayfirst", "json_lines"):
            raw[key] = value in (True, "true", "True", "on")
        elif key in ("format", "encoding", "delimiter", "decimal", "sheet"):
            raw[key] = value
        else:
            return
        try:
            await self._repreview(ingest.ImportSettings.from_json(json.dumps(raw)))
        except NotSignedIn as error:
            return self._fail(error)
        except ServiceError as error:
            self.error = str(error)

    @rx.event
    async def set_column_type(self, column: str, dtype: str):
        if not self.settings_json or dtype not in ingest.TYPES:
            return
        self.error = ""
        settings = ingest.ImportSettings.from_json(self.settings_json)
        settings.column_types = {**settings.column_types, column: dtype}
        try:
            await self._repreview(settings)
        except NotSignedIn as error:
            return self._fail(error)
        except ServiceError as error:
            self.error = str(error)

    @rx.event
    def set_name(self, value: str):
        self.name = str(value)[:300]

    @rx.event
    def cancel(self):
        try:
            user = self._project()
            if self.upload_id:
                datasources.discard_upload(user, self.project_id, self.upload_id)
        except ServiceError:
            pass
        self._reset()
        return rx.redirect(f"/projects/{self.project_id}")

    @rx.event(background=True)
    async def run_import(self):
        async with self:
            if self.importing or not self.upload_id:
                return
            try:
                user = self._project()
            except ServiceError as error:
                return self._fail(error)
            self.importing, self.import_percent, self.import_stage, self.error = True, 0, "Starting", ""
            project_id, upload_id, replace_id, name = (
                self.project_id,
                self.upload_id,
                self.replace_id,
                self.name,
            )
            settings = ingest.ImportSettings.from_json(self.settings_json)
        progress = {"fraction": 0.0, "stage": "Reading the file"}

        def report(fraction: float, stage: str) -> None:
            progress["fraction"], progress["stage"] = fraction, stage

        def work():
            if replace_id:
                return datasources.import_new_version(
                    user, project_id, replace_id, upload_id, settings, progress=report
                )
            return datasources.import_upload(user, project_id, upload_id, settings, name, progress=report)

        task = asyncio.create_task(asyncio.to_thread(work))
        while not task.done():
            await asyncio.sleep(0.25)
            async with self:
                self.import_percent = round(progress["fraction"] * 100)
                self.import_stage = progress["stage"]
        try:
            info = task.result()
        except ServiceError as error:
            async with self:
                self.importing = False
                self.error = str(error)
            return
        async with self:
            self._reset()
        return [
            rx.redirect(f"/projects/{project_id}/data/{info.id}"),
            rx.toast.success(f"Imported {info.rows:,} rows into “{info.name}” (version {info.version})."),
        ]
