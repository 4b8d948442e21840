"""Auth, sign-in, registration, account and dashboard states: handlers called directly on real state objects.

Each test opens a "tab" (a root `rx.State` at a URL, with the session cookie set; see conftest.py), calls an
event handler on the substate, and checks three things: what the handler returns to the browser (redirects,
toasts), the state vars (and the delta Reflex would send, which is how the cookie gets written), and the
database, read back through `hydroml.services.auth`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import secrets
from urllib.parse import urlencode

import pytest
import reflex as rx
from reflex.constants.state import FIELD_MARKER
from reflex.event import EventSpec
from sqlmodel import func, select

from hydroml.db import session_scope
from hydroml.models import User
from hydroml.services import auth
from hydroml.state.account import AccountState
from hydroml.state.auth import AuthState, safe_next
from hydroml.state.dashboard import DashboardState
from hydroml.state.signin import RegisterState, SignInState
from tests.state.conftest import PASSWORD

NEW_PASSWORD = "delta-basin-77"
PLEASE_SIGN_IN = ("warning", "Please sign in to continue.")
LOCKED_OUT = "Too many failed sign-ins"

# ---------------------------------------------------------------- helpers


def run(call):
    """Async handlers (they hash passwords off the event loop) run to completion here. A handler that yields
    (state first, then the redirect) gives the list of what it yielded, None when that is nothing."""
    if not inspect.isasyncgen(call):
        return asyncio.run(call)

    async def collect():
        found = []
        async for item in call:
            found += item if isinstance(item, list | tuple) else [item] if item is not None else []
        return found or None

    return asyncio.run(collect())


def state(root: rx.State, cls: type[rx.State]):
    """The instance of `cls` inside the tab `root`."""
    return root.get_substate(cls.get_full_name().split("."))


def events(result) -> list[EventSpec]:
    """A handler returns nothing, one event or a list of them."""
    if result is None:
        return []
    specs = list(result) if isinstance(result, list | tuple) else [result]
    assert all(isinstance(spec, EventSpec) for spec in specs), specs
    return specs


def _args(spec: EventSpec) -> dict:
    return {str(name): value for name, value in spec.args}


def redirects(result) -> list[str]:
    """The paths of the rx.redirect events in a handler's result."""
    return [
        _args(spec)["path"]._var_value
        for spec in events(result)
        if spec.handler.fn.__qualname__ == "_redirect"
    ]


_TOAST_CALL = re.compile(r"""refs\['__toast'\]\?\.\["(\w+)"\]\(("(?:[^"\\]|\\.)*")""")


def toasts(result) -> list[tuple[str, str]]:
    """(level, message) of the rx.toast events in a handler's result, read off the JavaScript call."""
    found = []
    for spec in events(result):
        if spec.handler.fn.__qualname__ != "_call_function":
            continue
        match = _TOAST_CALL.search(str(_args(spec)["function"]))
        assert match, f"not a toast: {spec}"
        found.append((match.group(1), json.loads(match.group(2))))
    return found


_NOT_SENT = object()


def sent_to_browser(root: rx.State, cls: type[rx.State], name: str):
    """The value of var `name` in the delta Reflex would send now (`_NOT_SENT` when unchanged)."""
    return root.get_delta().get(cls.get_full_name(), {}).get(name + FIELD_MARKER, _NOT_SENT)


def user_count() -> int:
    with session_scope() as db:
        return db.exec(select(func.count()).select_from(User)).one()


def forged_token() -> str:
    return secrets.token_urlsafe(32)


# ---------------------------------------------------------------- safe_next


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/"),
        ("", "/"),
        ("/", "/"),
        ("/account", "/account"),
        ("/projects/7?tab=runs#top", "/projects/7?tab=runs#top"),
        ("account", "/"),
        ("//evil.example", "/"),
        ("//evil.example/account", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/\\evil.example", "/"),
        pytest.param(
            "/\t/evil.example",
            "/",
            id="tab-then-slash",
        ),
        pytest.param(
            "/\n\\evil.example",
            "/",
            id="newline-then-backslash",
        ),
    ],
)
def test_safe_next_allows_only_same_site_paths(target, expected):
    assert safe_next(target) == expected


# ---------------------------------------------------------------- sign-in


