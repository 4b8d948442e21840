"""HTTP routes mounted next to Reflex's own (`/ping`, `/_event`, `/_upload`, ...)."""

from fastapi import FastAPI

from hydroml.api.downloads import router as downloads_router
from hydroml.api.experiments import router as experiments_router
from hydroml.api.health import router as health_router
from hydroml.api.limits import limit_uploads
from hydroml.api.studio import router as studio_router


def build_api() -> FastAPI:
    api = FastAPI(title="HydroML API", docs_url=None, redoc_url=None, openapi_url=None)
    api.include_router(health_router)
    api.include_router(downloads_router)
    api.include_router(studio_router)
    api.include_router(experiments_router)
    return api


def api_transformers() -> list:
    """For rx.App(api_transformer=...): our routes first, then the upload size guard around everything."""
    return [build_api(), limit_uploads]
