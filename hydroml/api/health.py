from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from hydroml.services.health import health_report

router = APIRouter()


@router.get("/api/health")
async def health() -> JSONResponse:
    report = await run_in_threadpool(health_report)
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)
