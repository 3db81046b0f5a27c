"""Rate limits shared by every worker (Redis), by name: see ``config.DEFAULT_RATE_LIMITS``.

``sign_in`` and ``callback`` are keyed by client address, the rest by the signed-in user. Over the limit: 429
with ``Retry-After``. If Redis is unreachable the request is refused (503) rather than let through unlimited.
"""

from __future__ import annotations

import logging

import redis
from fastapi import Request

from wikibot_shared.errors import WikibotError
from wikibot_shared.ratelimit import hit

log = logging.getLogger("wikibot.platform.limits")


class Unavailable(WikibotError):
    status = 503
    code = "unavailable"


def client_address(request: Request) -> str:
    """The caller's address. The platform is reached only through Caddy, which appends the address it saw as
    the last ``X-Forwarded-For`` entry; earlier entries are client-supplied and ignored."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return request.client.host if request.client else "unknown"


def enforce(request: Request, name: str, key: str) -> None:
    limit, window = request.app.state.settings.rate_limits[name]
    try:
        hit(request.app.state.redis, name, key, limit=limit, window=window)
    except redis.RedisError as exc:
        log.error("rate limiter unavailable", extra={"error": str(exc)})
        raise Unavailable("the service is busy; try again shortly") from None


def sign_in(request: Request) -> None:
    """For sign-in routes (``/auth/login``, ``/auth/link``): per client address."""
    enforce(request, "sign_in", client_address(request))


def callback(request: Request) -> None:
    enforce(request, "callback", client_address(request))


def consent(request: Request, did: str) -> None:
    enforce(request, "consent", did)
