"""Accounts and server-side sessions.

Passwords are hashed with argon2id (pwdlib). A session is a random token from `secrets`; only its SHA-256 is
stored, with an expiry. Sign-out and password changes revoke sessions. Failed sign-ins are counted per user
name and throttled.

Why not reflex-local-auth 0.5: its tables use integer ids (we use UUIDs); its session token defaults to
Reflex's per-tab client token (not a secret) and is stored in clear; it has no sign-in throttling and no
roles; and its logic lives inside Reflex state, which our services must not import.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlmodel import Session, delete, func, select

from hydroml.db import session_scope, utcnow
from hydroml.models import AuthSession, LoginAttempt, User
from hydroml.services.errors import InvalidInput, NotFound, NotSignedIn, RateLimited
from hydroml.settings import get_settings

SESSION_COOKIE = "hydroml_session"  # read by the Reflex state and by the authenticated HTTP routes
USERNAME_RULE = "3 to 32 characters: letters, digits, '.', '-' or '_', starting with a letter or digit."
PASSWORD_RULE = "At least 10 characters, with a letter and a digit or symbol, and not your user name."
DISPLAY_NAME_MAX = 80
PASSWORD_MAX = 128
THEMES = ("light", "dark")

_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$")
_COMMON_PASSWORDS = {
    "password12",
    "password123",
    "password1234",
    "1234567890",
    "qwertyuiop",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "admin12345",
    "passw0rd12",
    "hydroml123",
    "changeme123",
}

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the user name is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class UserInfo:
    """What the UI may know about a user (never the hash)."""

    id: uuid.UUID
    username: str
    display_name: str
    theme: str
    created_at: datetime

    @property
    def name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True)
class SignedIn:
    user: UserInfo
    token: str
    expires_at: datetime


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.display_name, user.theme, as_utc(user.created_at))


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every timestamp we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------- validation


def normalize_username(username: str) -> str:
    return (username or "").strip()


def validate_username(username: str) -> str:
    name = normalize_username(username)
    if not name:
        raise InvalidInput("username", "Enter a user name.")
    if len(name) > 32:
        raise InvalidInput("username", f"That user name is {len(name)} characters long. Use {USERNAME_RULE}")
    if not _USERNAME_RE.match(name):
        raise InvalidInput("username", f"User names use {USERNAME_RULE}")
    return name


def validate_password(password: str, username: str = "") -> str:
    password = password or ""
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(
            "password", f"Passwords can be at most {PASSWORD_MAX} characters long. {PASSWORD_RULE}"
        )
    weak = (
        len(password) < 10
        or not re.search(r"[A-Za-z]", password)
        or not re.search(r"[^A-Za-z]", password)
        or (username and username.strip().lower() in password.lower())
        or password.lower() in _COMMON_PASSWORDS
        or len(set(password)) < 4
    )
    if weak:
        raise InvalidInput("password", f"This password is too weak. {PASSWORD_RULE}")
    return password


def validate_display_name(display_name: str) -> str:
    printable = "".join(ch if ch.isprintable() else " " for ch in (display_name or ""))
    name = " ".join(printable.split())  # control characters become spaces, then runs of spaces collapse
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidInput(
            "display_name", f"Display names can be at most {DISPLAY_NAME_MAX} characters long."
        )
    return name


# ---------------------------------------------------------------- accounts


def _find_user(db: Session, username: str) -> User | None:
    key = normalize_username(username).lower()
    return db.exec(select(User).where(User.username_key == key)).first()


def register(username: str, password: str, display_name: str = "") -> UserInfo:
    name = validate_username(username)
    validate_password(password, name)
    shown = validate_display_name(display_name)
    with session_scope() as db:
        if _find_user(db, name) is not None:
            raise InvalidInput("username", f"The user name '{name}' is taken. Choose another one.")
        user = User(
            username=name, username_key=name.lower(), display_name=shown, password_hash=_hasher.hash(password)
        )
        db.add(user)
        # Failed sign-ins against a name nobody owned must not lock out its new owner.
        db.exec(delete(LoginAttempt).where(LoginAttempt.username_key == name.lower()))
        db.flush()
        return _info(user)


def _throttle_state(db: Session, key: str) -> tuple[int, datetime | None]:
    """Failures for this user name since its last success, within the window, and the oldest of them."""
    settings = get_settings()
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    last_success = db.exec(
        select(func.max(LoginAttempt.created_at)).where(
            LoginAttempt.username_key == key, LoginAttempt.succeeded
        )
    ).one()
    if last_success is not None:
        since = max(since, as_utc(last_success))
    count, oldest = db.exec(
        select(func.count(), func.min(LoginAttempt.created_at)).where(
            LoginAttempt.username_key == key, ~LoginAttempt.succeeded, LoginAttempt.created_at > since
        )
    ).one()
    return count, (as_utc(oldest) if oldest else None)


def sign_in(username: str, password: str) -> SignedIn:
    """Check the password and open a session. Raises InvalidInput or RateLimited."""
    settings = get_settings()
    key = normalize_username(username).lower()[:64]
    if not key or not password:
        raise InvalidInput("password", "Enter your user name and password.")
    with session_scope() as db:
        failures, oldest = _throttle_state(db, key)
        if failures >= settings.login_max_failures and oldest is not None:
            unlock = oldest + timedelta(minutes=settings.login_window_minutes)
            wait = max(1, int((unlock - utcnow()).total_seconds()))
            minutes = max(1, round(wait / 60))
            raise RateLimited(
                f"Too many failed sign-ins for this account. Try again in {minutes} minute"
                f"{'s' if minutes != 1 else ''}.",
                wait,
            )
        user = _find_user(db, key)
        ok = _hasher.verify(password[:PASSWORD_MAX], user.password_hash if user else _DUMMY_HASH)
        ok = ok and user is not None and user.is_active
        db.add(LoginAttempt(username_key=key, succeeded=ok))
        if not ok:
            db.commit()
            raise InvalidInput("password", "Wrong user name or password.")
        return _open_session(db, user)


def _open_session(db: Session, user: User) -> SignedIn:
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=get_settings().session_hours)
    db.add(AuthSession(user_id=user.id, token_hash=hash_token(token), expires_at=expires))
    db.flush()
    return SignedIn(_info(user), token, expires)


def _live_session(db: Session, token: str) -> tuple[AuthSession, User] | None:
    if not token or len(token) > 128:
        return None
    row = db.exec(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    auth, user = row
    if auth.revoked_at is not None or as_utc(auth.expires_at) <= utcnow() or not user.is_active:
        return None
    return auth, user


def current_user(token: str) -> UserInfo | None:
    """The user a session token belongs to, or None if it is unknown, expired, revoked or forged."""
    with session_scope() as db:
        found = _live_session(db, token)
        return _info(found[1]) if found else None


def require_user(token: str) -> UserInfo:
    user = current_user(token)
    if user is None:
        raise NotSignedIn()
    return user


def sign_out(token: str) -> None:
    with session_scope() as db:
        found = _live_session(db, token)
        if found:
            found[0].revoked_at = utcnow()
            db.add(found[0])


def _revoke_all(db: Session, user_id: uuid.UUID) -> None:
    now = utcnow()
    for auth in db.exec(
        select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    ):
        auth.revoked_at = now
        db.add(auth)


def _session_user(db: Session, token: str) -> User:
    """The user behind a live session token; NotSignedIn for an unknown, expired, revoked or forged one."""
    found = _live_session(db, token)
    if found is None:
        raise NotSignedIn()
    return found[1]


def _update_user(token: str, **fields) -> UserInfo:
    with session_scope() as db:
        user = _session_user(db, token)
        for name, value in fields.items():
            setattr(user, name, value)
        db.add(user)
        db.flush()
        return _info(user)


def change_password(token: str, current_password: str, new_password: str) -> SignedIn:
    """Revokes every session of the user (other browsers are signed out) and opens a fresh one."""
    with session_scope() as db:
        user = _session_user(db, token)
        if not _hasher.verify((current_password or "")[:PASSWORD_MAX], user.password_hash):
            raise InvalidInput("current_password", "Your current password is not correct.")
        validate_password(new_password, user.username)
        if new_password == current_password:
            raise InvalidInput("password", "Choose a password different from the current one.")
        user.password_hash = _hasher.hash(new_password)
        db.add(user)
        _revoke_all(db, user.id)
        return _open_session(db, user)


def update_profile(token: str, display_name: str) -> UserInfo:
    return _update_user(token, display_name=validate_display_name(display_name))


def set_theme(token: str, theme: str) -> UserInfo:
    if theme not in THEMES:
        raise InvalidInput("theme", f"Theme must be one of: {', '.join(THEMES)}.")
    return _update_user(token, theme=theme)


def active_session_count(user_id: uuid.UUID) -> int:
    with session_scope() as db:
        return db.exec(
            select(func.count()).where(
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > utcnow(),
            )
        ).one()


def ensure_demo_user() -> tuple[str, str] | None:
    """Create the demo account once. Returns (user name, password) when it was created, else None."""
    settings = get_settings()
    with session_scope() as db:
        if _find_user(db, settings.demo_username) is not None:
            return None
    password = settings.demo_password or f"river-{secrets.token_urlsafe(9)}"
    register(settings.demo_username, password, "Demo user")
    return settings.demo_username, password


def sign_out_everywhere(token: str) -> None:
    with session_scope() as db:
        _revoke_all(db, _session_user(db, token).id)


def reset_password(username: str, new_password: str) -> None:
    """Administrator reset from the command line; revokes every session of the user."""
    validate_password(new_password, username)
    with session_scope() as db:
        user = _find_user(db, username)
        if user is None:
            raise InvalidInput("username", f"There is no user named '{normalize_username(username)}'.")
        user.password_hash = _hasher.hash(new_password)
        db.add(user)
        _revoke_all(db, user.id)


def user_by_id(user_id: uuid.UUID) -> UserInfo:
    """A user by id, for work done on their behalf later (a queued training run); NotFound if removed."""
    with session_scope() as db:
        user = db.get(User, user_id) if user_id else None
        if user is None:
            raise NotFound("The user who started this no longer exists.")
        return _info(user)


def find_user(username: str) -> UserInfo | None:
    """Look a user up by name (case-insensitive); for administration and seeding, not for sign-in."""
    with session_scope() as db:
        user = _find_user(db, username)
        return _info(user) if user else None
