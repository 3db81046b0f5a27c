"""Rate limits shared by every worker (Redis), by name: see ``config.DEFAULT_RATE_LIMITS``.

``sign_in`` and ``callback`` are keyed by client address, the rest by the signed-in user. Over the limit: 429
with ``Retry-After``. If Redis is unreachable the request is refused (503) rather than let through unlimited.
Routes call ``enforce`` (or a named helper); the service layer charges what an action costs itself (``charge``:
``wiki_create``, ``token_create``), so the API and the UI cannot count differently.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis

from wikibot_shared import outage, web
from wikibot_shared.errors import Unavailable
from wikibot_shared.ratelimit import hit

from .config import PlatformSettings

if TYPE_CHECKING:  # the service layer calls ``charge`` without importing the web framework
    from fastapi import Request

log = logging.getLogger("wikibot.platform.limits")


def client_address(request: Request) -> str:
    """The caller's address as Caddy saw it (``wikibot_shared.web.client_address``)."""
    return web.client_address(request.headers, request.client.host if request.client else None)


def charge(settings: PlatformSettings, client: redis.Redis, name: str, key: str) -> None:
    """Count one use of ``name`` by ``key``; raise ``RateLimited`` past the limit, ``Unavailable`` without Redis."""
    limit, window = settings.rate_limits[name]
    try:
        hit(client, name, key, limit=limit, window=window)
    except redis.RedisError as exc:
        log.error("rate limiter unavailable", extra={"error": str(exc)})
        raise outage.unavailable(exc) or Unavailable("the service is busy; try again shortly") from None


def enforce(request: Request, name: str, key: str) -> None:
    charge(request.app.state.settings, request.app.state.redis, name, key)


def sign_in(request: Request) -> None:
    """For sign-in routes (``/auth/login``, ``/auth/link``): per client address."""
    enforce(request, "sign_in", client_address(request))


def callback(request: Request) -> None:
    enforce(request, "callback", client_address(request))


def consent(request: Request, did: str) -> None:
    enforce(request, "consent", did)
