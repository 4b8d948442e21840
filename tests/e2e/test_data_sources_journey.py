"""A new user brings a messy agency CSV into a project, checks it, downloads it, and shares it read-only."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.e2e.test_account_journey import PASSWORD, _register, _sign_in, _sign_out

pytestmark = pytest.mark.e2e
BAD = Path(__file__).resolve().parents[1] / "data" / "bad"

ROWS = [
    ("0042", "Zürich Sihl", "31/12/2020", "1,5", "gut"),
    ("0042", "Zürich Sihl", "01/01/2021", "2,25", "gut"),
    ("0042", "Zürich Sihl", "02/01/2021", "", "Lücke"),
    ("0107", "Genève Arve", "13/01/2021", "12,75", "<b>trüb</b>"),
    ("0107", "Genève Arve", "14/01/2021", "-0,5", "=cmd|' /C calc'!A0"),
]


def _agency_csv(tmp_path):
    """Semicolon-separated, Latin-1, comma decimals, day-first dates, gauge codes with leading zeros."""
    text = "gauge_code;station;date;flow_m3s;remark\n" + "\n".join(";".join(row) for row in ROWS) + "\n"
    path = tmp_path / f"agency_export_{uuid.uuid4().hex[:4]}.csv"
    path.write_bytes(text.encode("latin-1"))
    return path


def _arrived_home(page) -> None:
    """The URL changes before the session cookie is written: wait for the dashboard to render."""
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#welcome-name")).to_be_visible()


def _create_project(page, app, name: str) -> str:
    page.goto(f"{app.url}/projects")
    page.click("#new-project")
    page.fill("#field-name", name)
    page.click("#create-project-submit")
    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}$"))
    return page.url.rsplit("/", 1)[1]


def test_import_check_download_and_share_read_only(app_postgres_redis, browser, page, tmp_path):
    app = app_postgres_redis
    owner, viewer = f"owner_{uuid.uuid4().hex[:6]}", f"viewer_{uuid.uuid4().hex[:6]}"
    _register(page, app, viewer, PASSWORD, "Vera Viewer")
    _arrived_home(page)
    _sign_out(page)
    _register(page, app, owner, PASSWORD, "Olga Owner")
    _arrived_home(page)

    project_id = _create_project(page, app, "Swiss gauges <pilot>")
    expect(page.locator("#page-title")).to_have_text("Swiss gauges <pilot>")
    app.shot(page, "20-project-empty")

    # Upload: the preview shows what was detected, before anything is imported.
    page.click("#import-data")
    page.wait_for_url(re.compile(r"/import$"))
    app.shot(page, "21-import-drop-zone")
    page.locator("#data-upload input[type=file]").set_input_files(str(_agency_csv(tmp_path)))
    expect(page.locator("#preview-table")).to_be_visible()
    expect(page.locator("#setting-delimiter")).to_have_value(";")
    expect(page.locator("#setting-decimal")).to_have_value(",")
    expect(page.locator("#preview-table")).to_contain_text("Zürich Sihl")
    expect(page.locator("#preview-table")).to_contain_text("<b>trüb</b>")  # HTML shown as text

    # Gauge codes look like numbers; keep them as text so the leading zeros survive.
    page.select_option("#type-gauge_code", "string")
    expect(page.locator("#preview-table")).to_contain_text("0042")
    app.shot(page, "22-import-preview", full_page=True)
    page.fill("#import-name", "Agency flows")
    page.click("#run-import")
    page.wait_for_url(re.compile(r"/data/[0-9a-f-]{36}$"))
    data_url = page.url

    # Quality report and grid of the stored data.
    expect(page.locator("#overview-rows")).to_have_text("5")
    expect(page.locator("#quality-table")).to_contain_text("flow_m3s")
    expect(page.locator("#data-grid")).to_contain_text("2020-12-31")
    expect(page.locator("#data-grid")).to_contain_text("0042")
    app.shot(page, "23-data-source", full_page=True)

    # Download as CSV over HTTP with the session cookie: same values back.
    response = page.request.get(
        f"{app.url}/api/projects/{project_id}/data-sources/{data_url.rsplit('/', 1)[1]}/download?format=csv"
    )
    assert response.status == 200
    downloaded = pd.read_csv(io.BytesIO(response.body()), dtype={"gauge_code": str})
    assert downloaded["gauge_code"].tolist() == [row[0] for row in ROWS]
    assert downloaded["station"].tolist() == [row[1] for row in ROWS]
    assert downloaded["flow_m3s"].tolist()[:2] == [1.5, 2.25]
    assert pd.isna(downloaded["flow_m3s"][2])
    assert downloaded["remark"].tolist()[4] == "=cmd|' /C calc'!A0"
    assert pd.to_datetime(downloaded["date"]).dt.strftime("%Y-%m-%d").tolist()[0] == "2020-12-31"

    # A broken file gets a clear message in the page and leaves nothing behind.
    page.goto(f"{app.url}/projects/{project_id}/import")
    page.locator("#data-upload input[type=file]").set_input_files(str(BAD / "binary_garbage.csv"))
    expect(page.locator("#form-error")).to_contain_text("binary")
    app.shot(page, "26-import-bad-file")
    page.goto(f"{app.url}/projects/{project_id}")
    expect(page.locator("#data-sources-table tbody tr")).to_have_count(1)

    # Share read-only.
    page.goto(f"{app.url}/projects/{project_id}/members")
    page.fill("#field-username", viewer)
    page.select_option("#field-role", "viewer")
    page.click("#add-member")
    expect(page.locator("#members-table")).to_contain_text(viewer)
    app.shot(page, "24-members")
    _sign_out(page)

    _sign_in(page, app, viewer, PASSWORD)
    _arrived_home(page)
    page.goto(f"{app.url}/projects")
    expect(page.locator("#projects-table")).to_contain_text("Swiss gauges <pilot>")
    page.goto(data_url)
    expect(page.locator("#overview-rows")).to_have_text("5")
    expect(page.locator("#delete-data-source")).to_have_count(0)
    expect(page.locator("#save-data-source")).to_have_count(0)
    app.shot(page, "25-data-source-as-viewer", full_page=True)
    page.goto(f"{app.url}/projects/{project_id}")
    expect(page.locator("#import-data")).to_have_count(0)
    page.goto(f"{app.url}/projects/{project_id}/settings")
    expect(page.get_by_text("Only owners can change the project's settings.")).to_be_visible()
    expect(page.locator("#delete-project")).to_have_count(0)

    # An outsider's URL guess gets nothing: the download route answers 404, not data.
    _sign_out(page)
    outsider = f"out_{uuid.uuid4().hex[:6]}"
    _register(page, app, outsider, PASSWORD)
    _arrived_home(page)
    response = page.request.get(
        f"{app.url}/api/projects/{project_id}/data-sources/{data_url.rsplit('/', 1)[1]}/download?format=csv"
    )
    assert response.status == 404
