"""Handing a platform session to a wiki host.

Browsers do not share a ``Domain=localhost`` cookie with ``notes.localhost`` (Chromium keeps it host-only), and an
operator may serve wikis on hosts the platform's cookie does not cover. So a signed-in user who arrives at a private
wiki without a session there is sent to the platform's sign-in, which (already signed in) mints a one-time code
and redirects to ``https://{slug}.{DOMAIN}/-/session?code=…``; the wiki host redeems the code once, sets its own
host-only cookie holding the same session JWT, and redirects to the page. The code lives 60 s in Redis, is bound
to one wiki, and is deleted on first use (GETDEL), so a leaked or replayed code is worthless.
"""

from __future__ import annotations

import json
import secrets

import redis

from .errors import AuthError, InputError

TTL = 60
_KEY = "wikibot:handoff:"


def safe_path(path: str | None) -> str:
    """A local path to land on: must start with one '/', never a scheme or '//' (open redirect)."""
    if (
        not path
        or not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or any(c < " " for c in path)
    ):
        return "/"
    return path


def create_handoff(client: redis.Redis, *, token: str, slug: str, path: str) -> str:
    code = secrets.token_urlsafe(32)
    client.set(_KEY + code, json.dumps({"token": token, "slug": slug, "path": safe_path(path)}), ex=TTL)
    return code


def redeem_handoff(client: redis.Redis, code: str | None, slug: str) -> tuple[str, str]:
    """The session JWT and the path to land on; refused if unknown, used, expired or for another wiki."""
    if not code or len(code) > 100:
        raise InputError("missing or malformed sign-in code", code="invalid_handoff")
    raw = client.getdel(_KEY + code)
    if raw is None:
        raise AuthError(
            "this sign-in link has expired or was already used; sign in again", code="invalid_handoff"
        )
    data = json.loads(raw)
    if data.get("slug") != slug:
        raise AuthError("this sign-in link is for another wiki", code="invalid_handoff")
    return str(data["token"]), safe_path(data.get("path"))
