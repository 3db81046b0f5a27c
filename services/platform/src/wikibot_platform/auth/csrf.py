"""CSRF protection for cookie-authenticated unsafe requests (API and HTML forms).

Two checks, both required when the session came from the cookie (a request that carries its credential in
``Authorization`` cannot be forged by another site, so it needs neither):

1. **Fetch metadata / Origin.** A browser names where a request came from. ``Sec-Fetch-Site`` must be
   ``same-origin`` (or ``none``: typed by the user) and ``Origin``, when sent, must be the platform's own origin.
   ``same-site`` is refused too: wiki hosts are sibling subdomains that serve user-written pages.
2. **A session-bound token.** ``HMAC(key, sid)``: a hidden ``csrf_token`` field in every form, or the
   ``X-CSRF-Token`` header for scripts (``GET /api/me`` returns it). Not a double-submit cookie, because a sibling
   subdomain could plant a cookie on ``.{DOMAIN}``; the token cannot be computed without the server's key and
   dies with the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request

from wikibot_shared.errors import Forbidden
from wikibot_shared.verify import Principal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADER = "x-csrf-token"
FIELD = "csrf_token"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _key(request: Request) -> bytes:
    key: bytes | None = getattr(request.app.state, "csrf_key", None)
    if key is None:
        secret = request.app.state.keystore.secret()
        key = hmac.new(secret, b"wikibot csrf v1", hashlib.sha256).digest()
        request.app.state.csrf_key = key
    return key


def token_for(request: Request, principal: Principal | None) -> str | None:
    if principal is None or principal.method != "session" or not principal.credential_id:
        return None
    mac = hmac.new(_key(request), principal.credential_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def uses_cookie(request: Request) -> bool:
    return not request.headers.get("authorization")


async def verify(request: Request, principal: Principal) -> None:
    """Refuse a forged cookie-authenticated unsafe request (403 ``csrf_failed``)."""
    if request.method in SAFE_METHODS or not uses_cookie(request):
        return
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise Forbidden(f"cross-site request refused (Sec-Fetch-Site: {site})", code="csrf_failed")
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") != request.app.state.settings.platform_url:
        raise Forbidden("cross-origin request refused (Origin does not match)", code="csrf_failed")
    sent = request.headers.get(HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(_FORM_TYPES):
        value = (await request.form()).get(FIELD)
        sent = value if isinstance(value, str) else None
    expected = token_for(request, principal)
    if not sent or expected is None or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "missing or wrong CSRF token: reload the page and try again "
            f"(scripts: send the {HEADER} header from GET /api/me, or use Authorization: Bearer)",
            code="csrf_failed",
        )
