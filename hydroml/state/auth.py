"""The signed-in user, shared by every page: session cookie, name, theme, and the sign-in guard.

Every feature state subclasses `AuthState` and calls `self._require_user()` in each handler that reads or
writes user data: a page redirect is navigation, not protection.
"""

from __future__ import annotations

from urllib.parse import quote

import reflex as rx

from hydroml.services import auth
from hydroml.services.auth import UserInfo
from hydroml.services.errors import NotSignedIn, ServiceError
from hydroml.settings import get_settings

SIGN_IN_ROUTE = "/signin"


def safe_next(target: str | None) -> str:
    """Only same-site paths: '/x' yes; '//evil.example', 'https://...', '/\\evil' no.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so any of them is refused.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ch.isspace() or not ch.isprintable() for ch in target):
        return "/"
    return target


class AuthState(rx.State):
    # Not HttpOnly (Reflex cookies never are); the token alone is useless without the server-side row.
    session_token: str = rx.Cookie(
        "", name=auth.SESSION_COOKIE, same_site="strict", max_age=get_settings().session_hours * 3600
    )
    username: str = ""
    display_name: str = ""
    theme: str = ""  # "" until the user is known, so a saved dark theme does not flash light first

    @rx.var
    def signed_in(self) -> bool:
        return self.username != ""

    @rx.var
    def shown_name(self) -> str:
        return self.display_name or self.username

    def _set_user(self, user: UserInfo | None) -> None:
        self.username = user.username if user else ""
        self.display_name = user.display_name if user else ""
        self.theme = user.theme if user else ""

    def _require_user(self) -> UserInfo:
        """The current user, checked against the database on every call; raises NotSignedIn."""
        user = auth.current_user(self.session_token)
        if user is None:
            self._set_user(None)
            raise NotSignedIn()
        self._set_user(user)
        return user

    def _route_id(self, name: str) -> str:
        """An id from a dynamic route (/projects/[project_id]/data/[data_source_id], .../studio/[session_id]),
        read from the URL path (RouterData.page is deprecated in Reflex 0.10)."""
        parts = [part for part in self.router.url.path.split("/") if part]
        segment = {
            "project_id": "projects",
            "data_source_id": "data",
            "session_id": "studio",
            "connection_id": "connections",
            "run_id": "experiments",
        }[name]
        for key, value in zip(parts, parts[1:], strict=False):
            if key == segment:
                return value
        return ""

    def _sign_in_redirect(self):
        here = self.router.url.path or "/"
        return rx.redirect(f"{SIGN_IN_ROUTE}?next={quote(here)}" if here != "/" else SIGN_IN_ROUTE)

    def _fail(self, error: Exception):
        """Translate a service error into what the user sees."""
        if isinstance(error, NotSignedIn):
            return [rx.toast.warning(str(error)), self._sign_in_redirect()]
        if isinstance(error, ServiceError):
            return rx.toast.error(str(error))
        raise error

    @rx.event
    def require_sign_in(self):
        """on_load guard of every signed-in page."""
        try:
            self._require_user()
        except NotSignedIn:
            return self._sign_in_redirect()

    @rx.event
    def redirect_if_signed_in(self):
        """on_load of the sign-in and registration pages."""
        user = auth.current_user(self.session_token)
        if user is not None:
            self._set_user(user)
            return rx.redirect(safe_next(self.router.url.query_parameters.get("next")))
        self._set_user(None)

    @rx.event
    def sign_out(self):
        auth.sign_out(self.session_token)
        self.session_token = ""
        self._set_user(None)
        return [rx.redirect(SIGN_IN_ROUTE), rx.toast.info("You are signed out.")]

    @rx.event
    def toggle_theme(self):
        try:
            self._require_user()
            user = auth.set_theme(self.session_token, "dark" if self.theme == "light" else "light")
        except ServiceError as error:
            return self._fail(error)
        self._set_user(user)