def test_sign_in_sets_session_cookie_and_redirects_to_next(tab, alice):
    root = tab("/signin?next=/account")
    signin = state(root, SignInState)

    result = run(signin.sign_in({"username": "alice", "password": PASSWORD}))

    assert redirects(result) == ["/account"]
    token = state(root, AuthState).session_token
    assert token
    assert auth.current_user(token) == alice
    assert sent_to_browser(root, AuthState, "session_token") == token  # the cookie is written
    assert (signin.username, signin.shown_name, signin.signed_in, signin.error) == (
        "alice",
        "Alice",
        True,
        "",
    )


def test_sign_in_without_next_redirects_home(tab, alice):
    root = tab("/signin")
    assert redirects(run(state(root, SignInState).sign_in({"username": "ALICE", "password": PASSWORD}))) == [
        "/"
    ]


@pytest.mark.parametrize(
    "next_target",
    [
        "//evil.example",
        "https://evil.example/account",
        "/\\evil.example",
        pytest.param(
            "/\t/evil.example",
            id="encoded-tab",
        ),
    ],
)
def test_sign_in_ignores_offsite_next_parameter(tab, alice, next_target):
    root = tab("/signin?" + urlencode({"next": next_target}))
    assert state(root, SignInState).router.url.query_parameters["next"] == next_target

    result = run(state(root, SignInState).sign_in({"username": "alice", "password": PASSWORD}))

    assert redirects(result) == ["/"]
    assert auth.current_user(state(root, AuthState).session_token) == alice


@pytest.mark.parametrize(
    "form",
    [
        {"username": "alice", "password": "not-the-password-1"},
        {"username": "nobody", "password": PASSWORD},
    ],
    ids=["wrong-password", "unknown-user"],
)
def test_wrong_password_shows_error_and_sets_no_token(tab, alice, form):
    root = tab("/signin?next=/account")
    signin = state(root, SignInState)

    result = run(signin.sign_in(form))

    assert events(result) == []
    assert signin.error == "Wrong user name or password."
    assert state(root, AuthState).session_token == ""
    assert sent_to_browser(root, AuthState, "session_token") is _NOT_SENT
    assert (signin.username, signin.signed_in) == ("", False)
    assert auth.active_session_count(alice.id) == 0


def test_empty_sign_in_form_asks_for_both_fields(tab, alice):
    signin = state(tab("/signin"), SignInState)
    assert run(signin.sign_in({})) is None
    assert signin.error == "Enter your user name and password."


def test_sign_in_lockout_shows_the_wait_and_refuses_the_right_password(tab, alice, monkeypatch):
    monkeypatch.setenv("HYDROML_LOGIN_MAX_FAILURES", "2")
    signin = state(tab("/signin"), SignInState)
    for _ in range(2):
        run(signin.sign_in({"username": "alice", "password": "not-the-password-1"}))

    result = run(signin.sign_in({"username": "alice", "password": PASSWORD}))

    assert events(result) == []
    assert signin.error.startswith(LOCKED_OUT)
    assert signin.session_token == ""
    assert auth.active_session_count(alice.id) == 0


def test_successful_sign_in_clears_the_previous_error(tab, alice):
    signin = state(tab("/signin"), SignInState)
    run(signin.sign_in({"username": "alice", "password": "not-the-password-1"}))
    assert signin.error

    run(signin.sign_in({"username": "alice", "password": PASSWORD}))

    assert signin.error == ""


# ---------------------------------------------------------------- registration


def register_form(username="bob", password=NEW_PASSWORD, confirm=None, display_name="Bob") -> dict:
    return {
        "username": username,
        "password": password,
        "confirm": password if confirm is None else confirm,
        "display_name": display_name,
    }


ERROR_FIELDS = ("username_error", "password_error", "confirm_error", "display_name_error")


