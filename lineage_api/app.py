"""The lineage API application: ``create_app(settings)``.

To add routes, put a module under ``lineage_api/routes/`` that defines ``router = APIRouter(...)``
(paths relative to the prefix, e.g. ``/analytics/compute``) and add its import path to
``ROUTER_MODULES`` below. Routes use the typed dependencies in ``dependencies.py``; they raise
the domain errors of ``store/errors.py`` (or ``errors.ApiError`` for what is HTTP's own), which
``errors.install_error_handlers`` maps to statuses. All SQL lives in ``store/`` (a test checks it).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

from traceability.instrumentation.version import package_version
from traceability.lineage_api.deriver.service import DeriverService
from traceability.lineage_api.errors import RequestTimer, install_error_handlers
from traceability.lineage_api.http_guards import install_guards
from traceability.lineage_api.pool import PoolHolder
from traceability.lineage_api.settings import Settings
from traceability.lineage_api.ui.install import install_ui

API_PREFIX = "/api/pattern-traceability"
DOCS_ASSETS_PATH = "/docs-assets"  # Swagger UI / ReDoc JavaScript, CSS and favicon

# Every router of the API, in the order they are included. One line per module; each defines `router`.
ROUTER_MODULES: tuple[str, ...] = (
    "traceability.lineage_api.routes.health",
    "traceability.lineage_api.routes.lineage",
    "traceability.lineage_api.routes.catalog",
    "traceability.lineage_api.routes.analytics",
    "traceability.lineage_api.routes.feedback",
    "traceability.lineage_api.routes.executions",
    "traceability.lineage_api.routes.sessions",
)

log = logging.getLogger(__name__)


def _routers() -> list[APIRouter]:
    return [importlib.import_module(name).router for name in ROUTER_MODULES]


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI app; its lifespan opens the pool and runs the pattern deriver (if enabled)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder = PoolHolder(settings)
        app.state.pool_holder = holder
        await holder.try_open()
        deriver = DeriverService(holder, settings) if settings.run_deriver else None
        app.state.deriver = deriver
        if deriver is not None:
            deriver.start()
        try:
            yield
        finally:
            if deriver is not None:
                await deriver.stop()
            await holder.close()

    # /docs and /redoc with their assets served from the installed fastapi-offline package, so they
    # work without internet; no validator badge (it would call an external validator)
    app = FastAPIOffline(
        title="Pattern traceability API",
        description="Pattern lineage, usage analytics and feedback derived from Claude Code hook traces.",
        version=package_version(),
        lifespan=lifespan,
        static_url=DOCS_ASSETS_PATH,
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.settings = settings
    app.add_middleware(RequestTimer)
    install_guards(app, settings, health_path=f"{API_PREFIX}/health")
    install_error_handlers(app)
    for router in _routers():
        app.include_router(router, prefix=API_PREFIX)
    install_ui(app)
    return app
