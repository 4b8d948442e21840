"""One module per route. Importing this package registers every page."""

from hydroml.pages import (  # noqa: F401
    account,
    connections,
    connector_query,
    dashboard,
    data,
    help,
    projects,
    signin,
    studio,
)
