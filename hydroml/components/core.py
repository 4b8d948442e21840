"""Foundation components: card, button, badge, stat tile, empty state."""

from __future__ import annotations

from typing import Literal

import reflex as rx

ButtonVariant = Literal["primary", "secondary", "ghost", "danger"]
CardVariant = Literal["default", "outlined", "elevated", "danger"]

_BUTTON_STYLE = {
    "primary": {"variant": "solid", "color_scheme": "blue"},
    "secondary": {"variant": "soft", "color_scheme": "gray"},
    "ghost": {"variant": "ghost", "color_scheme": "gray"},
    "danger": {"variant": "solid", "color_scheme": "red"},
}


def button(
    label,
    *,
    variant: ButtonVariant = "primary",
    icon: str | None = None,
    loading=False,
    disabled=False,
    size: str = "2",
    **props,
) -> rx.Component:
    """A Grove button. `loading` shows a spinner and blocks double submits."""
    children = [rx.icon(icon, size=16, aria_hidden="true")] if icon else []
    children.append(label)
    return rx.button(
        *children,
        loading=loading,
        disabled=disabled,
        size=size,
        cursor="pointer",
        **_BUTTON_STYLE[variant],
        **props,
    )


def download_button(label, url, *, variant: ButtonVariant = "secondary", **props) -> rx.Component:
    """A button that downloads from an HTTP route of ours. A plain <a> would be taken over by the client-side
    router (which knows no /api pages), so the browser is asked to download the URL directly."""
    return button(label, variant=variant, icon="download", size="1", on_click=rx.download(url=url), **props)


def icon_button(icon: str, *, label: str, variant: ButtonVariant = "ghost", **props) -> rx.Component:
    """Icon-only button; `label` becomes the aria-label and tooltip (icons alone say nothing to a screen reader)."""
    style = _BUTTON_STYLE[variant]
    return rx.tooltip(
        rx.icon_button(rx.icon(icon, size=18), aria_label=label, cursor="pointer", **style, **props),
        content=label,
    )


def card(*children, title=None, description=None, variant: CardVariant = "default", **props) -> rx.Component:
    head = []
    if title is not None:
        head.append(rx.el.h2(title, class_name="grove-card-title"))
    if description is not None:
        head.append(rx.el.p(description, class_name="grove-card-description"))
    class_name = "grove-card" if variant == "default" else f"grove-card grove-card--{variant}"
    return rx.el.section(*head, *children, class_name=class_name, **props)


def badge(label, *, status: str = "neutral", **props) -> rx.Component:
    """Status badge (ready, running, failed, draft, success, warning, error, info, neutral) or a counter."""
    return rx.el.span(label, class_name=f"grove-badge grove-badge--{status}", **props)


def stat(label, value, *, hint=None, **props) -> rx.Component:
    children = [
        rx.el.span(label, class_name="grove-stat-label"),
        rx.el.span(value, class_name="grove-stat-value"),
    ]
    if hint is not None:
        children.append(rx.el.span(hint, class_name="grove-stat-hint"))
    return rx.el.div(rx.el.div(*children, class_name="grove-stat"), class_name="grove-card", **props)


def empty_state(title, description, *actions, icon: str = "inbox", **props) -> rx.Component:
    """Every empty state says what to do next: pass the action button(s)."""
    return rx.el.div(
        rx.icon(icon, size=28, aria_hidden="true"),
        rx.el.div(title, class_name="grove-empty-title"),
        rx.el.p(description, style={"margin": 0, "max_width": "32rem"}),
        rx.hstack(*actions, spacing="2", margin_top="0.5rem") if actions else rx.fragment(),
        class_name="grove-empty",
        **props,
    )


def progress_bar(percent, *, label: str = "Progress", **props) -> rx.Component:
    """A determinate progress bar; `percent` is 0..100 (number or Var)."""
    return rx.el.div(
        rx.el.div(style={"width": rx.Var.create(percent).to_string() + "%"}),
        class_name="grove-progress",
        role="progressbar",
        aria_label=label,
        aria_valuemin=0,
        aria_valuemax=100,
        aria_valuenow=percent,
        **props,
    )
