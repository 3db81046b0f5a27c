"""The FastAPI side of every ASGI service (platform, mcp, embedder): where errors become responses, and the
health routes. The services depend on FastAPI themselves; nothing else in ``wikibot_shared`` imports this.

- ``install_error_handlers``: a ``WikibotError`` → its JSON (``web.error_parts``), request validation → 422
  (or the status a service's contract names), a dependency not answering → 503 with ``Retry-After``
  (``outage``), any other exception → a logged JSON 500 — never a trace. A
  service that serves pages to browsers passes ``page``, which may answer instead (an HTML error page, a
  redirect to sign-in).
- ``health_router``: ``/healthz`` (alive) and ``/readyz`` (database and Redis answer), plus any public paths
  that show the same readiness.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .errors import WikibotError
from .health import readiness
from .outage import unavailable
from .web import error_parts, validation_message


class ErrorBody(BaseModel):
    """Every error answer's body (``WikibotError.to_dict``)."""

    error: str = Field(description="stable machine-readable code, e.g. stale_revision, unknown_proposal")
    message: str = Field(description="what went wrong and what to do, safe to show")


# What an API's operations may answer besides success, for its OpenAPI (``APIRouter(responses=…)``): the schema
# says every status a client must be ready for (schemathesis checks answers against it: tests/schemas).
ERROR_STATUSES = (400, 401, 403, 404, 409, 412, 413, 422, 428, 429, 503)


def error_responses(statuses: Sequence[int] = ERROR_STATUSES) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


# (request, the exception, status, code, message, headers) → a response, or None for the JSON one.
PageHook = Callable[[Request, Exception, int, str, str, dict[str, str]], Response | None]


def install_error_handlers(
    app: FastAPI, *, service: str, validation_status: int = 422, page: PageHook | None = None
) -> None:
    log = logging.getLogger(f"wikibot.{service}")

    def answer(
        request: Request, exc: Exception, status: int, body: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        if page is not None:
            shown = page(request, exc, status, str(body["error"]), str(body["message"]), headers)
            if shown is not None:
                return shown
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(WikibotError)
    async def _domain(request: Request, exc: WikibotError) -> Response:
        status, headers, body = error_parts(exc)
        return answer(request, exc, status, body, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        body = {"error": "invalid_request", "message": validation_message(exc.errors())}
        return answer(request, exc, validation_status, body, {})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = "not_found" if exc.status_code == 404 else "http_error"
        headers = dict(exc.headers or {})  # a 405's Allow (RFC 9110 §15.5.6), among others
        return answer(request, exc, exc.status_code, {"error": code, "message": str(exc.detail)}, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        down = unavailable(exc)
        if down is not None:  # a dependency not answering: retryable, not a bug
            log.warning(
                "dependency unavailable", extra={"error": type(exc).__name__, "path": request.url.path}
            )
            status, headers, body = error_parts(down)
            return answer(request, down, status, body, headers)
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "internal_error", "message": "something went wrong"}, status_code=500)


def health_router(
    service: str,
    *,
    public: Sequence[str] = (),
    details: Callable[[Request], dict[str, Any]] | None = None,
) -> APIRouter:
    """``/healthz`` and ``/readyz`` (and each path in ``public``, shown in the API docs); ``details`` adds what a
    service reports beyond the database and Redis. The app's state holds ``engine`` and ``redis``."""
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"service": service, "status": "ok"}

    def readyz(request: Request) -> JSONResponse:
        ok, checks = readiness(request.app.state.engine, request.app.state.redis)
        extra = details(request) if details is not None else {}
        body = {"service": service, "status": "ok" if ok else "error", **checks, **extra}
        return JSONResponse(body, 200 if ok else 503)

    router.add_api_route("/readyz", readyz, methods=["GET"], include_in_schema=False)
    for path in public:
        router.add_api_route(path, readyz, methods=["GET"], tags=["health"])
    return router
