"""Navigation and layout: headbar (two rows), breadcrumb, tabs, sidebar, page frame and header."""

from __future__ import annotations

from collections.abc import Sequence

import reflex as rx
from reflex.style import set_color_mode

Crumb = tuple[object, str | None]  # (label, href or None for the current page)


def breadcrumb(crumbs: Sequence[Crumb]) -> rx.Component:
    items: list[rx.Component] = []
    for index, (label, href) in enumerate(crumbs):
        if index:
            items.append(rx.el.span("/", aria_hidden="true"))
        if href is None:
            items.append(rx.el.span(label, aria_current="page"))
        else:
            items.append(rx.link(label, href=href))
    return rx.el.nav(*items, class_name="grove-breadcrumb", aria_label="Breadcrumb")


def tabs(
    items: Sequence[tuple[str, object]],
    active: str,
    *,
    label: str = "Sections",
    class_name: str = "grove-headbar-tabs",
) -> rx.Component:
    """Links styled as tabs. `items` are (label, href); `active` is the label of the current tab."""
    return rx.el.nav(
        *[
            rx.link(
                text,
                href=href,
                class_name="grove-tab",
                aria_current="page" if text == active else None,
                id=f"tab-{text.lower().replace(' ', '-')}",
            )
            for text, href in items
        ],
        class_name=class_name,
        aria_label=label,
    )


def headbar(
    *, crumbs: Sequence[Crumb], actions: Sequence[rx.Component], tab_row: rx.Component | None
) -> rx.Component:
    brand = rx.link(rx.el.img(src="/logo.svg", alt=""), "HydroML", href="/", class_name="grove-brand")
    first_row = rx.el.div(
        brand,
        breadcrumb(crumbs),
        rx.spacer(),
        rx.hstack(*actions, spacing="2", align="center"),
        class_name="grove-headbar-row",
    )
    return rx.el.header(first_row, tab_row or rx.fragment(), class_name="grove-headbar")


def sidebar(title: str, items: Sequence[tuple[str, str]], **props) -> rx.Component:
    return rx.el.nav(
        rx.el.div(title, class_name="grove-sidebar-title"),
        *[rx.link(text, href=href) for text, href in items],
        class_name="grove-sidebar",
        aria_label=title,
        **props,
    )


def page_header(title, *, subtitle=None, actions: Sequence[rx.Component] = ()) -> rx.Component:
    text = [rx.el.h1(title, class_name="grove-page-title", id="page-title")]
    if subtitle is not None:
        text.append(rx.el.div(subtitle, class_name="grove-page-subtitle"))
    return rx.el.div(
        rx.el.div(*text),
        rx.hstack(*actions, spacing="2") if actions else rx.fragment(),
        class_name="grove-page-header",
    )


def with_sidebar(side: rx.Component, content: rx.Component) -> rx.Component:
    return rx.el.div(side, rx.el.div(content), class_name="grove-with-sidebar")


def theme_sync(appearance) -> rx.Component:
    """Applies a saved theme preference ("light"/"dark"; "" = not known yet) to the app's colour mode.

    Switching the preference mounts the other branch, whose on_mount sets the mode.
    """
    return rx.match(
        appearance,
        ("dark", rx.el.span(on_mount=set_color_mode("dark"), hidden=True)),
        ("light", rx.el.span(on_mount=set_color_mode("light"), hidden=True)),
        rx.fragment(),
    )


def page_frame(head: rx.Component, *content: rx.Component, appearance) -> rx.Component:
    """The frame of every signed-in page. `appearance` is the user's saved theme preference."""
    return rx.el.div(
        theme_sync(appearance),
        head,
        rx.el.main(*content, class_name="grove-page", id="main"),
        class_name="grove-app",
    )


def auth_frame(*content: rx.Component) -> rx.Component:
    """Centred card for sign-in and registration."""
    brand = rx.hstack(
        rx.el.img(src="/logo.svg", alt="", width="36px", height="36px"),
        rx.el.span("HydroML", style={"font_size": "1.5rem", "font_weight": "650"}),
        align="center",
        spacing="2",
        margin_bottom="1.5rem",
        justify="center",
    )
    return rx.el.div(
        rx.el.div(
            brand,
            rx.el.div(*content, class_name="grove-card grove-card--elevated"),
            class_name="grove-auth-card",
        ),
        class_name="grove-auth",
    )
