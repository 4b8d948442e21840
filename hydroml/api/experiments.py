"""Files of a training run over HTTP: any artifact the run logged in MLflow, for project members."""

from __future__ import annotations

import mimetypes
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from hydroml.services import auth
from hydroml.services.errors import Forbidden, InvalidInput, NotFound
from hydroml.services.experiments import runs

router = APIRouter()
CHUNK = 1024 * 1024
NO_FILE = "This run has no such file."


def _fetch(user, project_id: str, run_id: str, path: str) -> tuple[Path, Path]:
    """(temporary folder, the file in it). Only a path from the run's own artifact list is fetched."""
    from hydroml.services.experiments import tracking

    info = runs.get_run(user, project_id, run_id)  # viewer role, the run in this project
    if not info.mlflow_run_id:
        raise NotFound(NO_FILE)
    known = {name for name, _ in tracking.list_artifacts(info.mlflow_run_id)}
    if path not in known:
        raise NotFound(NO_FILE)
    folder = Path(tempfile.mkdtemp(prefix="hydroml-artifact-"))
    try:
        local = tracking.download_artifact(info.mlflow_run_id, path, folder)
        if not local.is_file():
            raise NotFound(NO_FILE)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, local


@router.get("/api/projects/{project_id}/runs/{run_id}/artifacts/{path:path}")
async def run_artifact(request: Request, project_id: str, run_id: str, path: str):
    user = await run_in_threadpool(auth.current_user, request.cookies.get(auth.SESSION_COOKIE, ""))
    if user is None:
        return JSONResponse({"error": "Sign in to download the run's files."}, status_code=401)
    try:
        folder, local = await run_in_threadpool(_fetch, user, project_id, run_id, path)
    except NotFound as error:
        return JSONResponse({"error": str(error)}, status_code=404)
    except (InvalidInput, Forbidden) as error:
        return JSONResponse({"error": str(error)}, status_code=400)

    def body():
        try:
            with local.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    media_type = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(local.name)}",
        "Content-Length": str(local.stat().st_size),
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(body(), media_type=media_type, headers=headers)
