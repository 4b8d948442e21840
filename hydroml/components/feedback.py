"""Feedback: form-level errors and confirmation modals. Toasts are `rx.toast` events returned by handlers."""

from __future__ import annotations

import reflex as rx

from hydroml.components.core import button


def form_error(message) -> rx.Component:
    """A form-level error (e.g. wrong password), announced to screen readers."""
    return rx.cond(
        message != "", rx.el.div(message, role="alert", class_name="grove-form-error", id="form-error")
    )


def confirm_modal(
    trigger: rx.Component,
    *,
    title: str,
    description: str,
    confirm_label: str,
    on_confirm,
    danger: bool = True,
    test_id: str = "confirm",
) -> rx.Component:
    """Asks before a destructive action. Escape and Cancel close it; the confirm button runs `on_confirm`."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description, size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(button("Cancel", variant="secondary", id=f"{test_id}-cancel")),
                rx.alert_dialog.action(
                    button(
                        confirm_label,
                        variant="danger" if danger else "primary",
                        on_click=on_confirm,
                        id=f"{test_id}-ok",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            max_width="28rem",
        ),
    )


def form_modal(
    trigger: rx.Component, *, title: str, description: str, body: rx.Component, open, on_open_change
) -> rx.Component:
    """A dialog holding a form; Escape or the close button dismisses it."""
    return rx.dialog.root(
        rx.dialog.trigger(trigger),
        rx.dialog.content(
            rx.dialog.title(title),
            rx.dialog.description(description, size="2", margin_bottom="1rem"),
            body,
            max_width="32rem",
        ),
        open=open,
        on_open_change=on_open_change,
    )
