"""Account settings: profile, password, appearance, sessions."""

import reflex as rx

from hydroml.components import (
    button,
    card,
    confirm_modal,
    page_header,
    password_input,
    sidebar,
    text_input,
    with_sidebar,
)
from hydroml.pages.template import app_page
from hydroml.services.auth import PASSWORD_RULE
from hydroml.state.account import AccountState
from hydroml.state.auth import AuthState

SECTIONS = [
    ("Profile", "#profile"),
    ("Password", "#password"),
    ("Appearance", "#appearance"),
    ("Sessions", "#sessions"),
]


def _profile() -> rx.Component:
    return card(
        rx.form(
            rx.vstack(
                text_input(
                    "display_name",
                    "Display name",
                    help_text="Shown to your project members. Up to 80 characters.",
                    error=AccountState.display_name_error,
                    default_value=AuthState.display_name,
                    max_length=200,
                ),
                button("Save profile", type="submit", id="save-profile"),
                spacing="4",
                align="start",
            ),
            on_submit=AccountState.save_profile,
            key=AuthState.display_name,
        ),
        title="Profile",
        description=rx.el.span(
            "Signed in as ",
            rx.el.strong(AuthState.username),
            ". Member since ",
            AccountState.member_since,
            ".",
        ),
        id="profile",
    )


def _password() -> rx.Component:
    return card(
        rx.form(
            rx.vstack(
                password_input(
                    "current_password",
                    "Current password",
                    required=True,
                    error=AccountState.current_password_error,
                    auto_complete="current-password",
                ),
                password_input(
                    "password",
                    "New password",
                    required=True,
                    help_text=PASSWORD_RULE,
                    error=AccountState.password_error,
                    auto_complete="new-password",
                ),
                password_input(
                    "confirm",
                    "Repeat the new password",
                    required=True,
                    error=AccountState.confirm_error,
                    auto_complete="new-password",
                ),
                button("Change password", type="submit", id="change-password"),
                spacing="4",
                align="start",
            ),
            on_submit=AccountState.change_password,
            key=AccountState.password_form_key,
        ),
        title="Password",
        description="Changing it signs you out everywhere else.",
        id="password",
    )


def _appearance() -> rx.Component:
    return card(
        rx.radio_group.root(
            rx.hstack(
                rx.el.label(
                    rx.radio_group.item(value="light", id="theme-light"),
                    " Light",
                    style={"display": "flex", "gap": "0.5rem", "align_items": "center"},
                ),
                rx.el.label(
                    rx.radio_group.item(value="dark", id="theme-dark"),
                    " Dark",
                    style={"display": "flex", "gap": "0.5rem", "align_items": "center"},
                ),
                spacing="5",
            ),
            value=AuthState.theme,
            on_change=AccountState.set_theme,
            aria_label="Theme",
        ),
        title="Appearance",
        description="Saved with your account, so every browser you sign in from uses it.",
        id="appearance",
    )


def _sessions() -> rx.Component:
    return card(
        rx.hstack(
            rx.el.span(
                rx.el.strong(AccountState.active_sessions), " active session(s).", id="active-sessions"
            ),
            rx.spacer(),
            confirm_modal(
                button("Sign out everywhere", variant="danger", id="sign-out-everywhere"),
                title="Sign out everywhere?",
                description="Every browser signed in to this account, this one included, will need to sign in again.",
                confirm_label="Sign out everywhere",
                on_confirm=AccountState.sign_out_everywhere,
                test_id="sign-out-everywhere",
            ),
            align="center",
            width="100%",
        ),
        title="Sessions",
        description="Sessions expire after two weeks without a new sign-in.",
        id="sessions",
        variant="outlined",
    )


@app_page("/account", "Account", crumbs=[("Account", None)], on_load=[AccountState.load])
def account() -> rx.Component:
    return rx.box(
        page_header("Account settings", subtitle="Your profile, password and appearance."),
        with_sidebar(
            sidebar("Settings", SECTIONS),
            rx.vstack(
                _profile(),
                _password(),
                _appearance(),
                _sessions(),
                spacing="5",
                width="100%",
                align="stretch",
            ),
        ),
        width="100%",
    )
