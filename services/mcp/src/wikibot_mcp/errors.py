"""Where mcp errors become HTTP responses: one handler, JSON bodies, no stack traces."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from wikibot_shared.errors import WikibotError
from wikibot_shared.web import error_parts, validation_message

log = logging.getLogger("wikibot.mcp")


class McpError(WikibotError):
    """Root of the mcp service's own errors."""


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WikibotError)
    async def _domain(_request: Request, exc: WikibotError) -> JSONResponse:
        status, headers, body = error_parts(exc)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid_request", "message": validation_message(exc.errors())}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "http_error"
        return JSONResponse({"error": code, "message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "internal_error", "message": "something went wrong"}, status_code=500)


class PreconditionFailed(McpError):
    """RFC 9110 §13.1.1: If-Match named a revision that is not the page's current one."""

    status = 412
    code = "precondition_failed"


class PreconditionRequired(McpError):
    """RFC 6585 §3: replacing an existing page needs If-Match (the ETag it was read at)."""

    status = 428
    code = "precondition_required"
