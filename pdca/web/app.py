"""The application factory: create_app(settings) builds everything; nothing at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from pdca import __version__, migrate
from pdca.db import database_reachable, make_engine
from pdca.services.catalog import WorkflowCatalog
from pdca.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    settings.check_secret()
    engine = make_engine(settings)
    # Loading validates every workflow file: a broken one stops start-up with its reason.
    catalog = WorkflowCatalog.from_directory(settings.workflows_dir)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="pdca",
        version=__version__,
        description="Continuous-improvement workflow engine for service-quality teams.",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.catalog = catalog

    @app.get("/healthz", tags=["operations"], summary="Database reachable and schema at head")
    def healthz() -> JSONResponse:
        if not database_reachable(engine):
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        if not migrate.at_head(settings, engine):
            return JSONResponse(
                {"status": "unavailable", "database": "reachable",
                 "migrations": "not at head: run `pdca db upgrade`"},
                503,
            )
        return JSONResponse({"status": "ok", "database": "reachable", "migrations": "head",
                             "workflows": catalog.names()})

    return app
