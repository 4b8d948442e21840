"""Grove: HydroML's component library. Pure functions returning rx.Component; no business logic."""

from hydroml.components.core import (
    badge,
    button,
    card,
    download_button,
    empty_state,
    icon_button,
    progress_bar,
    stat,
)
from hydroml.components.feedback import confirm_modal, form_error, form_modal
from hydroml.components.forms import password_input, select_input, text_input, textarea_input
from hydroml.components.layout import (
    auth_frame,
    breadcrumb,
    headbar,
    page_frame,
    page_header,
    sidebar,
    tabs,
    with_sidebar,
)
from hydroml.components.table import table

__all__ = [
    "auth_frame",
    "badge",
    "breadcrumb",
    "button",
    "card",
    "confirm_modal",
    "download_button",
    "empty_state",
    "form_error",
    "form_modal",
    "progress_bar",
    "headbar",
    "icon_button",
    "page_frame",
    "page_header",
    "password_input",
    "sidebar",
    "stat",
    "table",
    "tabs",
    "select_input",
    "text_input",
    "textarea_input",
    "with_sidebar",
]
