"""The wiki host's own copy of the platform session: ``/-/session?code=…`` (``wikibot_shared.handoff``).

The platform, once the visitor is signed in, mints a one-time code bound to this wiki and sends the browser
here; the code is redeemed once (GETDEL), the session it carries is verified like any cookie, and stored in a
host-only cookie (HttpOnly, SameSite=Lax, Secure over https) that lives as long as the session JWT.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from werkzeug.http import dump_cookie

from wikibot_shared.errors import AuthError, InputError
from wikibot_shared.handoff import redeem_handoff
from wikibot_shared.tokens import SESSION_COOKIE

from . import refusals
from .edge import StartResponse
from .services import Services

PATH = "/-/session"


def session_cookie(services: Services, token: str, max_age: int) -> str:
    return dump_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=services.settings.cookie_secure,
        httponly=True,
        samesite="Lax",
    )


def clear_session_cookie(services: Services) -> str:
    return dump_cookie(
        SESSION_COOKIE,
        "",
        max_age=0,
        path="/",
        secure=services.settings.cookie_secure,
        httponly=True,
        samesite="Lax",
    )


def _expires_in(token: str) -> int:
    """Seconds until the (already verified) JWT's ``exp``."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return max(0, int(claims["exp"]) - int(time.time()))


def redeem(
    services: Services, environ: dict[str, Any], start_response: StartResponse, slug: str
) -> Iterable[bytes]:
    code = (parse_qs(environ.get("QUERY_STRING", "")).get("code") or [None])[0]
    try:
        token, path = redeem_handoff(services.redis, code, slug)
        _tenant, principal = services.verifier.authenticate(
            environ.get("HTTP_HOST"), {}, {SESSION_COOKIE: token}
        )
        if principal.method != "session":
            raise AuthError("the sign-in link did not carry a session", code="invalid_handoff")
    except (InputError, AuthError) as exc:
        return refusals.respond(
            start_response,
            environ,
            exc.status,
            code=exc.code,
            heading="This sign-in link does not work",
            message=[exc.message],
            links=[("Sign in again", services.sign_in_url(services.wiki_url(slug)))],
        )
    cookie = session_cookie(services, token, _expires_in(token))
    return refusals.redirect(
        start_response, path, [("Set-Cookie", cookie), ("Referrer-Policy", "no-referrer")]
    )
