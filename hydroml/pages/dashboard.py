"""Dashboard: welcome, counts, quick actions."""

import reflex as rx

from hydroml.components import button, card, page_header, stat
from hydroml.pages.template import app_page
from hydroml.state.auth import AuthState
from hydroml.state.dashboard import DashboardState


@app_page("/", "Dashboard", on_load=[DashboardState.load])
def dashboard() -> rx.Component:
    header = page_header(
        rx.el.span("Welcome, ", rx.el.span(AuthState.shown_name, id="welcome-name")),
        subtitle="Your HydroML workbench at a glance.",
    )
    return rx.box(
        header,
        rx.vstack(
            rx.el.div(
                rx.foreach(
                    DashboardState.tiles,
                    lambda tile: stat(
                        tile["label"], tile["value"], hint=tile["hint"], id="tile-" + tile["key"]
                    ),
                ),
                class_name="grove-grid",
                width="100%",
            ),
            card(
                rx.hstack(
                    rx.link(
                        button("Open your projects", icon="folder-open"),
                        href="/projects",
                        id="quick-projects",
                    ),
                    rx.link(
                        button("Account settings", variant="secondary", icon="user-cog"), href="/account"
                    ),
                    rx.cond(
                        AuthState.theme == "dark",
                        button(
                            "Use light theme",
                            variant="secondary",
                            icon="sun",
                            on_click=AuthState.toggle_theme,
                        ),
                        button(
                            "Use dark theme",
                            variant="secondary",
                            icon="moon",
                            on_click=AuthState.toggle_theme,
                        ),
                    ),
                    rx.link(button("Read the guide", variant="secondary", icon="book-open"), href="/help"),
                    spacing="3",
                    wrap="wrap",
                ),
                title="Quick actions",
                description="Go to your projects, set up your account, or learn how HydroML is organised.",
                width="100%",
            ),
            card(
                rx.el.ol(
                    rx.el.li(
                        "Create a project and invite your colleagues with a role (owner, editor, viewer)."
                    ),
                    rx.el.li("Upload station data (CSV, Excel, Parquet, JSON) or import it from a database."),
                    rx.el.li(
                        "Clean and reshape it in the Data Studio; every step can be undone and exported as pandas code."
                    ),
                    rx.el.li(
                        "Train models with time-series-safe splits and hydrology metrics (NSE, KGE, PBIAS)."
                    ),
                    class_name="grove-prose",
                    style={"padding_left": "1.25rem", "margin": 0},
                ),
                title="How HydroML works",
                description="Projects and data sources are here; the Data Studio and experiments come next.",
                width="100%",
            ),
            spacing="5",
            width="100%",
        ),
        width="100%",
    )
