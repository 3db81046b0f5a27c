"""Where platform errors become HTTP responses: one handler, JSON bodies (HTML pages for browsers), no stack
traces. A browser page whose session is missing or ended is sent to sign-in instead of shown a 401."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from wikibot_shared.errors import AuthError, WikibotError
from wikibot_shared.web import error_parts, validation_message

from .sessions import clear_session_cookie
from .templating import render

log = logging.getLogger("wikibot.platform")

HTML_PREFIXES = ("/app", "/auth/link")


class PlatformError(WikibotError):
    """Root of the platform's own errors."""


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api"):
        return False
    if path == "/" or path.startswith(HTML_PREFIXES):
        return True
    return "text/html" in request.headers.get("accept", "")


def sign_in_redirect(request: Request) -> Response:
    settings = request.app.state.settings
    here = settings.platform_url + (request.url.path if request.method == "GET" else "/app")
    if request.method == "GET" and request.url.query:
        here += "?" + request.url.query
    url = f"{settings.platform_url}/auth/login?{urlencode({'return_to': here})}"
    response = RedirectResponse(url, status_code=303)
    clear_session_cookie(response, settings)
    return response


def error_page(request: Request, status: int, code: str, message: str, headers: dict[str, str]) -> Response:
    response = render(
        request, "error.html", {"status": status, "code": code, "message": message}, status_code=status
    )
    response.headers.update(headers)
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WikibotError)
    async def _domain(request: Request, exc: WikibotError) -> Response:
        status, headers, body = error_parts(exc)
        if wants_html(request):
            if isinstance(exc, AuthError) and request.url.path.startswith("/app"):
                return sign_in_redirect(request)
            return error_page(request, status, body["error"], body["message"], headers)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        message = validation_message(exc.errors())
        if wants_html(request):
            return error_page(request, 422, "invalid_request", message, {})
        return JSONResponse({"error": "invalid_request", "message": message}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = "not_found" if exc.status_code == 404 else "http_error"
        if wants_html(request) and request.url.path.startswith("/app"):
            return error_page(request, exc.status_code, code, str(exc.detail), {})
        return JSONResponse({"error": code, "message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "internal_error", "message": "something went wrong"}, status_code=500)
