"""Errors as RFC 9457 ``application/problem+json``, one table for the whole API."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shequ.domain.errors import (
    AdapterError,
    Conflict,
    DomainError,
    Forbidden,
    InvalidImport,
    InvalidInput,
    NotFound,
    RateLimited,
    SchemaOutOfDate,
    ShequError,
    StorageUnavailable,
    Unauthenticated,
)

__all__ = ["STATUSES", "install_problem_handlers", "problem", "status_for"]

log = logging.getLogger("shequ.http")
MEDIA_TYPE = "application/problem+json"

# the most specific family first; see docs/http.md
STATUSES: tuple[tuple[type[ShequError], int], ...] = (
    (InvalidInput, 422),
    (DomainError, 409),
    (NotFound, 404),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (RateLimited, 429),
    (Conflict, 409),
    (StorageUnavailable, 503),
    (SchemaOutOfDate, 503),
    (AdapterError, 502),
)
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


def status_for(error: ShequError) -> int:
    return next((status for family, status in STATUSES if isinstance(error, family)), 500)


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"urn:shequ:error:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def _shequ_error(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, ShequError):  # registered for this type only
        return await _unexpected(request, error)
    extra: dict[str, Any] = {}
    if isinstance(error, InvalidImport):
        extra["rows"] = [
            {"line": line, "reason": reason} for line, reason in error.details.get("rows", [])
        ]
    elif "field" in error.details:
        extra["field"] = error.details["field"]
    headers = None
    if isinstance(error, Unauthenticated):
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(error, RateLimited):
        extra["retry_after"] = error.details.get("retry_after", 60)
        headers = {"Retry-After": str(extra["retry_after"])}
    return problem(status_for(error), error.code, error.message, headers, **extra)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, RequestValidationError):
        return await _unexpected(request, error)
    errors = [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e["msg"]}
        for e in error.errors()
    ]
    first = errors[0] if errors else {"location": "", "message": "the request is not valid"}
    return problem(
        422, "request-invalid", f"{first['location']}: {first['message']}", errors=errors
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, HTTPException):
        return await _unexpected(request, error)
    code = {404: "route-not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
    return problem(error.status_code, code, str(error.detail))


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    ref = uuid.uuid4().hex[:12]
    log.error(
        "unexpected failure %s on %s %s", ref, request.method, request.url.path, exc_info=error
    )
    return problem(500, "internal", f"an unexpected failure; reference {ref}", reference=ref)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ShequError, _shequ_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
