"""Fixtures of the state layer: Reflex state classes driven directly under pytest, on a real SQLite database.

A "browser tab" is a fresh root `rx.State` (built the way Reflex's own unit tests build one, with
`_reflex_internal_init=True`; it creates every registered substate), its router set to a URL and the session
cookie set on `AuthState`, where the `rx.Cookie` field lives.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import reflex as rx
from reflex.istate.data import RouterData

from hydroml.services import auth
from hydroml.state.auth import AuthState

PASSWORD = "river-flow-42"


@pytest.fixture(autouse=True)
def _default_account_settings(default_account_settings) -> None:
    """This layer runs with the embedded account defaults."""


@pytest.fixture(autouse=True)
def _cheap_hashing(cheap_password_hashing) -> None:
    """The hashing cost is the service tests' concern; this layer uses the cheap setting."""


def open_tab(url: str = "/", token: str = "") -> rx.State:
    """A root state as one browser tab sends it: at `url` (path and query) with the session cookie `token`."""
    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data({"pathname": urlsplit(url).path, "asPath": url})
    root.get_substate(AuthState.get_full_name().split(".")).session_token = token
    root._clean()  # the delta of a handler then holds only what that handler changed
    return root


@pytest.fixture
def tab(app_db: str) -> Callable[..., rx.State]:
    """`tab(url, token)` -> a new root state; the database is fresh for the test."""
    return open_tab


@pytest.fixture
def alice(app_db: str) -> auth.UserInfo:
    return auth.register("alice", PASSWORD, "Alice")


@pytest.fixture
def alice_token(alice: auth.UserInfo) -> str:
    return auth.sign_in("alice", PASSWORD).token
