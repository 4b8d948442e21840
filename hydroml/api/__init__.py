"""HTTP routes mounted next to Reflex's own (`/ping`, `/_event`, ...)."""

from fastapi import FastAPI

from hydroml.api.health import router as health_router


def build_api() -> FastAPI:
    api = FastAPI(title="HydroML API", docs_url=None, redoc_url=None, openapi_url=None)
    api.include_router(health_router)
    return api
