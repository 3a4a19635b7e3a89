"""The application factory: create_app(settings) builds everything; nothing at import time."""

import functools
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from pdca import __version__, migrate, resources, storage
from pdca.db import make_engine
from pdca.services import jobs
from pdca.services.catalog import WorkflowCatalog
from pdca.services.context import Ctx
from pdca.services.mailer import MailConfig
from pdca.services.monitor import Scheduler
from pdca.settings import Settings, get_settings
from pdca.web.api import (
    contract,
    routes_comments,
    routes_errors,
    routes_evidence,
    routes_feedback,
    routes_indexes,
    routes_inspection_plans,
    routes_inspections,
    routes_kpi,
    routes_meetings,
    routes_notifications,
    routes_org,
    routes_read,
    routes_trail,
    routes_work,
)
from pdca.web.api.http import known_query_only
from pdca.web.api.schemas import ProblemDetail
from pdca.web.errors import install_error_handlers
from pdca.web.middleware import BodyLimit, InFlightLimit, Methods, SecurityHeaders
from pdca.web.pages import a3 as a3_pages
from pdca.web.pages import actions as action_pages
from pdca.web.pages import admin as admin_pages
from pdca.web.pages import auth as auth_pages
from pdca.web.pages import board as board_pages
from pdca.web.pages import complaints as complaint_pages
from pdca.web.pages import cycles as cycle_pages
from pdca.web.pages import evidence as evidence_pages
from pdca.web.pages import indexes as index_pages
from pdca.web.pages import inspection_plans as inspection_plan_pages
from pdca.web.pages import inspections as inspection_pages
from pdca.web.pages import kpis as kpi_pages
from pdca.web.pages import meetings as meeting_pages
from pdca.web.pages import meetings_plan as meeting_plan_pages
from pdca.web.pages import my_work as my_work_pages
from pdca.web.pages import notifications as notification_pages
from pdca.web.pages import problems as problem_pages
from pdca.web.pages import profile as profile_pages
from pdca.web.pages import reports as report_pages
from pdca.web.pages import survey_answers as survey_answer_pages
from pdca.web.pages import surveys as survey_pages
from pdca.web.pages import trail as trail_pages
from pdca.web.render import make_environment

PAGE_ROUTERS = (
    auth_pages.router,
    my_work_pages.router,  # before the board's: its "/" lands heads and members on My work
    board_pages.router,
    cycle_pages.router,
    problem_pages.router,
    complaint_pages.router,
    survey_answer_pages.router,
    survey_pages.router,
    profile_pages.router,
    admin_pages.router,
    kpi_pages.router,
    index_pages.router,
    action_pages.router,
    evidence_pages.router,
    inspection_pages.router,
    inspection_plan_pages.router,
    trail_pages.router,
    meeting_plan_pages.router,  # before the meetings': /meetings/new is not a meeting
    meeting_pages.router,
    notification_pages.router,
    report_pages.router,
    a3_pages.router,
)

API_ERRORS = {
    status: {
        "model": ProblemDetail,
        "description": text,
        "content": {"application/problem+json": {}},
    }
    for status, text in (
        (401, "Missing, unknown, expired or revoked credentials"),
        (403, "Not allowed for your role, with the reason"),
        (404, "No such resource"),
        (409, "A stale version, or a transition the guards refused (with reasons)"),
        (422, "Invalid input (with reasons)"),
        (429, "Too many failed sign-ins"),
        (503, "The database is busy; retry"),
    )
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def job_config(settings: Settings) -> jobs.JobConfig:
    """The notification jobs' settings: mail only when an SMTP host is configured."""
    if not settings.smtp_host:
        return jobs.JobConfig(mail=None)
    return jobs.JobConfig(
        mail=MailConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=settings.smtp_password,
            sender=settings.smtp_from,
            base_url=settings.site_url,
        )
    )


@functools.cache
def api_router() -> APIRouter:
    """The API's routes under /api/v1, assembled once per process."""
    # Operation ids are the route functions' names: what a generated client calls them.
    api = APIRouter(
        prefix="/api/v1",
        responses=API_ERRORS,  # type: ignore[arg-type]
        generate_unique_id_function=lambda route: route.name,
        dependencies=[Depends(known_query_only)],
    )
    for module in (
        routes_errors,
        routes_org,
        routes_work,
        routes_comments,
        routes_read,
        routes_kpi,
        routes_indexes,
        routes_evidence,
        routes_inspections,
        routes_inspection_plans,
        routes_trail,
        routes_meetings,
        routes_notifications,
        routes_feedback,
    ):
        api.include_router(module.router)
    return api


