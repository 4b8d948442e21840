"""A new user's first visit, in a real browser, against the built app."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PASSWORD = "river-flow-2026"
HOSTILE_NAME = "<script>alert('x')</script> & <b>Ana</b>"


def _register(page, app, username: str, password: str, display_name: str = "") -> None:
    page.goto(f"{app.url}/register")
    page.fill("#field-username", username)
    page.fill("#field-display_name", display_name)
    page.fill("#field-password", password)
    page.fill("#field-confirm", password)
    page.click("#register-submit")


def _sign_in(page, app, username: str, password: str) -> None:
    page.goto(f"{app.url}/signin")
    page.fill("#field-username", username)
    page.fill("#field-password", password)
    page.click("#sign-in-submit")


def _sign_out(page) -> None:
    page.click("#user-menu")
    page.click("#menu-sign-out")
    page.wait_for_url(re.compile(r"/signin"))


def _journey(app, browser, page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    username = f"ana_{uuid.uuid4().hex[:6]}"

    # A signed-out visitor is sent to sign-in.
    page.goto(f"{app.url}/account")
    page.wait_for_url(re.compile(r"/signin"))
    expect(page.locator("#sign-in-submit")).to_be_visible()
    app.shot(page, "01-sign-in")

    # Registration explains a weak password and keeps the user on the form.
    _register(page, app, username, "weakpass", HOSTILE_NAME)
    expect(page.locator("#field-password-error")).to_contain_text("At least 10 characters")
    app.shot(page, "02-register-weak-password")

    page.fill("#field-password", PASSWORD)
    page.fill("#field-confirm", PASSWORD)
    page.click("#register-submit")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#welcome-name")).to_have_text(HOSTILE_NAME)  # HTML in a name is shown as text
    expect(page.locator("#tile-sessions")).to_contain_text("1")
    app.shot(page, "03-dashboard")
    assert dialogs == [], "a display name must never run as script"

    _sign_out(page)
    app.shot(page, "04-signed-out")

    # A wrong password gets a clear error and no session.
    _sign_in(page, app, username, "not-the-password-1")
    expect(page.locator("#form-error")).to_have_text("Wrong user name or password.")
    app.shot(page, "05-wrong-password")

    _sign_in(page, app, username.upper(), PASSWORD)  # user names are case-insensitive
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#welcome-name")).to_have_text(HOSTILE_NAME)

    # Dark mode is saved with the account: a fresh browser signs in dark.
    page.click("#theme-toggle")
    expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    app.shot(page, "06-dashboard-dark")

    other = browser.new_context(viewport={"width": 390, "height": 844})
    phone = other.new_page()
    _sign_in(phone, app, username, PASSWORD)
    phone.wait_for_url(re.compile(r"/$"))
    expect(phone.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    expect(phone.locator("#tile-sessions")).to_contain_text("2")  # this browser and the first one
    app.shot(phone, "07-dashboard-dark-phone")

    # Account page: change the display name; the header follows.
    page.goto(f"{app.url}/account")
    page.fill("#field-display_name", "Ana Hydro")
    page.click("#save-profile")
    expect(page.locator("#user-menu")).to_contain_text("Ana Hydro")
    app.shot(page, "08-account-dark", full_page=True)

    # Changing the password signs the other browser out.
    page.fill("#field-current_password", PASSWORD)
    page.fill("#field-password", PASSWORD + "-new")
    page.fill("#field-confirm", PASSWORD + "-new")
    page.click("#change-password")
    expect(page.get_by_text("Password changed.")).to_be_visible()
    phone.goto(f"{app.url}/account")
    phone.wait_for_url(re.compile(r"/signin"))
    other.close()

    page.click("#theme-toggle")
    expect(page.locator("html")).not_to_have_class(re.compile(r"\bdark\b"))
    _sign_out(page)
    app.shot(page, "09-signed-out-again")

    # A forged session cookie is treated as signed out.
    page.context.add_cookies([{"name": "hydroml_session", "value": "forged-token", "url": app.url}])
    page.goto(f"{app.url}/")
    page.wait_for_url(re.compile(r"/signin"))


def _health(app) -> dict:
    with urllib.request.urlopen(f"{app.url}/api/health", timeout=10) as response:
        assert response.status == 200
        return json.load(response)


def test_new_user_journey_on_postgres_with_redis_state(app_postgres_redis, browser, page):
    health = _health(app_postgres_redis)
    assert health["checks"]["database"]["backend"] == "postgresql"
    assert health["checks"]["redis"]["ok"] is True
    _journey(app_postgres_redis, browser, page)
    # Reflex kept the per-tab state in Redis (not on local disk): the scaled-out state manager is in use.
    import redis

    from tests.e2e.conftest import E2E_REDIS_URL

    assert redis.Redis.from_url(E2E_REDIS_URL).dbsize() > 0


def test_help_page_and_demo_account_on_postgres(app_postgres_redis, page):
    _sign_in(page, app_postgres_redis, "demo", "catchment-e2e-pass-1")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#welcome-name")).to_have_text("Demo user")
    page.click("#tab-help")
    expect(page.locator("#page-title")).to_have_text("Help")
    app_postgres_redis.shot(page, "10-help", full_page=True)

    # make run seeded the demo project with its three data sources.
    page.click("#tab-projects")
    page.get_by_role("link", name="Demo catchments").click()
    expect(page.locator("#data-sources-table tbody tr")).to_have_count(3)
    app_postgres_redis.shot(page, "11-demo-project")
    page.get_by_role("link", name="Daily hydro-meteorology").click()
    expect(page.locator("#overview-rows")).to_have_text("45,655")
    expect(page.locator("#quality-table")).to_contain_text("flow")
    app_postgres_redis.shot(page, "12-demo-daily-data", full_page=True)


def test_smoke_on_embedded_sqlite_default(app_sqlite, page):
    health = _health(app_sqlite)
    assert health["checks"]["database"]["backend"] == "sqlite"
    assert "redis" not in health["checks"]
    _register(page, app_sqlite, "smoke_user", PASSWORD, "Smoke")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#welcome-name")).to_have_text("Smoke")
    app_sqlite.shot(page, "01-dashboard")

    # A destructive action asks first: Cancel keeps the session, confirming ends every session.
    page.goto(f"{app_sqlite.url}/account")
    page.click("#sign-out-everywhere")
    expect(page.get_by_role("alertdialog")).to_be_visible()
    page.wait_for_timeout(400)  # let the dialog finish fading in before the screenshot
    app_sqlite.shot(page, "02-confirm-sign-out-everywhere")
    page.click("#sign-out-everywhere-cancel")
    expect(page.get_by_role("alertdialog")).to_be_hidden()
    expect(page.locator("#active-sessions")).to_contain_text("1")
    page.click("#sign-out-everywhere")
    page.click("#sign-out-everywhere-ok")
    page.wait_for_url(re.compile(r"/signin"))
    page.goto(f"{app_sqlite.url}/")
    page.wait_for_url(re.compile(r"/signin"))
