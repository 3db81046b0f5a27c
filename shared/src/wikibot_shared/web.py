"""Framework-neutral pieces of every service's HTTP edge.

- ``error_parts``: a ``WikibotError`` → (status, headers, JSON body); services render it in one handler.
- ``read_body``: a request body read up to a limit, refused with the caller's error beyond it.
- ``wants_html``: whether a request's ``Accept`` prefers a page to JSON.
- ``client_address`` / ``scope_address``: the caller's address as Caddy saw it (what per-address limits count by).
- ``RequestContext``: a pure ASGI middleware that adopts Caddy's ``X-Request-Id`` (or makes one), exposes it
  to logging, echoes it on the response with the name of the service that answered, and answers oversized
  request headers with a JSON 431.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from .errors import AuthError, InsufficientScope, RateLimited, Unavailable, WikibotError
from .logs import request_id_var

MAX_HEADER_BYTES = 16 * 1024
access_log = logging.getLogger("wikibot.access")
SERVICE_HEADER = b"x-wikibot-service"  # which service answered: lets operators (and tests) see the routing
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def error_parts(exc: WikibotError) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers: dict[str, str] = {}
    challenge = getattr(exc, "challenge", None)
    if isinstance(exc, AuthError | InsufficientScope) and challenge:
        headers["WWW-Authenticate"] = challenge
    if isinstance(exc, RateLimited | Unavailable):
        headers["Retry-After"] = str(exc.retry_after)
    return exc.status, headers, exc.to_dict()


def client_address(headers: Mapping[str, str], peer: str | None) -> str:
    """The caller's address. Services are reached only through Caddy, which appends the address it saw as the
    last ``X-Forwarded-For`` entry; earlier entries are client-supplied and ignored. Without the header (a
    request that did not come through Caddy): the connection's ``peer``."""
    forwarded = headers.get("x-forwarded-for")
    if forwarded:
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return peer or "unknown"


def scope_address(scope: Scope, headers: Mapping[str, str]) -> str:
    """``client_address`` of an ASGI request."""
    client = scope.get("client")
    return client_address(headers, client[0] if client else None)


async def read_body(receive: Receive, limit: int, too_large: Callable[[int], WikibotError]) -> bytes:
    """The whole request body, refused with ``too_large(limit)`` as soon as it passes ``limit`` bytes (counted as
    it streams in: a lying Content-Length does not help)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def validation_message(errors: Any) -> str:
    """One line from a pydantic error list: where, then what. Only the leading ``body``/``query``/``path`` of the
    location is dropped (a body field may itself be called "query")."""
    first: dict[str, Any] = next(iter(errors), {}) if errors else {}
    loc = [str(p) for p in first.get("loc", ())]
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    what = str(first.get("msg", "invalid input"))
    return f"{'.'.join(loc)}: {what}" if loc else what


def wants_html(accept: str | None) -> bool:
    """A browser's navigation asks for ``text/html``; API clients and fetches ask for JSON or anything."""
    return "text/html" in (accept or "")


def request_id_from(value: str | None) -> str:
    if value and _REQUEST_ID.match(value):
        return value
    return secrets.token_hex(8)


def log_access(method: str, path: str, status: int, started: float) -> None:
    """One structured line per request (the path only: query strings may carry codes or tokens)."""
    access_log.info(
        "%s %s %d",
        method,
        path[:300],
        status,
        extra={
            "method": method,
            "path": path[:300],
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )


def header_bytes(headers: list[tuple[bytes, bytes]]) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers)


class RequestContext:
    def __init__(self, app: ASGIApp, *, service: str, max_header_bytes: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.service = service.encode()
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        incoming = next((v.decode("latin-1") for k, v in raw_headers if k == b"x-request-id"), None)
        rid = request_id_from(incoming)
        token = request_id_var.set(rid)
        extra_headers = [(b"x-request-id", rid.encode()), (SERVICE_HEADER, self.service)]
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), *extra_headers]
            await send(message)

        try:
            if header_bytes(raw_headers) > self.max_header_bytes:
                body = json.dumps(
                    {"error": "headers_too_large", "message": "request headers are too large"}
                ).encode()
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 431,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(body)),
                        ],
                    }
                )
                await send_with_id({"type": "http.response.body", "body": body})
                return
            await self.app(scope, receive, send_with_id)
        finally:
            log_access(scope.get("method", "?"), scope.get("path", ""), status, started)
            request_id_var.reset(token)
