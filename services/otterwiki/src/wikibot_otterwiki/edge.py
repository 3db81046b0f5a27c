"""The WSGI edge in front of the tenant middleware: request id, health, header size, JSON errors."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from wikibot_shared.errors import WikibotError
from wikibot_shared.health import readiness
from wikibot_shared.logs import request_id_var
from wikibot_shared.metrics import observe
from wikibot_shared.outage import unavailable
from wikibot_shared.web import MAX_HEADER_BYTES, error_parts, log_access, request_id_from

log = logging.getLogger("wikibot.otterwiki")

SERVICE = "otterwiki"
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def json_response(
    start_response: StartResponse, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[bytes]:
    data = json.dumps(body).encode()
    hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    hdrs += list((headers or {}).items())
    start_response(status_line(status), hdrs)
    return [data]


def status_line(status: int) -> str:
    """WSGI's status line, e.g. ``"413 Content Too Large"`` (the reason phrases of RFC 9110 §15)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"


_PAGE_ACTIONS = frozenset(
    [
        "edit",
        "save",
        "preview",
        "history",
        "blame",
        "diff",
        "source",
        "attachments",
        "rename",
        "delete",
        "revert",
        "view",
        "upload",
    ]
)


def route_label(path: str) -> str:
    """A bounded metrics label for an Otterwiki path (page names never become label values)."""
    if path in ("/", "/healthz", "/readyz", "/-/health", "/-/session"):
        return path
    if path.startswith("/static/"):
        return "/static/*"
    if path.startswith("/-/"):
        return "/-/*"
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return f"/{{page}}/{last}" if last in _PAGE_ACTIONS else "/{page}"


def _header_bytes(environ: dict[str, Any]) -> int:
    return sum(len(k) + len(str(v)) for k, v in environ.items() if k.startswith("HTTP_"))


class Edge:
    """Wraps the wiki UI application ``ui`` (the tenant middleware around Otterwiki)."""

    def __init__(self, ui: WSGIApp, *, settings: Any, engine: Any, redis: Any, services: Any = None) -> None:
        self.ui = ui
        self.settings = settings
        self.engine = engine
        self.redis = redis
        self.services = services

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        rid = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        token = request_id_var.set(rid)
        started = time.perf_counter()
        answered = [500]

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered[0] = int(status.split(" ", 1)[0])
            extra = [("X-Request-Id", rid), ("X-Wikibot-Service", SERVICE)]
            return start_response(status, [*headers, *extra], exc_info)

        try:
            path = environ.get("PATH_INFO", "")
            if _header_bytes(environ) > MAX_HEADER_BYTES:
                return json_response(
                    start, 431, {"error": "headers_too_large", "message": "request headers are too large"}
                )
            if path == "/healthz":
                return json_response(start, 200, {"service": SERVICE, "status": "ok"})
            if path in ("/readyz", "/-/health"):
                ok, checks = readiness(self.engine, self.redis)
                return json_response(
                    start,
                    200 if ok else 503,
                    {"service": SERVICE, "status": "ok" if ok else "error", **checks},
                )
            return self.ui(environ, start)
        except WikibotError as exc:
            status, headers, body = error_parts(exc)
            return json_response(start, status, body, headers)
        except Exception as exc:
            down = unavailable(exc)
            if down is not None:  # the database or Redis not answering: retryable (a 503 with Retry-After)
                log.warning("dependency unavailable", extra={"error": type(exc).__name__})
                status, headers, body = error_parts(down)
                return json_response(start, status, body, headers)
            log.exception("unhandled error")
            return json_response(start, 500, {"error": "internal_error", "message": "something went wrong"})
        finally:
            path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
            log_access(method, path, answered[0], started)
            observe(SERVICE, method, route_label(path), answered[0], time.perf_counter() - started)
            request_id_var.reset(token)
