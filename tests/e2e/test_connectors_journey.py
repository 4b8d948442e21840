"""Connectors as a hydrologist uses them, in a real browser against the PostgreSQL + Redis deployment.

A separate PostgreSQL database plays the agency's station database. Add a connection, browse to its readings
table, build a query with two conditions, an order and a limit without typing SQL, import it (progress shown),
open it in the Data Studio, refresh it after new rows were inserted with psql, clean it in the studio, export the
cleaned data source as a new table and read that table back with psql.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.conftest import PG_ADMIN_URL, create_pg_database, drop_pg_database
from tests.e2e.test_studio_journey import _add_step, _sign_in_demo

pytestmark = pytest.mark.e2e
IMPORTED = "station = 'ST01' AND measured_at >= '2021-03-01'"
STATIONS = ("ST01", "ST02", "ST03")
DAYS = 400
# Marks every element that shows import/refresh progress the moment it is added to the page: a small query
# finishes faster than an assertion could poll, so the page itself remembers that progress was shown.
WATCH_PROGRESS = """
window.__progressSeen = [];
new MutationObserver(() => {
  for (const id of ['import-progress', 'refresh-progress', 'export-progress']) {
    if (document.getElementById(id) && !window.__progressSeen.includes(id)) window.__progressSeen.push(id);
  }
}).observe(document, {childList: true, subtree: true});
"""


@pytest.fixture
def station_database():
    """A PostgreSQL database with a `station_readings` table (some negative flows: sensor faults)."""
    url = create_pg_database(PG_ADMIN_URL)
    rng = np.random.default_rng(7)
    frames = []
    for station in STATIONS:
        flow = rng.gamma(2.0, 1.5, DAYS).round(3)
        flow[rng.choice(DAYS, 12, replace=False)] = -9.999
        frames.append(
            pd.DataFrame(
                {
                    "station": station,
                    "measured_at": pd.date_range("2021-01-01", periods=DAYS, freq="D"),
                    "level_m": rng.normal(1.2, 0.3, DAYS).round(3),
                    "flow": flow,
                    "flag": np.where(rng.random(DAYS) < 0.1, "estimated", "good"),
                }
            )
        )
    engine = sa.create_engine(url)
    pd.concat(frames).to_sql("station_readings", engine, index=False)
    engine.dispose()
    try:
        yield url.rsplit("/", 1)[1]
    finally:
        drop_pg_database(PG_ADMIN_URL, url)


def _psql(database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-At", "-F", "|", "-c", sql],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def _expected_rows(database: str) -> int:
    return int(_psql(database, f"SELECT count(*) FROM station_readings WHERE {IMPORTED}"))


def test_connect_browse_query_import_refresh_and_export(app_postgres_redis, page, station_database):
    app = app_postgres_redis
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.add_init_script(WATCH_PROGRESS)
    _sign_in_demo(page, app)
    page.goto(f"{app.url}/projects")
    page.get_by_role("link", name="Demo catchments").click()
    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}$"))
    project_url = page.url

    # Add the connection (the password field is never filled back in) and test it.
    page.click("#tab-connections")
    expect(page.locator("#new-connection")).to_be_visible()
    page.click("#new-connection")
    page.fill("#field-name", "Gauges")
    page.fill("#field-host", "127.0.0.1")
    page.fill("#field-port", "5432")
    page.fill("#field-database", station_database)
    page.fill("#field-username", "postgres")
    page.fill("#field-password", "not-needed-with-trust")
    app.shot(page, "connectors-1-new-connection")
    page.click("#connection-submit")
    expect(page.locator("#connections-table")).to_contain_text("Gauges")
    expect(page.locator("#connections-table")).to_contain_text(f"127.0.0.1:5432/{station_database}")
    assert "not-needed-with-trust" not in page.content()
    page.click("#test-Gauges")
    expect(page.locator("#test-message-Gauges")).to_contain_text("Connected")
    app.shot(page, "connectors-2-connections")

    # Browse to the readings table: estimated rows, column types, a preview.
    page.locator("#connections-table a", has_text="Browse").click()
    page.click("#table-station_readings")
    expect(page.locator("#columns-table")).to_contain_text("measured_at")
    expect(page.locator("#columns-table")).to_contain_text("TIMESTAMP")
    expect(page.locator("#preview-grid tbody tr")).to_have_count(100)
    app.shot(page, "connectors-3-browser", full_page=True)

    # Build the query without typing SQL: station ST01 from March 2021 on, newest first, at most 5,000 rows.
    page.click("#build-query")
    page.wait_for_url(re.compile(r"/query$"))
    page.select_option("#query-table", "station_readings")
    expect(page.locator("#query-columns")).to_contain_text("level_m")
    page.click("#add-condition")
    page.select_option("#condition-column-0", "station")
    page.fill("#condition-value-0", "ST01")
    page.click("#add-condition")
    page.select_option("#condition-column-1", "measured_at")
    page.select_option("#condition-op-1", ">=")
    page.fill("#condition-value-1", "2021-03-01")
    page.select_option("#query-order", "measured_at")
    page.click("#query-descending")
    expect(page.locator("#query-descending")).to_be_checked()
    page.fill("#query-limit", "5000")
    generated = page.locator("#generated-sql")
    expect(generated).to_contain_text("ORDER BY station_readings.measured_at DESC")
    expect(generated).to_contain_text("LIMIT")
    expect(page.locator("#query-params")).to_contain_text('"ST01"')
    assert "ST01" not in generated.inner_text()  # the value is a bound parameter, never in the SQL text
    page.click("#preview-query")
    expect(page.locator("#preview-grid tbody tr")).to_have_count(100)
    app.shot(page, "connectors-4-query", full_page=True)

    expected = _expected_rows(station_database)
    page.fill("#import-name", "ST01 readings")
    page.click("#import-query")
    page.wait_for_url(re.compile(r"/data/[0-9a-f-]{36}$"))
    assert "import-progress" in page.evaluate("window.__progressSeen")
    expect(page.locator("#overview-rows")).to_have_text(f"{expected:,}")
    expect(page.locator("#recorded-sql")).to_contain_text("station_readings.station =")
    expect(page.locator("#recorded-params")).to_contain_text('"ST01"')
    imported_url = page.url
    app.shot(page, "connectors-5-imported", full_page=True)

    # Open it in the Data Studio.
    page.click("#new-session")
    page.wait_for_url(re.compile(r"/studio/[0-9a-f-]{36}$"))
    expect(page.locator("#page-label")).to_have_text(f"Rows 1–50 of {expected:,}")
    studio_url = page.url

    # New readings arrive in the station database; Refresh re-runs the recorded query into version 2.
    _psql(
        station_database,
        "INSERT INTO station_readings (station, measured_at, level_m, flow, flag) "
        "SELECT 'ST01', timestamp '2022-02-05' + n * interval '1 day', 1.1, 2.5 + n, 'good' "
        "FROM generate_series(1, 30) AS n",
    )
    page.goto(imported_url)
    page.click("#refresh-query")
    expect(page.locator("#overview-rows")).to_have_text(f"{expected + 30:,}")
    assert "refresh-progress" in page.evaluate("window.__progressSeen")
    expect(page.locator("#versions-table tbody tr")).to_have_count(2)
    expect(page.locator("#versions-table")).to_contain_text("database query (Gauges)")
    app.shot(page, "connectors-6-refreshed", full_page=True)

    # The studio session offers to replay on version 2; then clean it (negative flows are sensor faults).
    page.goto(studio_url)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.click("#replay-latest")
    expect(page.locator("#page-label")).to_have_text(f"Rows 1–50 of {expected + 30:,}")
    expect(page.locator("#replay-latest")).to_have_count(0)
    _add_step(page, "flag_nonpositive_flow", lambda: page.select_option("#op-field-column", "flow"), 1)
    page.fill("#save-name", "ST01 readings (cleaned)")
    page.click("#save-result")
    page.wait_for_url(re.compile(r"/data/[0-9a-f-]{36}$"))
    cleaned_rows = int(page.locator("#overview-rows").inner_text().replace(",", ""))

    # Export the cleaned data source as a new table, then read it with psql.
    page.fill("#export-table", "st01_clean")
    expect(page.locator("#export-mode")).to_have_value("create")
    page.click("#run-export")
    expect(page.get_by_text(f"Created table st01_clean: {cleaned_rows:,} rows written.")).to_be_visible()
    app.shot(page, "connectors-7-exported", full_page=True)
    assert cleaned_rows == expected + 30
    faults = int(
        _psql(station_database, f"SELECT count(*) FROM station_readings WHERE {IMPORTED} AND flow < 0")
    )
    assert faults > 0
    counted = _psql(station_database, "SELECT count(*), count(flow), min(flow) > 0 FROM st01_clean")
    assert counted.split("|") == [str(cleaned_rows), str(cleaned_rows - faults), "t"]
    newest = _psql(
        station_database, "SELECT max(measured_at)::date, pg_typeof(max(measured_at)) FROM st01_clean"
    )
    assert newest == "2022-03-07|timestamp without time zone"

    # A second "create" must not overwrite what is there: a clear message instead.
    page.click("#run-export")
    expect(page.locator("#export-database")).to_contain_text("already exists")
    app.shot(page, "connectors-8-export-conflict", full_page=True)
    page.goto(project_url)
