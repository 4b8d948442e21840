"""Form fields: label, required marker, help text, error text, wired for accessibility."""

from __future__ import annotations

import reflex as rx


def _field(control: rx.Component, *, field_id: str, label: str, help_text=None, error=None, required=False):
    label_children = [label]
    if required:
        label_children.append(rx.el.span("*", class_name="grove-field-required", aria_hidden="true"))
    parts = [rx.el.label(*label_children, html_for=field_id, class_name="grove-field-label"), control]
    if help_text is not None:
        parts.append(rx.el.span(help_text, id=f"{field_id}-help", class_name="grove-field-help"))
    if error is not None:
        parts.append(
            rx.cond(
                error != "",
                rx.el.span(error, id=f"{field_id}-error", role="alert", class_name="grove-field-error"),
            )
        )
    return rx.el.div(*parts, class_name="grove-field")


def text_input(
    name: str,
    label: str,
    *,
    help_text=None,
    error=None,
    required: bool = False,
    input_type: str = "text",
    field_id: str | None = None,
    **props,
) -> rx.Component:
    """A labelled input for use inside `rx.form` (read via form_data[name])."""
    field_id = field_id or f"field-{name}"
    described = " ".join(
        part
        for part, present in (
            (f"{field_id}-help", help_text is not None),
            (f"{field_id}-error", error is not None),
        )
        if present
    )
    control = rx.input(
        name=name,
        id=field_id,
        type=input_type,
        required=required,
        size="3",
        aria_describedby=described or None,
        aria_invalid=rx.cond(error != "", "true", "false") if error is not None else None,
        **props,
    )
    return _field(
        control, field_id=field_id, label=label, help_text=help_text, error=error, required=required
    )


def password_input(name: str, label: str, **props) -> rx.Component:
    return text_input(name, label, input_type="password", **props)


def select_input(
    name: str,
    label: str,
    options: list[tuple[str, str]],
    *,
    value=None,
    default_value=None,
    help_text=None,
    error=None,
    field_id: str | None = None,
    **props,
) -> rx.Component:
    """A native <select> (keyboard and screen-reader friendly). `options` are (value, label)."""
    field_id = field_id or f"field-{name}"
    extra = {"value": value} if value is not None else {}
    if default_value is not None:
        extra["default_value"] = default_value
    control = rx.el.select(
        *[rx.el.option(text, value=option) for option, text in options],
        name=name,
        id=field_id,
        class_name="grove-select",
        **extra,
        **props,
    )
    return _field(control, field_id=field_id, label=label, help_text=help_text, error=error)


def textarea_input(
    name: str, label: str, *, help_text=None, error=None, field_id: str | None = None, **props
):
    field_id = field_id or f"field-{name}"
    control = rx.el.textarea(name=name, id=field_id, class_name="grove-textarea", **props)
    return _field(control, field_id=field_id, label=label, help_text=help_text, error=error)
