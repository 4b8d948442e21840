"""Wiring only: build the app, register tables and pages, mount the HTTP API, start the training runner."""

import asyncio
import contextlib

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


@contextlib.asynccontextmanager
async def training_runner():
    """Queued training runs start in child processes while the backend runs; they stop with it."""
    from hydroml.services.experiments import runner

    await asyncio.to_thread(runner.start)
    try:
        yield
    finally:
        await asyncio.to_thread(runner.stop)


app.register_lifespan_task(training_runner)
