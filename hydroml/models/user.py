"""Accounts: users, their server-side sign-in sessions, and sign-in attempts (for throttling)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from hydroml.models.base import TableBase


class User(TableBase, table=True):
    __tablename__ = "user_account"

    username: str = Field(max_length=32, nullable=False)
    # Lower-cased copy: user names are unique regardless of case.
    username_key: str = Field(max_length=32, unique=True, index=True, nullable=False)
    display_name: str = Field(default="", max_length=80, nullable=False)
    password_hash: str = Field(max_length=255, nullable=False)
    theme: str = Field(default="light", max_length=8, nullable=False)
    is_active: bool = Field(default=True, nullable=False)


class AuthSession(TableBase, table=True):
    __tablename__ = "auth_session"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, nullable=False, ondelete="CASCADE")
    # SHA-256 of the token: a stolen database row cannot be replayed as a cookie.
    token_hash: str = Field(max_length=64, unique=True, index=True, nullable=False)
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class LoginAttempt(TableBase, table=True):
    __tablename__ = "login_attempt"

    username_key: str = Field(max_length=64, index=True, nullable=False)
    succeeded: bool = Field(nullable=False)
