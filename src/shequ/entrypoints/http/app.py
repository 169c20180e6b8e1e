"""The FastAPI application factory."""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from injector import Injector

from shequ.application.ports import HealthCheck
from shequ.domain.errors import ShequError
from shequ.entrypoints.http.auth import router as auth_router
from shequ.entrypoints.http.catalog import router as catalog_router
from shequ.entrypoints.http.community import router as community_router
from shequ.entrypoints.http.complaints import router as complaints_router
from shequ.entrypoints.http.delivery import router as delivery_router
from shequ.entrypoints.http.deps import resolve
from shequ.entrypoints.http.forum import router as forum_router
from shequ.entrypoints.http.groupbuy import router as groupbuy_router
from shequ.entrypoints.http.ordering import router as ordering_router
from shequ.entrypoints.http.payments import router as payments_router
from shequ.entrypoints.http.pickup import router as pickup_router
from shequ.entrypoints.http.problems import install_problem_handlers, problem, status_for
from shequ.entrypoints.http.promotions import router as promotions_router
from shequ.entrypoints.http.reviews import router as reviews_router
from shequ.entrypoints.http.riders import router as riders_router
from shequ.entrypoints.http.services import router as services_router

__all__ = ["create_app"]


def create_app(container: Injector) -> FastAPI:
    """The HTTP API over ``container`` (from :func:`shequ.bootstrap`)."""
    app = FastAPI(
        title="shequ",
        version=version("shequ"),
        description="Community e-commerce (社区电商). Money is integer fen. Errors are "
        "RFC 9457 application/problem+json with a stable `code`.",
    )
    app.state.container = container
    install_problem_handlers(app)
    app.include_router(auth_router)
    app.include_router(catalog_router)
    app.include_router(ordering_router)
    app.include_router(payments_router)
    app.include_router(groupbuy_router)
    app.include_router(pickup_router)
    app.include_router(delivery_router)
    app.include_router(riders_router)
    app.include_router(services_router)
    app.include_router(community_router)
    app.include_router(complaints_router)
    app.include_router(forum_router)
    app.include_router(reviews_router)
    app.include_router(promotions_router)

    @app.get("/healthz", tags=["health"])
    def healthz(health: Annotated[HealthCheck, Depends(resolve(HealthCheck))]) -> JSONResponse:
        """200 when the database answers and its schema is current, else 503."""
        try:
            health.check()
        except ShequError as e:
            return problem(status_for(e), e.code, e.message)
        return JSONResponse({"status": "ok", "database": "ok"})

    return app
