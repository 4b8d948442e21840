"""Sign-in and registration pages."""

import reflex as rx

from hydroml.components import auth_frame, button, form_error, password_input, text_input
from hydroml.services.auth import PASSWORD_RULE, USERNAME_RULE
from hydroml.state.auth import AuthState
from hydroml.state.signin import RegisterState, SignInState


@rx.page(route="/signin", title="Sign in · HydroML", on_load=AuthState.redirect_if_signed_in)
def signin() -> rx.Component:
    return auth_frame(
        rx.el.h1("Sign in", class_name="grove-card-title", style={"font_size": "1.25rem"}),
        rx.el.p("Welcome back. Sign in to your workbench.", class_name="grove-card-description"),
        rx.form(
            rx.vstack(
                form_error(SignInState.error),
                text_input("username", "User name", required=True, auto_complete="username", auto_focus=True),
                password_input("password", "Password", required=True, auto_complete="current-password"),
                button("Sign in", type="submit", width="100%", size="3", id="sign-in-submit"),
                spacing="4",
            ),
            on_submit=SignInState.sign_in,
            id="sign-in-form",
        ),
        rx.el.p(
            "New here? ",
            rx.link("Create an account", href="/register", id="to-register"),
            class_name="grove-muted",
            style={"font_size": "0.875rem", "margin_top": "1.25rem", "text_align": "center"},
        ),
    )


@rx.page(route="/register", title="Create an account · HydroML", on_load=AuthState.redirect_if_signed_in)
def register() -> rx.Component:
    return auth_frame(
        rx.el.h1("Create an account", class_name="grove-card-title", style={"font_size": "1.25rem"}),
        rx.el.p("Your projects, data and models stay on this server.", class_name="grove-card-description"),
        rx.form(
            rx.vstack(
                text_input(
                    "username",
                    "User name",
                    required=True,
                    help_text=USERNAME_RULE,
                    error=RegisterState.username_error,
                    auto_complete="username",
                    auto_focus=True,
                    max_length=64,
                ),
                text_input(
                    "display_name",
                    "Display name",
                    help_text="Shown to your project members. Optional.",
                    error=RegisterState.display_name_error,
                    max_length=200,
                ),
                password_input(
                    "password",
                    "Password",
                    required=True,
                    help_text=PASSWORD_RULE,
                    error=RegisterState.password_error,
                    auto_complete="new-password",
                ),
                password_input(
                    "confirm",
                    "Repeat the password",
                    required=True,
                    error=RegisterState.confirm_error,
                    auto_complete="new-password",
                ),
                button("Create account", type="submit", width="100%", size="3", id="register-submit"),
                spacing="4",
            ),
            on_submit=RegisterState.register,
            id="register-form",
        ),
        rx.el.p(
            "Already registered? ",
            rx.link("Sign in", href="/signin", id="to-signin"),
            class_name="grove-muted",
            style={"font_size": "0.875rem", "margin_top": "1.25rem", "text_align": "center"},
        ),
    )
