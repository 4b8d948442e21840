"""One module per route. Importing this package registers every page."""

from hydroml.pages import (  # noqa: F401
    account,
    connections,
    connector_query,
    dashboard,
    data,
    experiment_compare,
    experiment_run,
    experiment_wizard,
    experiments,
    help,
    projects,
    signin,
    studio,
)
