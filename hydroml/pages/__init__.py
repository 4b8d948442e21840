"""One module per route. Importing this package registers every page."""

from hydroml.pages import account, dashboard, help, signin  # noqa: F401
