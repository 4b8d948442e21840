"""Studio downloads over HTTP: the recipe as a pandas script, and the frame at the cursor in any export format."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from hydroml.services import auth, tables
from hydroml.services.errors import Forbidden, InvalidInput, NotFound
from hydroml.services.studio import sessions

router = APIRouter()


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}


async def _user(request: Request):
    return await run_in_threadpool(auth.current_user, request.cookies.get(auth.SESSION_COOKIE, ""))


def _error(error: Exception) -> JSONResponse:
    status = 404 if isinstance(error, NotFound) else 400
    return JSONResponse({"error": str(error)}, status_code=status)


@router.get("/api/projects/{project_id}/studio/{session_id}/script")
async def studio_script(request: Request, project_id: str, session_id: str):
    user = await _user(request)
    if user is None:
        return JSONResponse({"error": "Sign in to download the script."}, status_code=401)
    try:
        filename, text = await run_in_threadpool(sessions.script, user, project_id, session_id)
    except (NotFound, InvalidInput, Forbidden) as error:
        return _error(error)
    return Response(text, media_type="text/x-python; charset=utf-8", headers=_attachment(filename))


@router.get("/api/projects/{project_id}/studio/{session_id}/download")
async def studio_result(request: Request, project_id: str, session_id: str, format: str = "csv"):
    user = await _user(request)
    if user is None:
        return JSONResponse({"error": "Sign in to download data."}, status_code=401)
    try:
        filename, media_type, path = await run_in_threadpool(
            sessions.export_result, user, project_id, session_id, format
        )
    except (NotFound, InvalidInput, Forbidden) as error:
        return _error(error)

    def body():
        try:
            yield from tables.export_chunks(path, format)
        finally:
            path.unlink(missing_ok=True)

    return StreamingResponse(body(), media_type=media_type, headers=_attachment(filename))
