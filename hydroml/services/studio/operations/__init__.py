"""The operation catalog. Importing this package registers every operation in `OPERATIONS`."""

from hydroml.services.studio.operations import (  # noqa: F401 - imported for registration
    columns,
    computed,
    hydrology,
    missing,
    rows,
    structure,
    text,
    timeseries,
)
from hydroml.services.studio.operations.base import (
    GROUPS,
    OPERATIONS,
    Context,
    Operation,
    OperationError,
    Param,
    ParamError,
    Schema,
    schema_of,
)

__all__ = [
    "GROUPS",
    "OPERATIONS",
    "Context",
    "Operation",
    "OperationError",
    "Param",
    "ParamError",
    "Schema",
    "schema_of",
]
