"""Account settings: profile, password, theme, sessions."""

from __future__ import annotations

import asyncio

import reflex as rx

from hydroml.services import auth
from hydroml.services.errors import InvalidInput, ServiceError
from hydroml.state.auth import AuthState


class AccountState(AuthState):
    display_name_error: str = ""
    current_password_error: str = ""
    password_error: str = ""
    confirm_error: str = ""
    active_sessions: int = 0
    member_since: str = ""
    profile_form_key: int = 0
    password_form_key: int = 0

    @rx.event
    def load(self):
        try:
            user = self._require_user()
        except ServiceError as error:
            return self._fail(error)
        self.active_sessions = auth.active_session_count(user.id)
        self.member_since = user.created_at.strftime("%d %b %Y")

    @rx.event
    def save_profile(self, form_data: dict):
        self.display_name_error = ""
        try:
            self._require_user()
            user = auth.update_profile(self.session_token, str(form_data.get("display_name", "")))
        except InvalidInput as error:
            self.display_name_error = error.message
            return
        except ServiceError as error:
            return self._fail(error)
        self._set_user(user)
        return rx.toast.success("Profile saved.")

    @rx.event
    async def change_password(self, form_data: dict):
        self.current_password_error = self.password_error = self.confirm_error = ""
        new_password = str(form_data.get("password", ""))
        try:
            self._require_user()
            if new_password != str(form_data.get("confirm", "")):
                raise InvalidInput("confirm", "The two passwords differ. Type the same password twice.")
            signed = await asyncio.to_thread(
                auth.change_password,
                self.session_token,
                str(form_data.get("current_password", "")),
                new_password,
            )
        except InvalidInput as error:
            setattr(self, f"{error.field}_error", error.message)
            return
        except ServiceError as error:
            return self._fail(error)
        self.session_token = signed.token
        self.active_sessions = auth.active_session_count(signed.user.id)
        self.password_form_key += 1  # remounts the form so the password fields are emptied
        return rx.toast.success("Password changed. Your other sessions are signed out.")

    @rx.event
    def set_theme(self, theme: str):
        try:
            self._require_user()
            user = auth.set_theme(self.session_token, theme)
        except ServiceError as error:
            return self._fail(error)
        self._set_user(user)

    @rx.event
    def sign_out_everywhere(self):
        try:
            self._require_user()
            auth.sign_out_everywhere(self.session_token)
        except ServiceError as error:
            return self._fail(error)
        self.session_token = ""
        self._set_user(None)
        return [rx.redirect("/signin"), rx.toast.info("You are signed out on every device.")]
