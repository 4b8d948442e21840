"""Help: a short guide per screen."""

import reflex as rx

from hydroml.components import card, page_header, sidebar, with_sidebar
from hydroml.pages.template import app_page

TOPICS = [
    ("Getting started", "#getting-started"),
    ("Your account", "#account"),
    ("Projects and roles", "#projects"),
    ("Data sources", "#data"),
    ("The Data Studio", "#studio"),
    ("Databases", "#databases"),
    ("Experiments", "#experiments"),
    ("Keyboard and accessibility", "#keyboard"),
]


def _topic(anchor: str, title: str, *paragraphs: str) -> rx.Component:
    return card(*[rx.el.p(text, class_name="grove-prose") for text in paragraphs], title=title, id=anchor)


@app_page("/help", "Help", crumbs=[("Help", None)])
def help_page() -> rx.Component:
    return rx.box(
        page_header("Help", subtitle="A short guide to each part of HydroML."),
        with_sidebar(
            sidebar("Topics", TOPICS),
            rx.vstack(
                _topic(
                    "getting-started",
                    "Getting started",
                    "HydroML is a workbench for station data: streamflow, rainfall, temperature and water quality. "
                    "You sign in, create a project, bring data into it, clean it in the Data Studio and train models "
                    "whose every number can be traced back to the raw data.",
                    "A demo account is created when the server is first set up; its password is printed once in "
                    "the server console (make demo-password sets a new one).",
                ),
                _topic(
                    "account",
                    "Your account",
                    "Open the account menu (top right) for settings: your display name, your password and the theme. "
                    "Changing the password signs you out of every other browser. 'Sign out everywhere' does the same "
                    "for this browser too.",
                    "After five wrong passwords in fifteen minutes, sign-in for that user name pauses for fifteen "
                    "minutes: this protects your account from guessing.",
                ),
                _topic(
                    "projects",
                    "Projects and roles",
                    "Work is organised in projects. Each member has a role: owners manage members and can delete the "
                    "project, editors change data and run experiments, viewers read everything and change nothing.",
                    "Add members on a project's Members tab by their user name; a project always keeps one owner.",
                ),
                _topic(
                    "data",
                    "Data sources",
                    "Import data from a project's page: drop a CSV, TSV, Excel, Parquet or JSON file, check the "
                    "detected settings and the type of each column in the preview, then import. Nothing is cleaned "
                    "behind your back: gaps and duplicates stay, and the original file is kept.",
                    "Each data source has a quality report (missing values, ranges, time coverage and gaps), a "
                    "paged view, downloads as CSV, Parquet, Excel or JSON, and a history of versions.",
                ),
                _topic(
                    "studio",
                    "The Data Studio",
                    "Open a data source and start a studio session. Pick an operation in the left panel (columns, "
                    "rows, missing data, formulas, text, time series, hydrology, joins), fill in its form and apply "
                    "it: the grid shows the result, the history on the right keeps the step. Sorting, filtering and "
                    "searching the grid only change your view, never the data.",
                    "Every step can be undone, redone, edited, turned off, moved or deleted; later steps run again "
                    "and any step that no longer fits (for example, its column was dropped) is marked with the "
                    "reason instead of disappearing. Sessions are saved on every change and survive a server "
                    "restart. If someone changes the same session in another tab, yours reloads rather than "
                    "overwriting their work.",
                    "Under Code you get the recipe as a plain pandas script that reproduces the grid exactly; "
                    "Save as data source keeps the result with its recipe and parent version. When a newer version "
                    "of the data arrives, replay the recipe on it.",
                ),
                _topic(
                    "databases",
                    "Databases",
                    "A project's Connections tab holds its PostgreSQL, MySQL/MariaDB and SQLite connections. Owners "
                    "and editors add and edit them; every member can test and browse them. Passwords are stored "
                    "encrypted and are never shown again: leave the field empty when editing to keep the stored one.",
                    "Browse a connection to see its tables and views with estimated row counts, their columns and "
                    "the first 100 rows. Build a query picks a table, columns, conditions, an order and a limit "
                    "without writing SQL; the SQL it runs is shown, and every value you type is sent as a "
                    "parameter, never pasted into it. The Raw SQL tab accepts one read statement. Queries run "
                    "read-only with a time limit.",
                    "Import copies the rows into a new data source that remembers the connection and the query; "
                    "Refresh on its page runs the query again into a new version, and studio sessions offer to "
                    "replay their recipe on it. Any data source can be exported to a table: create a new one, "
                    "replace it or append to it.",
                ),
                _topic(
                    "experiments",
                    "Experiments",
                    "New experiment on a project's Experiments tab walks through five steps: the data (a data "
                    "source, or a studio session's result as it is now), the target and the features (columns "
                    "that probably leak the answer are flagged), the model and its settings, preprocessing and "
                    "the split, and the metrics. Your choices are kept as a draft until you train.",
                    "Splits respect time by default: a model is never tested on the past it trained on. A "
                    "shuffled split on dated data needs your explicit consent. Metrics include NSE, KGE and PBIAS "
                    "next to the usual regression and classification scores.",
                    "Training runs in the background, one run at a time by default; its page shows the stage and "
                    "the fold, and Cancel stops it. Every run is recorded in MLflow with its model, predictions, "
                    "charts and the recipe that made its data; the run page shows them and a snippet that loads "
                    "the model. Pick two or more runs in the table to compare them.",
                ),
                _topic(
                    "keyboard",
                    "Keyboard and accessibility",
                    "Every control is reachable with Tab; Enter submits a form, Escape closes a dialog. Both themes "
                    "keep text contrast at WCAG AA.",
                ),
                spacing="5",
                width="100%",
                align="stretch",
            ),
        ),
        width="100%",
    )
