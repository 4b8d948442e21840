"""The Data Studio as a hydrologist uses it, in a real browser against a real server (restarted mid-way).

On the demo streamflow data: parse dates, set negative flows missing, convert the L/s station to m3/s,
interpolate gaps of up to 3 days, resample to monthly, add lags; undo, redo, edit a past step, turn one off;
restart the server; the session comes back at the same step with the same grid; the exported script, run by
plain Python on the downloaded data, gives exactly the frame the studio shows.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import OUTPUT

pytestmark = pytest.mark.e2e
DEMO_USER = "demo"


def _sign_in_demo(page, app) -> None:
    page.goto(f"{app.url}/signin")
    page.fill("#field-username", DEMO_USER)
    page.fill("#field-password", app.env["HYDROML_DEMO_PASSWORD"])
    page.click("#sign-in-submit")
    expect(page.locator("#welcome-name")).to_be_visible()


def _open_daily_source(page, app) -> None:
    page.goto(f"{app.url}/projects")
    page.get_by_role("link", name="Demo catchments").click()
    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}$"))
    page.get_by_role("link", name="Daily hydro-meteorology").click()
    expect(page.locator("#studio-sessions")).to_be_visible()


def _idle(page) -> None:
    expect(page.locator("#studio-busy")).to_have_count(0)


def _check(page, column: str) -> None:
    """A controlled checkbox: it shows checked once the server has the choice."""
    box = page.locator(
        "#operation-panel .studio-check", has_text=re.compile(f"^{re.escape(column)}$")
    ).locator("input")
    box.click()
    expect(box).to_be_checked()


def _add_step(page, op: str, fill, steps_after: int) -> None:
    page.select_option("#operation-select", op)
    expect(page.locator("#apply-step")).to_be_visible()
    fill()
    page.click("#apply-step")
    expect(page.locator(f"#step-{steps_after}")).to_be_visible()
    expect(page.locator("#cursor")).to_have_text(str(steps_after))
    _idle(page)


def _history(page) -> list[str]:
    return page.locator("#history > li").all_inner_texts()


def _grid_text(page) -> str:
    return page.locator("#studio-grid").inner_text()


def test_clean_resample_lag_edit_restart_and_reproduce(app_sqlite, browser, page, tmp_path):
    app = app_sqlite
    page.set_viewport_size({"width": 1600, "height": 1000})
    _sign_in_demo(page, app)
    _open_daily_source(page, app)
    page.click("#new-session")
    page.wait_for_url(re.compile(r"/studio/[0-9a-f-]{36}$"))
    expect(page.locator("#page-label")).to_have_text("Rows 1–50 of 45,655")
    app.shot(page, "studio-1-opened")

    _add_step(page, "parse_datetime", lambda: page.select_option("#op-field-column", "date"), 1)
    _add_step(page, "flag_nonpositive_flow", lambda: page.select_option("#op-field-column", "flow"), 2)

    def convert():
        _check(page, "flow")
        page.select_option("#op-field-from_unit", "L/s")
        page.select_option("#op-field-to_unit", "m3/s")
        page.click("text=+ condition")
        page.select_option("#operation-panel select[aria-label='Column']", "station_id")
        page.fill("#operation-panel input[aria-label='Value']", "ST04")

    _add_step(page, "convert_units", convert, 3)
    app.shot(page, "studio-2-converted")

    def interpolate():
        _check(page, "flow")
        page.fill("#op-field-max_gap", "3")
        page.select_option("#op-field-group_by", "station_id")

    _add_step(page, "interpolate", interpolate, 4)

    def resample():
        page.select_option("#op-field-time_column", "date")
        page.select_option("#op-field-group_by", "station_id")
        page.select_option("#op-field-frequency", "MS")
        page.select_option("#operation-panel select[aria-label='Value for precip_mm']", "sum")
        page.select_option("#operation-panel select[aria-label='Value for flow']", "mean")

    _add_step(page, "resample", resample, 5)
    expect(page.locator("#page-label")).to_have_text("Rows 1–50 of 1,500")  # 5 stations x 300 months

    def lags():
        _check(page, "flow")
        _check(page, "precip_mm")
        page.fill("#op-field-lags", "1, 2, 3")
        page.select_option("#op-field-group_by", "station_id")

    _add_step(page, "lag_features", lags, 6)
    expect(page.locator("#studio-grid thead")).to_contain_text("flow_lag3")
    app.shot(page, "studio-3-lags")

    # Undo twice, redo once: the grid follows the cursor, the undone step stays listed.
    page.click("#undo")
    expect(page.locator("#cursor")).to_have_text("5")
    page.click("#undo")
    expect(page.locator("#cursor")).to_have_text("4")
    expect(page.locator("#page-label")).to_have_text("Rows 1–50 of 45,655")
    page.click("#redo")
    expect(page.locator("#cursor")).to_have_text("5")
    expect(page.locator("#page-label")).to_have_text("Rows 1–50 of 1,500")
    expect(page.locator("#step-6 .grove-badge")).to_have_text("undone")

    # Edit the interpolation limit of step 4: later steps re-run, nothing is dropped.
    page.locator("#step-4").get_by_role("button", name="Edit").click()
    expect(page.locator("#op-field-max_gap")).to_have_value("3")
    page.fill("#op-field-max_gap", "2")
    page.click("#apply-step")
    expect(page.locator("#step-4")).to_contain_text("gaps up to 2 rows")
    _idle(page)
    # Turn off "negative flows" (step 2).
    page.locator("#step-2").get_by_role("button", name="Turn off").click()
    expect(page.locator("#step-2 .grove-badge")).to_have_text("off")
    _idle(page)
    app.shot(page, "studio-4-edited")
    history_before, grid_before = _history(page), _grid_text(page)
    session_url = page.url

    app.restart()
    page.goto(session_url)
    expect(page.locator("#cursor")).to_have_text("5")
    expect(page.locator("#page-label")).to_have_text("Rows 1–50 of 1,500")
    assert _history(page) == history_before
    assert _grid_text(page) == grid_before
    app.shot(page, "studio-5-after-restart")

    # Column profile and a hydrograph of the cursor frame, drawn from server-side downsampled data.
    page.locator("#studio-grid thead th", has_text="flow").get_by_role("button", name="profile").click()
    expect(page.locator("#profile-facts")).to_contain_text("Missing")
    page.click("#tab-charts")
    page.select_option("#chart-kind", "time_series")
    page.select_option("#chart-x", "date")
    page.select_option("#chart-y", "flow")
    page.select_option("#chart-group", "station_id")
    page.click("#chart-draw")
    expect(page.locator("#studio-chart .main-svg").first).to_be_visible()
    page.locator("#studio-chart").scroll_into_view_if_needed()
    app.shot(page, "studio-5b-chart")

    # The script, run by plain Python on the downloaded data, gives the frame the studio shows.
    page.click("#tab-code")
    page.click("#show-script")
    expect(page.locator("#script-text")).to_contain_text("df = pd.read_parquet(INPUT)")
    app.shot(page, "studio-6-code", full_page=True)
    with page.expect_download() as script_download:
        page.click("#download-script")
    script = tmp_path / "recipe.py"
    script_download.value.save_as(script)
    with page.expect_download() as result_download:
        page.click("#download-result-parquet")
    shown = tmp_path / "studio_result.parquet"
    result_download.value.save_as(shown)
    project_id, session_id = re.search(r"/projects/([^/]+)/studio/([^/]+)$", session_url).groups()
    source_href = page.locator("a", has_text="Daily hydro-meteorology").first.get_attribute("href")
    source_id = source_href.rstrip("/").rsplit("/", 1)[1]
    raw = page.request.get(
        f"{app.url}/api/projects/{project_id}/data-sources/{source_id}/download?format=parquet"
    )
    assert raw.ok
    original = tmp_path / "daily.parquet"
    original.write_bytes(raw.body())
    out = tmp_path / "out.parquet"
    subprocess.run([sys.executable, "-I", str(script), str(original), str(out)], check=True, timeout=300)
    reproduced, studio_frame = pd.read_parquet(out), pd.read_parquet(shown)
    pd.testing.assert_frame_equal(reproduced, studio_frame, check_exact=True)
    assert len(studio_frame) == 1500 and list(studio_frame.columns) == [
        "station_id",
        "date",
        "precip_mm",
        "flow",
    ]
    first_row = page.locator("#studio-grid tbody tr").first.locator("td").all_inner_texts()
    top = studio_frame.iloc[0]
    assert first_row[:3] == [
        top["station_id"],
        top["date"].strftime("%Y-%m-%d"),
        repr(float(top["precip_mm"])),
    ]

    # The result becomes a new data source that remembers where it came from.
    page.fill("#save-name", "Monthly flows (cleaned)")
    page.click("#save-result")
    page.wait_for_url(re.compile(r"/data/[0-9a-f-]{36}$"))
    expect(page.locator("#versions-table")).to_contain_text("derived")
    expect(page.locator("#overview-rows")).to_have_text("1,500")
    expect(page.locator("#lineage")).to_contain_text("Derived from Daily hydro-meteorology version 1")
    expect(page.locator("#lineage li")).to_have_count(5)  # the recipe up to the cursor, step 2 turned off
    expect(page.locator("#lineage")).to_contain_text("(turned off) Set negative flow missing")
    app.shot(page, "studio-7-derived-source", full_page=True)


CREATE_BIG_SESSION = """
import numpy as np, pandas as pd
from hydroml.services import auth, datasources, projects
from hydroml.services.studio import sessions
user = auth.find_user("demo")
project = projects.create_project(user, "Big gauge network")
rows = 1_000_000
rng = np.random.default_rng(0)
frame = pd.DataFrame({"time": pd.date_range("2000-01-01", periods=rows, freq="min"),
                      "station": rng.choice([f"S{i:02d}" for i in range(50)], rows)})
