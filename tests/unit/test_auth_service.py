"""Accounts service: registration rules, password storage, sign-in, throttling and sessions (real SQLite)."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import timedelta

import pytest
import sqlalchemy
from sqlmodel import select

from hydroml.db import get_engine, session_scope, utcnow
from hydroml.models import AuthSession, LoginAttempt, User
from hydroml.services import auth
from hydroml.services.auth import PASSWORD_RULE, hash_token
from hydroml.services.errors import InvalidInput, NotSignedIn, RateLimited

PASSWORD = "river-flow-42"
NEW_PASSWORD = "delta-basin-77"
WRONG = "Wrong user name or password."


@pytest.fixture(autouse=True)
def _accounts_env(app_db: str, default_account_settings) -> str:
    """Every test gets a fresh database and the default account settings."""
    return app_db


@pytest.fixture
def throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYDROML_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("HYDROML_LOGIN_WINDOW_MINUTES", "15")


@pytest.fixture
def alice() -> auth.UserInfo:
    return auth.register("alice", PASSWORD, "Alice")


def fail_sign_in(username: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidInput):
            auth.sign_in(username, "not-the-password-1")


def stored_user(username: str) -> User:
    with session_scope() as db:
        return db.exec(select(User).where(User.username_key == username.lower())).one()


def expire_session(token: str) -> None:
    with session_scope() as db:
        row = db.exec(select(AuthSession).where(AuthSession.token_hash == hash_token(token))).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.add(row)


# ---------------------------------------------------------------- registration


def test_registration_returns_the_new_user_without_the_password_hash():
    info = auth.register("alice", PASSWORD, "Alice Liddell")

    assert (info.username, info.display_name, info.theme) == ("alice", "Alice Liddell", "light")
    assert "password_hash" not in {field.name for field in dataclasses.fields(info)}
    assert PASSWORD not in repr(info)


def test_empty_user_name_is_rejected():
    with pytest.raises(InvalidInput) as caught:
        auth.register("   ", PASSWORD)
    assert caught.value.field == "username"


def test_user_name_longer_than_32_characters_is_rejected():
    with pytest.raises(InvalidInput, match="33 characters long") as caught:
        auth.register("a" * 33, PASSWORD)
    assert caught.value.field == "username"


@pytest.mark.parametrize("username", ["al ice", "alice!", "<b>x</b>", "_alice", "ab", "élodie"])
def test_user_name_with_invalid_characters_is_rejected(username: str):
    with pytest.raises(InvalidInput) as caught:
        auth.register(username, PASSWORD)
    assert caught.value.field == "username"


def test_duplicate_user_name_is_rejected_regardless_of_case():
    auth.register("Alice", PASSWORD)

    with pytest.raises(InvalidInput, match="is taken") as caught:
        auth.register("alice", PASSWORD)
    assert caught.value.field == "username"


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("ab1!", id="short"),
        pytest.param("riverflowsdown", id="letters-only"),
        pytest.param("31415926535", id="digits-only"),
        pytest.param("my-Alice-river-42", id="contains-user-name"),
        pytest.param("password123", id="common"),
        pytest.param("abababab11", id="few-distinct-characters"),
        pytest.param("a1" * 65, id="longer-than-128"),
    ],
)
def test_weak_password_is_rejected_with_the_password_rule(password: str):
    with pytest.raises(InvalidInput) as caught:
        auth.register("alice", password)
    assert caught.value.field == "password"
    assert PASSWORD_RULE in str(caught.value)


def test_display_name_markup_is_stored_verbatim():
    info = auth.register("alice", PASSWORD, "<script>alert(1)</script>")

    assert info.display_name == "<script>alert(1)</script>"
    assert stored_user("alice").display_name == "<script>alert(1)</script>"


def test_display_name_longer_than_80_characters_is_rejected():
    with pytest.raises(InvalidInput) as caught:
        auth.register("alice", PASSWORD, "x" * 81)
    assert caught.value.field == "display_name"


def test_display_name_whitespace_is_collapsed():
    info = auth.register("alice", PASSWORD, "  Ada \t  Lovelace\n ")

    assert info.display_name == "Ada Lovelace"


def test_display_name_control_characters_do_not_leave_double_spaces():
    assert auth.validate_display_name("Ada \x00 Lovelace") == "Ada Lovelace"


# ---------------------------------------------------------------- password storage


def test_password_is_stored_as_an_argon2id_hash(alice):
    stored = stored_user("alice").password_hash

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


# ---------------------------------------------------------------- sign in


def test_correct_password_signs_in_with_a_token(alice):
    signed = auth.sign_in("alice", PASSWORD)

    assert signed.user.id == alice.id
    assert len(signed.token) >= 32
    assert signed.expires_at > utcnow()


def test_only_the_sha256_of_the_session_token_is_stored(alice):
    signed = auth.sign_in("alice", PASSWORD)

    with get_engine().connect() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT * FROM auth_session")).mappings().all()
    assert [row["token_hash"] for row in rows] == [hash_token(signed.token)]
    assert all(signed.token not in str(value) for row in rows for value in row.values())


def test_wrong_password_is_rejected(alice):
    with pytest.raises(InvalidInput, match=WRONG) as caught:
        auth.sign_in("alice", "not-the-password-1")
    assert caught.value.field == "password"


def test_unknown_user_name_gets_the_same_message_as_a_wrong_password():
    with pytest.raises(InvalidInput) as caught:
        auth.sign_in("nobody", PASSWORD)
    assert str(caught.value) == WRONG


def test_user_name_is_case_insensitive_at_sign_in():
    auth.register("Alice", PASSWORD)

    assert auth.sign_in("ALICE", PASSWORD).user.username == "Alice"


# ---------------------------------------------------------------- throttling


def test_too_many_failures_lock_out_even_the_correct_password(alice, throttle):
    fail_sign_in("alice", 3)

    with pytest.raises(RateLimited, match=r"Try again in 15 minutes\.") as caught:
        auth.sign_in("alice", PASSWORD)
    assert 0 < caught.value.retry_after_seconds <= 15 * 60


def test_lockout_does_not_affect_other_user_names(alice, throttle):
    auth.register("bob", PASSWORD)
    fail_sign_in("alice", 3)

    assert auth.sign_in("bob", PASSWORD).user.username == "bob"


def test_successful_sign_in_before_the_limit_resets_the_failure_count(alice, throttle):
    fail_sign_in("alice", 2)
    auth.sign_in("alice", PASSWORD)
    fail_sign_in("alice", 2)

    assert auth.sign_in("alice", PASSWORD).user.id == alice.id


def test_sign_in_works_again_once_the_window_has_passed(alice, throttle, monkeypatch):
    monkeypatch.setenv("HYDROML_LOGIN_WINDOW_MINUTES", "10")
    fail_sign_in("alice", 3)
    with pytest.raises(RateLimited):
        auth.sign_in("alice", PASSWORD)

    with session_scope() as db:
        for attempt in db.exec(select(LoginAttempt)).all():
            attempt.created_at = utcnow() - timedelta(minutes=11)
            db.add(attempt)

    assert auth.sign_in("alice", PASSWORD).user.id == alice.id


# ---------------------------------------------------------------- sessions


def test_session_token_identifies_the_user(alice):
    token = auth.sign_in("alice", PASSWORD).token

    assert auth.current_user(token) == alice


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(secrets.token_urlsafe(32), id="forged"),
        pytest.param("", id="empty"),
        pytest.param("a" * 129, id="overlong"),
    ],
)
def test_forged_empty_or_overlong_token_is_treated_as_signed_out(alice, token: str):
    auth.sign_in("alice", PASSWORD)

    assert auth.current_user(token) is None


def test_expired_session_is_treated_as_signed_out(alice):
    token = auth.sign_in("alice", PASSWORD).token
    expire_session(token)

    assert auth.current_user(token) is None


def test_sign_out_revokes_the_session(alice):
    token = auth.sign_in("alice", PASSWORD).token

    auth.sign_out(token)

    assert auth.current_user(token) is None


def test_require_user_raises_not_signed_in_for_a_bad_token():
    with pytest.raises(NotSignedIn):
        auth.require_user(secrets.token_urlsafe(32))


# ---------------------------------------------------------------- change password


def test_change_password_rejects_a_wrong_current_password(alice):
    token = auth.sign_in("alice", PASSWORD).token

    with pytest.raises(InvalidInput) as caught:
        auth.change_password(token, "not-the-password-1", NEW_PASSWORD)
    assert caught.value.field == "current_password"


def test_change_password_rejects_a_weak_new_password(alice):
    token = auth.sign_in("alice", PASSWORD).token

    with pytest.raises(InvalidInput, match="too weak") as caught:
        auth.change_password(token, PASSWORD, "short1")
    assert caught.value.field == "password"


def test_change_password_rejects_the_current_password_as_new(alice):
    token = auth.sign_in("alice", PASSWORD).token

    with pytest.raises(InvalidInput, match="different from the current one"):
        auth.change_password(token, PASSWORD, PASSWORD)


def test_change_password_signs_out_every_earlier_session_and_opens_a_new_one(alice):
    first = auth.sign_in("alice", PASSWORD).token
    second = auth.sign_in("alice", PASSWORD).token

    fresh = auth.change_password(first, PASSWORD, NEW_PASSWORD)

    assert auth.current_user(first) is None
    assert auth.current_user(second) is None
    assert auth.current_user(fresh.token) == alice


def test_old_password_no_longer_signs_in_after_a_change(alice):
    auth.change_password(auth.sign_in("alice", PASSWORD).token, PASSWORD, NEW_PASSWORD)

    with pytest.raises(InvalidInput, match=WRONG):
        auth.sign_in("alice", PASSWORD)


def test_new_password_signs_in_after_a_change(alice):
    auth.change_password(auth.sign_in("alice", PASSWORD).token, PASSWORD, NEW_PASSWORD)

    assert auth.sign_in("alice", NEW_PASSWORD).user.id == alice.id


# ---------------------------------------------------------------- profile and theme


def test_update_profile_changes_the_display_name(alice):
    token = auth.sign_in("alice", PASSWORD).token

    updated = auth.update_profile(token, "Alice in Wonderland")

    assert updated.display_name == "Alice in Wonderland"
    assert auth.current_user(token).display_name == "Alice in Wonderland"


def test_set_theme_switches_to_dark(alice):
    token = auth.sign_in("alice", PASSWORD).token

    assert auth.set_theme(token, "dark").theme == "dark"
    assert auth.current_user(token).theme == "dark"


def test_unknown_theme_is_rejected(alice):
    token = auth.sign_in("alice", PASSWORD).token

    with pytest.raises(InvalidInput) as caught:
        auth.set_theme(token, "purple")
    assert caught.value.field == "theme"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda token: auth.update_profile(token, "Someone"), id="update_profile"),
        pytest.param(lambda token: auth.set_theme(token, "dark"), id="set_theme"),
    ],
)
def test_profile_changes_need_a_live_session(alice, change):
    token = auth.sign_in("alice", PASSWORD).token
    auth.sign_out(token)

    with pytest.raises(NotSignedIn):
        change(token)


# ---------------------------------------------------------------- sessions overview


def test_sign_out_everywhere_revokes_every_session(alice):
    first = auth.sign_in("alice", PASSWORD).token
    second = auth.sign_in("alice", PASSWORD).token

    auth.sign_out_everywhere(second)

    assert auth.current_user(first) is None
    assert auth.current_user(second) is None


def test_active_session_count_counts_only_live_sessions(alice):
    signed_out = auth.sign_in("alice", PASSWORD).token
    expired = auth.sign_in("alice", PASSWORD).token
    auth.sign_in("alice", PASSWORD)
    auth.sign_out(signed_out)
    expire_session(expired)

    assert auth.active_session_count(alice.id) == 1


# ---------------------------------------------------------------- demo account


def test_demo_user_is_created_with_a_password_that_signs_in():
    created = auth.ensure_demo_user()

    assert created is not None
    username, password = created
    assert auth.sign_in(username, password).user.username == "demo"


def test_demo_user_is_created_only_once(monkeypatch):
    monkeypatch.setenv("HYDROML_DEMO_PASSWORD", "grove-basin-2024")
    assert auth.ensure_demo_user() is not None

    assert auth.ensure_demo_user() is None


def test_demo_password_comes_from_the_environment_when_set(monkeypatch):
    monkeypatch.setenv("HYDROML_DEMO_PASSWORD", "grove-basin-2024")

    assert auth.ensure_demo_user() == ("demo", "grove-basin-2024")
    assert auth.sign_in("demo", "grove-basin-2024").user.display_name == "Demo user"
