"""Where platform errors become HTTP responses: one handler, JSON bodies (HTML pages for browsers), no stack
traces. A browser page whose session is missing or ended is sent to sign-in instead of shown a 401."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from wikibot_shared import asgi, web
from wikibot_shared.errors import AuthError, WikibotError

from .auth.sessions import clear_session_cookie
from .templating import render

HTML_PREFIXES = ("/app", "/auth/link")


class PlatformError(WikibotError):
    """Root of the platform's own errors."""


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api"):
        return False
    if path == "/" or path.startswith(HTML_PREFIXES):
        return True
    return web.wants_html(request.headers.get("accept"))


def sign_in_redirect(request: Request) -> Response:
    settings = request.app.state.settings
    here = settings.platform_url + (request.url.path if request.method == "GET" else "/app")
    if request.method == "GET" and request.url.query:
        here += "?" + request.url.query
    response = RedirectResponse(settings.sign_in_url(here), status_code=303)
    clear_session_cookie(response, settings)
    return response


def error_page(request: Request, status: int, code: str, message: str, headers: dict[str, str]) -> Response:
    response = render(
        request, "error.html", {"status": status, "code": code, "message": message}, status_code=status
    )
    response.headers.update(headers)
    return response


def page(
    request: Request, exc: Exception, status: int, code: str, message: str, headers: dict[str, str]
) -> Response | None:
    """What a browser gets instead of JSON (``wikibot_shared.asgi`` asks before answering)."""
    if not wants_html(request):
        return None
    if isinstance(exc, StarletteHTTPException) and not request.url.path.startswith("/app"):
        return None
    if isinstance(exc, AuthError) and request.url.path.startswith("/app"):
        return sign_in_redirect(request)
    return error_page(request, status, code, message, headers)


def install_error_handlers(app: FastAPI) -> None:
    asgi.install_error_handlers(app, service="platform", page=page)
