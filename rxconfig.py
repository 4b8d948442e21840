"""Reflex configuration. Everything comes from environment variables (see hydroml/settings.py).

`REFLEX_DB_URL` switches the database (default: SQLite under data/), `REFLEX_REDIS_URL` switches Reflex to its
Redis state manager (default: the disk state manager, one worker).
"""

import os

import reflex as rx

from hydroml.settings import get_settings

settings = get_settings()
# Reflex lets REFLEX_DB_URL override db_url below: give it the normalised URL (postgresql:// -> psycopg2).
if os.environ.get("REFLEX_DB_URL"):
    os.environ["REFLEX_DB_URL"] = settings.db_url
settings.data_dir.mkdir(parents=True, exist_ok=True)

config = rx.Config(
    app_name="hydroml",
    db_url=settings.db_url,
    show_built_with_reflex=False,
    telemetry_enabled=False,
    default_color_mode="light",
    disable_plugins=[rx.plugins.SitemapPlugin],
    plugins=[
        rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="blue", gray_color="slate", radius="medium"))
    ],
)
