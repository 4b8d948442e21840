"""The connector jobs the pages run: preview a query, import it, refresh a query data source, export a data
source to a table. Each takes the ids the state layer holds, finds the connection's engine (the policy and
the project role are checked on every call) and calls the transfer functions; ``progress(stage, done,
total)`` is passed through so the state can show it (see :mod:`hydroml.services.connectors.transfer`)."""

from __future__ import annotations

from typing import Any

from hydroml.services.auth import UserInfo
from hydroml.services.connectors import connections, transfer
from hydroml.services.connectors import query as q
from hydroml.services.connectors.readonly import explained_errors
from hydroml.services.datasources import DataSourceInfo
from hydroml.services.errors import InvalidInput

PREVIEW_TIMEOUT_S = 30.0


def _meta(actor: UserInfo, project_id, connection_id) -> dict[str, str]:
    info = connections.get_connection(actor, project_id, connection_id)
    return {"connection_id": str(info.id), "connection_name": info.name, "dialect": info.kind}


def _query(engine, spec: dict | None, sql: str | None, params: dict | None) -> tuple[Any, dict]:
    if spec is not None:
        with explained_errors():
            return q.build_select(engine, spec), {}
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidInput("sql", "Write a query or build one first.")
    return q.check_raw_sql(sql, engine.dialect), dict(params or {})


def describe(
    actor: UserInfo,
    project_id,
    connection_id,
    *,
    spec: dict | None = None,
    sql: str | None = None,
    params: dict | None = None,
) -> tuple[str, dict]:
    """(SQL text, parameters) of a builder spec or checked raw SQL, as shown to the user (nothing runs)."""
    engine = connections.engine_for(actor, project_id, connection_id)
    query, values = _query(engine, spec, sql, params)
    return q.describe_query(engine, query, values)


def preview_query(
    actor: UserInfo,
    project_id,
    connection_id,
    *,
    spec: dict | None = None,
    sql: str | None = None,
    params: dict | None = None,
    max_rows: int = q.PREVIEW_ROWS,
) -> tuple[str, dict, q.Rows]:
    """(SQL text, parameters, first rows) of a builder spec or raw SQL, run read-only (any member)."""
    engine = connections.engine_for(actor, project_id, connection_id)
    query, values = _query(engine, spec, sql, params)
    text, shown = q.describe_query(engine, query, values)
    rows = q.fetch_rows(engine, query, values, max_rows=max_rows, timeout_s=PREVIEW_TIMEOUT_S)
    return text, shown, rows


def run_import(
    actor: UserInfo,
    project_id,
    connection_id,
    *,
    spec: dict | None = None,
    sql: str | None = None,
    params: dict | None = None,
    name: str,
    progress: transfer.Progress | None = None,
) -> DataSourceInfo:
    """Import a builder spec or raw SQL into a new "query" data source (editor)."""
    engine = connections.engine_for(actor, project_id, connection_id)
    meta = _meta(actor, project_id, connection_id)
    if spec is None and (not isinstance(sql, str) or not sql.strip()):
        raise InvalidInput("sql", "Write a query or build one first.")
    return transfer.import_query(
        actor, project_id, engine, sql, params, name, connection_meta=meta, spec=spec, progress=progress
    )


def run_refresh(
    actor: UserInfo, project_id, data_source_id, progress: transfer.Progress | None = None
) -> DataSourceInfo:
    """Re-run a query data source's recorded query on its recorded connection into a new version (editor)."""
    recorded = transfer.recorded_query(actor, project_id, data_source_id)
    connection_id = recorded.get("connection_id")
    if not connection_id:
        raise InvalidInput("connection", "The connection this data source was imported from is not recorded.")
    engine = connections.engine_for(actor, project_id, connection_id)
    return transfer.refresh_query(actor, project_id, data_source_id, engine, progress)


def run_export(
    actor: UserInfo,
    project_id,
    data_source_id,
    connection_id,
    table: str,
    mode: str,
    progress: transfer.Progress | None = None,
) -> transfer.ExportResult:
    """Write the data source's newest version to a table through a connection (editor)."""
    engine = connections.engine_for(actor, project_id, connection_id, writable=True)
    return transfer.export_table(actor, project_id, data_source_id, engine, table, mode, progress=progress)
