"""The frame of every signed-in page: one decorator owns route, title, breadcrumb, tabs and the sign-in guard."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import reflex as rx

from hydroml.components import headbar, icon_button, page_frame, tabs
from hydroml.components.layout import Crumb
from hydroml.state.auth import AuthState

MAIN_TABS: list[tuple[str, str]] = [
    ("Dashboard", "/"),
    ("Projects", "/projects"),
    ("Account", "/account"),
    ("Help", "/help"),
]


def _theme_toggle() -> rx.Component:
    return rx.cond(
        AuthState.theme == "dark",
        icon_button("sun", label="Switch to light theme", on_click=AuthState.toggle_theme, id="theme-toggle"),
        icon_button("moon", label="Switch to dark theme", on_click=AuthState.toggle_theme, id="theme-toggle"),
    )


def _user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("circle-user-round", size=18, aria_hidden="true"),
                rx.el.span(
                    AuthState.shown_name,
                    style={"max_width": "12rem", "overflow": "hidden", "text_overflow": "ellipsis"},
                ),
                rx.icon("chevron-down", size=14, aria_hidden="true"),
                variant="ghost",
                color_scheme="gray",
                id="user-menu",
                aria_label="Account menu",
                cursor="pointer",
            )
        ),
        rx.menu.content(
            rx.menu.item(rx.link("Account settings", href="/account", id="menu-account", underline="none")),
            rx.menu.item(rx.link("Help", href="/help", underline="none")),
            rx.menu.separator(),
            rx.menu.item("Sign out", on_click=AuthState.sign_out, id="menu-sign-out", color="red"),
        ),
    )


def app_page(
    route: str,
    title: str,
    *,
    crumbs: Sequence[Crumb] = (),
    tab: str | None = None,
    on_load: Sequence = (),
) -> Callable[[Callable[[], rx.Component]], Callable[[], rx.Component]]:
    """Register a signed-in page. The guard runs first; the page's own loaders run after it."""

    def decorator(content: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        def render() -> rx.Component:
            head = headbar(
                crumbs=[("Home", "/"), *crumbs] if route != "/" else [("Home", None)],
                actions=[_theme_toggle(), _user_menu()],
                tab_row=tabs(MAIN_TABS, tab or title),
            )
            return page_frame(
                head,
                rx.cond(AuthState.signed_in, content(), rx.center(rx.spinner(size="3"), padding="4rem")),
                appearance=AuthState.theme,
            )

        render.__name__ = content.__name__
        return rx.page(
            route=route, title=f"{title} · HydroML", on_load=[AuthState.require_sign_in, *on_load]
        )(render)

    return decorator