@functools.cache
def included_routes() -> tuple[BaseRoute, ...]:
    """Every page and API route, included once per process and shared by every app made.

    FastAPI prepares an included router's routes (their parameter and response models)
    on the first request and keeps them on the inclusion: including the routers anew in
    each app repeated that work, 1.5-4 s for each app a test makes. Nothing in an
    inclusion belongs to one app except `dependency_overrides`, which pdca does not use.
    """
    holder = APIRouter()
    for router in PAGE_ROUTERS:
        holder.include_router(router)
    holder.include_router(api_router())
    return tuple(holder.routes)


def create_app(settings: Settings, clock: Callable[[], datetime] = _utcnow) -> FastAPI:
    settings.check_secret()
    engine = make_engine(settings)
    storage.watch(engine)
    # Loading validates every workflow file: a broken one stops start-up with its reason.
    catalog = WorkflowCatalog.from_directories(settings.workflow_dirs())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync routes and dependencies run in AnyIO's thread pool: as many threads as
        # connections, so no thread holds a connection another thread waits for.
        to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        scheduler = None
        if settings.monitor_every_minutes > 0:
            scheduler = Scheduler(
                lambda session: Ctx(session=session, actor=None, catalog=catalog, clock=clock),
                engine,
                holder=f"{socket.gethostname()}:{os.getpid()}",
                every=timedelta(minutes=settings.monitor_every_minutes),
            )
            scheduler.start()
        job_scheduler = None
        if settings.jobs_every_seconds > 0:
            job_scheduler = jobs.Scheduler(
                lambda session: Ctx(session=session, actor=None, catalog=catalog, clock=clock),
                engine,
                holder=f"{socket.gethostname()}:{os.getpid()}",
                every=timedelta(seconds=settings.jobs_every_seconds),
                config=job_config(settings),
            )
            job_scheduler.start()
        yield
        if scheduler is not None:
            scheduler.stop()
        if job_scheduler is not None:
            job_scheduler.stop()
        # Closing connections blocks: keep it off the event loop.
        await to_thread.run_sync(engine.dispose)

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
    app.state.clock = clock
    app.state.templates = make_environment(settings.templates_dir, auto_reload=settings.debug)
    install_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.evidence_max_bytes,
    )
    app.add_middleware(Methods, routes=lambda: app.routes)
    app.add_middleware(InFlightLimit, limit=settings.max_requests_in_flight)
    # Outermost: even a 503 from the in-flight limit carries the security headers.
    app.add_middleware(
        SecurityHeaders, htmx_url=settings.htmx_url, hsts=bool(settings.secure_cookies)
    )
    app.mount("/static", StaticFiles(directory=resources.static_dir()), name="static")
    app.router.routes.extend(included_routes())
    contract.install(app, catalog)

    # The migration scripts do not change while the process runs: read their heads once.
    heads = migrate.head_revisions(settings)

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Database reachable and schema at head",
        responses={
            503: {
                "description": "Unavailable: the database unreachable, its schema behind the "
                "code, or writes failing; the body says which",
                "content": {"application/json": {}},
            }
        },
    )
    def healthz() -> JSONResponse:
        state = migrate.schema_state(engine, heads)
        if state == "unreachable":
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        if state == "behind":
            return JSONResponse(
                {
                    "status": "unavailable",
                    "database": "reachable",
                    "migrations": "not at head: run `pdca db upgrade`",
                },
                503,
            )
        # Only after a write has failed does the probe write: a healthy store costs nothing.
        fault = storage.probe_writes(engine) if storage.known_fault(engine) else None
        if fault is not None:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "database": "reachable",
                    "migrations": "head",
                    "writes": f"failing: {fault.replace('_', ' ')}",
                },
                503,
            )
        return JSONResponse(
            {
                "status": "ok",
                "database": "reachable",
                "migrations": "head",
                "writes": "ok",
                "workflows": catalog.names(),
            }
        )

    return app


def app_from_environment() -> FastAPI:
    """The factory each worker of `pdca serve --workers N` calls: settings from PDCA_ variables."""
    return create_app(get_settings())
