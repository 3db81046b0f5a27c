"""Rate limits per credential on the agent plane: ``/mcp``, ``/api/v1``, the change feeds and git over HTTP.

Every authorized request counts as an ``agent_call`` of its credential (the personal access token, the OAuth
grant, the session; an anonymous reader of a public wiki by its address); a request authorized to write counts as
an ``agent_write`` too. Counters live in Redis (``wikibot_shared.ratelimit``), so every worker and replica shares
one budget per credential (limits: ``config.DEFAULT_RATE_LIMITS``, ``MCP_RATE_LIMITS``), and one agent running away does not slow anyone else's. Over a limit: 429 with
``Retry-After`` (on ``/mcp`` a JSON-RPC error whose message says when to retry).

If Redis cannot be reached the request is let through and a warning logged: a limiter outage must not take the
wiki's reads down with it (the platform, whose limits guard sign-in, refuses instead).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis

from wikibot_shared import acl
from wikibot_shared.ratelimit import Limits, hit_all_reading
from wikibot_shared.verify import Access

WARN_EVERY_S = 10.0

log = logging.getLogger("wikibot.mcp.limits")


class CredentialLimits:
    def __init__(self, client: redis.Redis, limits: Limits) -> None:
        self.client = client
        self.calls = {"agent_call": limits["agent_call"]}
        self.writes = {name: limits[name] for name in ("agent_call", "agent_write")}
        self._warned = 0.0

    def charge(self, access: Access, action: acl.Action, address: str, *, read: str | None = None) -> Read:
        """Count one request of ``access``'s credential for ``action``; ``RateLimited`` past a limit. With
        ``read``, that Redis key's value got in the same round trip (``Read.value``; ``Read.reached`` False if
        Redis could not be reached)."""
        principal = access.principal
        if principal.credential_id:
            key = f"{principal.method}:{principal.credential_id}"
        else:
            key = f"address:{address}"
        try:
            _left, value = hit_all_reading(
                self.client, key, self.writes if action is acl.Action.WRITE else self.calls, read
            )
        except redis.RedisError as exc:
            now = time.monotonic()
            if now - self._warned >= WARN_EVERY_S:
                self._warned = now
                log.warning(
                    "rate limiter unavailable; letting requests through", extra={"error": type(exc).__name__}
                )
            return Read(False, None)
        return Read(True, value)


@dataclass(frozen=True)
class Read:
    reached: bool
    value: Any
