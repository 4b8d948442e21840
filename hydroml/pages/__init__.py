"""One module per route. Importing this package registers every page."""

from hydroml.pages import account, dashboard, data, help, projects, signin, studio  # noqa: F401
