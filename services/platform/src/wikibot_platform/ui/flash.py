"""One-time notices across a redirect, kept in Redis under the session id (never in a URL or a cookie)."""

from __future__ import annotations

import json
from typing import Any

import redis

from wikibot_shared.verify import Principal

TTL = 300
_KEY = "wikibot:flash:"


def push(client: redis.Redis, user: Principal, **data: Any) -> None:
    client.set(_KEY + str(user.credential_id), json.dumps(data), ex=TTL)


def pop(client: redis.Redis, user: Principal | None) -> dict[str, Any]:
    if user is None or not user.credential_id:
        return {}
    raw = client.getdel(_KEY + user.credential_id)
    return json.loads(raw) if raw else {}