@pytest.mark.parametrize(
    ("form", "field", "message_part"),
    [
        (register_form(username="Alice"), "username_error", "is taken"),
        (register_form(username="b"), "username_error", "User names use"),
        (register_form(confirm="delta-basin-78"), "confirm_error", "two passwords differ"),
        (register_form(password="short1"), "password_error", "too weak"),
        (register_form(password="bob-password-1"), "password_error", "too weak"),
        (register_form(display_name="x" * 81), "display_name_error", "at most 80"),
    ],
    ids=[
        "duplicate-name",
        "invalid-name",
        "confirm-differs",
        "weak-password",
        "name-in-password",
        "long-name",
    ],
)
def test_register_reports_each_field_error(tab, alice, form, field, message_part):
    root = tab("/register")
    register = state(root, RegisterState)

    result = run(register.register(form))

    assert events(result) == []
    assert message_part in getattr(register, field)
    assert [name for name in ERROR_FIELDS if getattr(register, name)] == [field]
    assert state(root, AuthState).session_token == ""
    assert register.signed_in is False
    assert user_count() == 1  # only alice


def test_register_clears_errors_of_the_previous_attempt(tab, alice):
    register = state(tab("/register"), RegisterState)
    run(register.register(register_form(username="Alice")))
    assert register.username_error

    run(register.register(register_form(password="short1")))

    assert register.username_error == ""
    assert register.password_error


def test_register_signs_in_and_redirects_home(tab, app_db):
    root = tab("/register?next=/account")
    register = state(root, RegisterState)

    result = run(register.register(register_form(username="bob", display_name="  Bob   Builder ")))

    assert redirects(result) == ["/"]
    assert toasts(result) == [("success", "Welcome to HydroML, Bob Builder.")]
    token = state(root, AuthState).session_token
    user = auth.current_user(token)
    assert (user.username, user.display_name) == ("bob", "Bob Builder")
    assert sent_to_browser(root, AuthState, "session_token") == token
    assert (register.username, register.shown_name, register.theme) == ("bob", "Bob Builder", "light")
    assert all(getattr(register, name) == "" for name in ERROR_FIELDS)


def test_register_of_a_name_with_failed_sign_ins_signs_in_or_explains_the_lockout(tab, app_db, monkeypatch):
    monkeypatch.setenv("HYDROML_LOGIN_MAX_FAILURES", "1")
    run(state(tab("/signin"), SignInState).sign_in({"username": "bob", "password": "not-the-password-1"}))
    register = state(tab("/register"), RegisterState)

    result = run(register.register(register_form(username="bob")))

    signed_in = redirects(result) == ["/"] and auth.current_user(register.session_token) is not None
    shown = [message for _, message in toasts(result)] + [getattr(register, name) for name in ERROR_FIELDS]
    assert signed_in or any(LOCKED_OUT in message for message in shown)


# ---------------------------------------------------------------- the sign-in guard and sign-out


@pytest.mark.parametrize(
    ("url", "target"),
    [("/account", "/signin?next=/account"), ("/projects/7", "/signin?next=/projects/7"), ("/", "/signin")],
)
def test_require_sign_in_redirects_forged_token_to_sign_in_with_next(tab, alice, url, target):
    root = tab(url, forged_token())
    assert redirects(state(root, AuthState).require_sign_in()) == [target]
    assert state(root, AuthState).signed_in is False


def test_require_sign_in_loads_the_user_of_a_live_token(tab, alice, alice_token):
    guard = state(tab("/account", alice_token), AuthState)

    assert guard.require_sign_in() is None

    assert (guard.username, guard.display_name, guard.theme, guard.signed_in) == (
        "alice",
        "Alice",
        "light",
        True,
    )


def test_require_sign_in_forgets_the_user_once_the_session_is_revoked(tab, alice, alice_token):
    root = tab("/account", alice_token)
    guard = state(root, AuthState)
    guard.require_sign_in()
    auth.sign_out(alice_token)  # e.g. "sign out everywhere" from another browser

    assert redirects(guard.require_sign_in()) == ["/signin?next=/account"]
    assert (guard.username, guard.display_name, guard.theme, guard.signed_in) == ("", "", "", False)


def test_redirect_if_signed_in_sends_a_signed_in_user_to_next(tab, alice, alice_token):
    root = tab("/signin?next=/account", alice_token)
    assert redirects(state(root, AuthState).redirect_if_signed_in()) == ["/account"]
    assert state(root, AuthState).username == "alice"


def test_redirect_if_signed_in_keeps_a_signed_out_visitor_on_the_page(tab, alice):
    root = tab("/signin?next=/account", forged_token())
    assert state(root, AuthState).redirect_if_signed_in() is None
    assert state(root, AuthState).signed_in is False


