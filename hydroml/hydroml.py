"""Wiring only: build the app, register tables and pages, mount the HTTP API."""

import reflex as rx

from hydroml import (
    models,  # noqa: F401  (tables must be imported for migrations)
    pages,  # noqa: F401  (registers every page)
)
from hydroml.api import api_transformers

app = rx.App(
    stylesheets=["/grove.css"],
    head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")],
    api_transformer=api_transformers(),
)
