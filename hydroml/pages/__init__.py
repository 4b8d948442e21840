"""One module per route. Importing this package registers every page."""

from hydroml.pages import account, dashboard, data, help, projects, signin  # noqa: F401
