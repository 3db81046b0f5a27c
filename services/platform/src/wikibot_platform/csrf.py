"""CSRF tokens for cookie-authenticated forms: an HMAC of the session id, so nothing is stored.

The session cookie is SameSite=Lax, but it is shared with every ``{slug}.{DOMAIN}`` (same site), so a form on
a wiki host could still post to the platform: every unsafe form carries ``csrf_token`` and the handler checks it.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from wikibot_shared.errors import Forbidden

FIELD = "csrf_token"


def _key(request: Request) -> bytes:
    key: bytes | None = getattr(request.app.state, "csrf_key", None)
    if key is None:
        secret = request.app.state.keystore.secret()
        key = hmac.new(secret, b"wikibot csrf v1", hashlib.sha256).digest()
        request.app.state.csrf_key = key
    return key


def token_for(request: Request, sid: str) -> str:
    return hmac.new(_key(request), sid.encode(), hashlib.sha256).hexdigest()


def check(request: Request, sid: str, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(token_for(request, sid), submitted):
        raise Forbidden(
            "this form has expired or did not come from this site; reload the page and try again",
            code="csrf_failed",
        )
