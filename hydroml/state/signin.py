"""Sign-in and registration forms."""

from __future__ import annotations

import asyncio

import reflex as rx

from hydroml.services import auth
from hydroml.services.errors import InvalidInput, RateLimited
from hydroml.state.auth import AuthState, safe_next


def _register_and_sign_in(username: str, password: str, display_name: str) -> auth.SignedIn:
    auth.register(username, password, display_name)
    return auth.sign_in(username, password)


class SignInState(AuthState):
    error: str = ""
    submitting: bool = False

    @rx.event
    async def sign_in(self, form_data: dict):
        self.error = ""
        try:
            # argon2 takes ~0.2 s on purpose: hash in a thread, not on the event loop every user shares.
            signed = await asyncio.to_thread(
                auth.sign_in, str(form_data.get("username", "")), str(form_data.get("password", ""))
            )
        except (InvalidInput, RateLimited) as error:
            self.error = str(error)
            return
        self.session_token = signed.token
        self._set_user(signed.user)
        yield  # the session cookie reaches the browser before the page changes (a reload keeps the sign-in)
        yield rx.redirect(safe_next(self.router.url.query_parameters.get("next")))


class RegisterState(AuthState):
    username_error: str = ""
    password_error: str = ""
    confirm_error: str = ""
    display_name_error: str = ""

    def _clear_errors(self) -> None:
        self.username_error = self.password_error = self.confirm_error = self.display_name_error = ""

    @rx.event
    async def register(self, form_data: dict):
        self._clear_errors()
        username = str(form_data.get("username", ""))
        password = str(form_data.get("password", ""))
        if password != str(form_data.get("confirm", "")):
            self.confirm_error = "The two passwords differ. Type the same password twice."
            return
        try:
            signed = await asyncio.to_thread(
                _register_and_sign_in, username, password, str(form_data.get("display_name", ""))
            )
        except InvalidInput as error:
            setattr(self, f"{error.field}_error", error.message)
            return
        self.session_token = signed.token
        self._set_user(signed.user)
        yield  # the session cookie reaches the browser before the page changes
        yield [rx.redirect("/"), rx.toast.success(f"Welcome to HydroML, {signed.user.name}.")]