def test_sign_out_revokes_token(tab, alice, alice_token):
    root = tab("/account", alice_token)
    guard = state(root, AuthState)
    guard.require_sign_in()

    result = guard.sign_out()

    assert redirects(result) == ["/signin"]
    assert toasts(result) == [("info", "You are signed out.")]
    assert auth.current_user(alice_token) is None
    assert guard.session_token == ""
    assert sent_to_browser(root, AuthState, "session_token") == ""  # the cookie is cleared
    assert guard.signed_in is False


def test_toggle_theme_persists_preference(tab, alice, alice_token):
    guard = state(tab("/", alice_token), AuthState)

    assert guard.toggle_theme() is None
    assert guard.theme == "dark"
    assert auth.current_user(alice_token).theme == "dark"

    # A new tab starts without a theme; the toggle works from the stored preference.
    other = state(tab("/", alice_token), AuthState)
    other.toggle_theme()
    assert other.theme == "light"
    assert auth.current_user(alice_token).theme == "light"


# ---------------------------------------------------------------- handlers refuse a bad session


def _account(handler, *args):
    return (AccountState, handler, args, "/account", "/signin?next=/account")


DATA_HANDLERS = [
    pytest.param(*_account("load"), id="AccountState.load"),
    pytest.param(*_account("save_profile", {"display_name": "Mallory"}), id="AccountState.save_profile"),
    pytest.param(
        *_account(
            "change_password",
            {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        ),
        id="AccountState.change_password",
    ),
    pytest.param(*_account("set_theme", "dark"), id="AccountState.set_theme"),
    pytest.param(*_account("sign_out_everywhere"), id="AccountState.sign_out_everywhere"),
    pytest.param(DashboardState, "load", (), "/", "/signin", id="DashboardState.load"),
    pytest.param(
        AuthState, "toggle_theme", (), "/account", "/signin?next=/account", id="AuthState.toggle_theme"
    ),
]


@pytest.fixture(params=["missing", "forged", "revoked"])
def bad_token(request, alice) -> str:
    if request.param == "missing":
        return ""
    if request.param == "forged":
        return forged_token()
    token = auth.sign_in("alice", PASSWORD).token
    auth.sign_out(token)
    return token


@pytest.mark.parametrize(("cls", "handler", "args", "url", "target"), DATA_HANDLERS)
def test_data_handler_with_bad_session_changes_nothing_and_redirects_to_sign_in(
    tab, alice, alice_token, bad_token, cls, handler, args, url, target
):
    before = (auth.current_user(alice_token), auth.active_session_count(alice.id))
    root = tab(url, bad_token)
    untouched = state(tab(url, bad_token), cls).dict()
    handler_state = state(root, cls)

    result = getattr(handler_state, handler)(*args)
    if asyncio.iscoroutine(result):
        result = run(result)

    assert redirects(result) == [target]
    assert toasts(result) == [PLEASE_SIGN_IN]
    # Nothing changed in the database: alice's profile, theme, sessions (her live token) and password.
    assert (auth.current_user(alice_token), auth.active_session_count(alice.id)) == before
    assert auth.sign_in("alice", PASSWORD).user == alice
    # Nothing about alice reached this tab.
    assert handler_state.dict() == untouched
    assert (handler_state.username, handler_state.display_name, handler_state.theme) == ("", "", "")


# ---------------------------------------------------------------- account page


def test_account_load_shows_sessions_and_member_since(tab, alice, alice_token):
    auth.sign_in("alice", PASSWORD)  # a second browser
    account = state(tab("/account", alice_token), AccountState)

    assert account.load() is None

    assert account.active_sessions == 2
    assert account.member_since == alice.created_at.strftime("%d %b %Y")
    assert account.shown_name == "Alice"


def test_save_profile_updates_display_name(tab, alice, alice_token):
    account = state(tab("/account", alice_token), AccountState)

    result = account.save_profile({"display_name": " Alice   Liddell "})

    assert toasts(result) == [("success", "Profile saved.")]
    assert auth.current_user(alice_token).display_name == "Alice Liddell"
    assert (account.display_name, account.shown_name, account.display_name_error) == (
        "Alice Liddell",
        "Alice Liddell",
        "",
    )


def test_save_profile_reports_a_too_long_display_name(tab, alice, alice_token):
    account = state(tab("/account", alice_token), AccountState)

    assert account.save_profile({"display_name": "x" * 81}) is None

    assert "at most 80" in account.display_name_error
    assert auth.current_user(alice_token).display_name == "Alice"


def test_change_password_keeps_this_browser_signed_in_and_signs_out_others(tab, alice, alice_token):
    elsewhere = auth.sign_in("alice", PASSWORD).token
    root = tab("/account", alice_token)
    account = state(root, AccountState)

    result = run(
        account.change_password(
            {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
    )

    assert toasts(result) == [("success", "Password changed. Your other sessions are signed out.")]
    assert redirects(result) == []
    new_token = state(root, AuthState).session_token
    assert new_token not in ("", alice_token)
    assert auth.current_user(new_token) == alice
    assert sent_to_browser(root, AuthState, "session_token") == new_token
    assert auth.current_user(alice_token) is None
    assert auth.current_user(elsewhere) is None
    assert auth.active_session_count(alice.id) == 1
    assert account.active_sessions == 1
    assert account.password_form_key == 1  # the form is remounted, so the typed passwords are gone
    assert auth.sign_in("alice", NEW_PASSWORD).user == alice


@pytest.mark.parametrize(
    ("form", "field", "message_part"),
    [
        (
            {"current_password": "not-the-password-1", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            "current_password_error",
            "current password is not correct",
        ),
        (
            {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": "delta-basin-78"},
            "confirm_error",
            "two passwords differ",
        ),
        (
            {"current_password": PASSWORD, "password": "short1", "confirm": "short1"},
            "password_error",
            "too weak",
        ),
        (
            {"current_password": PASSWORD, "password": PASSWORD, "confirm": PASSWORD},
            "password_error",
            "different",
        ),
    ],
    ids=["wrong-current", "confirm-differs", "weak-new", "same-as-current"],
)
def test_change_password_reports_each_field_error_and_changes_nothing(
    tab, alice, alice_token, form, field, message_part
):
    root = tab("/account", alice_token)
    account = state(root, AccountState)

    assert run(account.change_password(form)) is None

    assert message_part in getattr(account, field)
    errors = ("current_password_error", "password_error", "confirm_error")
    assert [name for name in errors if getattr(account, name)] == [field]
    assert account.session_token == alice_token
    assert auth.current_user(alice_token) == alice
    assert account.password_form_key == 0
    assert auth.sign_in("alice", PASSWORD).user == alice


def test_set_theme_stores_the_choice(tab, alice, alice_token):
    account = state(tab("/account", alice_token), AccountState)
    assert account.set_theme("dark") is None
    assert account.theme == "dark"
    assert auth.current_user(alice_token).theme == "dark"


def test_set_theme_rejects_an_unknown_theme_with_a_toast(tab, alice, alice_token):
    account = state(tab("/account", alice_token), AccountState)
    assert toasts(account.set_theme("neon")) == [("error", "Theme must be one of: light, dark.")]
    assert auth.current_user(alice_token).theme == "light"


def test_sign_out_everywhere_revokes_every_session_and_clears_the_cookie(tab, alice, alice_token):
    elsewhere = auth.sign_in("alice", PASSWORD).token
    root = tab("/account", alice_token)
    account = state(root, AccountState)

    result = account.sign_out_everywhere()

    assert redirects(result) == ["/signin"]
    assert toasts(result) == [("info", "You are signed out on every device.")]
    assert auth.current_user(alice_token) is None
    assert auth.current_user(elsewhere) is None
    assert auth.active_session_count(alice.id) == 0
    assert sent_to_browser(root, AuthState, "session_token") == ""
    assert account.signed_in is False


# ---------------------------------------------------------------- dashboard


def test_dashboard_load_fills_tiles(tab, alice, alice_token):
    auth.sign_in("alice", PASSWORD)  # a second browser
    dashboard = state(tab("/", alice_token), DashboardState)

    assert dashboard.load() is None

    assert [(tile["key"], tile["value"]) for tile in dashboard.tiles] == [
        ("projects", "0"),
        ("data_sources", "0"),
        ("studio_sessions", "0"),
        ("sessions", "2"),
        ("member_days", "0"),
    ]
    assert all(tile["label"] and tile["hint"] for tile in dashboard.tiles)
    assert dashboard.username == "alice"
