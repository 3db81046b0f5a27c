"""Where embedder errors become HTTP responses: one handler, JSON bodies, no stack traces."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from wikibot_shared.errors import WikibotError
from wikibot_shared.web import error_parts

log = logging.getLogger("wikibot.embedder")


class EmbedderError(WikibotError):
    """Root of the embedder's own errors."""


def _message(errors: Any) -> str:
    """``field: what`` from pydantic's first error (a body field may itself be called "query")."""
    first: dict[str, Any] = next(iter(errors), {}) if errors else {}
    loc = [str(p) for p in first.get("loc", ())]
    if loc and loc[0] in ("body", "query", "path"):
        loc = loc[1:]
    what = str(first.get("msg", "invalid input"))
    return f"{'.'.join(loc)}: {what}" if loc else what


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WikibotError)
    async def _domain(_request: Request, exc: WikibotError) -> JSONResponse:
        status, headers, body = error_parts(exc)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # The internal API contract answers malformed input with 400 (BRIEFING: embedder internal API).
        return JSONResponse({"error": "invalid_request", "message": _message(exc.errors())}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "http_error"
        return JSONResponse({"error": code, "message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "internal_error", "message": "something went wrong"}, status_code=500)