for i in range(18):
    frame[f"v{i:02d}"] = rng.normal(size=rows)
source = datasources.create_from_frame(user, project.id, "One million rows", frame)
info = sessions.create_session(user, project.id, source.id, "Paging")
print(f"/projects/{project.id}/studio/{info.id}")
"""


def test_paging_a_million_rows_in_the_browser(app_postgres_redis, page):
    """Click "Next" until the grid shows the new page: p95 recorded (issue target 200 ms; asserted < 1 s)."""
    app = app_postgres_redis
    made = subprocess.run(
        [sys.executable, "-c", CREATE_BIG_SESSION], env=app.env, capture_output=True, text=True, timeout=600
    )
    assert made.returncode == 0, made.stderr
    path = made.stdout.strip().splitlines()[-1]
    page.set_viewport_size({"width": 1600, "height": 1000})
    _sign_in_demo(page, app)
    page.goto(f"{app.url}{path}")
    expect(page.locator("#page-label")).to_have_text("Rows 1–50 of 1,000,000")
    timings = []
    for i in range(30):
        expected = f"Rows {50 * (i + 1) + 1:,}–{50 * (i + 2):,} of 1,000,000"
        started = time.perf_counter()
        page.click("#page-next")
        expect(page.locator("#page-label")).to_have_text(expected)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    p50 = statistics.median(timings)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "studio-paging.json").write_text(json.dumps({"p50_ms": p50, "p95_ms": p95, "samples": timings}))
    app.shot(page, "studio-million-rows")
    assert p95 < 1000, f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"
