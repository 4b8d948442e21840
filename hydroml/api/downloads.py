"""Authenticated downloads of data sources, streamed over HTTP (never through the websocket)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from hydroml.services import auth, datasources, tables
from hydroml.services.errors import Forbidden, InvalidInput, NotFound

router = APIRouter()


@router.get("/api/projects/{project_id}/data-sources/{data_source_id}/download")
async def download_data_source(
    request: Request, project_id: str, data_source_id: str, format: str = "csv", version: int | None = None
):
    token = request.cookies.get(auth.SESSION_COOKIE, "")
    user = await run_in_threadpool(auth.current_user, token)
    if user is None:
        return JSONResponse({"error": "Sign in to download data."}, status_code=401)
    try:
        filename, media_type, parquet = await run_in_threadpool(
            datasources.download, user, project_id, data_source_id, format, version
        )
    except NotFound as error:
        return JSONResponse({"error": str(error)}, status_code=404)
    except (InvalidInput, Forbidden) as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    try:
        chunks = tables.export_chunks(parquet, format)
        first = await run_in_threadpool(
            next, chunks, b""
        )  # surfaces export errors (e.g. Excel row limit) as 400
    except ValueError as error:
        return JSONResponse({"error": str(error)}, status_code=400)

    def body():
        yield first
        yield from chunks

    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return StreamingResponse(body(), media_type=media_type, headers={"Content-Disposition": disposition})
