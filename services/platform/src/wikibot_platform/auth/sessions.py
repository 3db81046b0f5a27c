"""Platform sessions: start one (after ATProto sign-in or a login link), put it in the cookie, end it.

A session is a row in ``sessions`` plus a short JWT naming it (``sid``); the verifier checks the row on every
request, so ending a session (logout, account deletion) ends every copy of the cookie at once, wiki hosts included.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import Response
from sqlalchemy.orm import Session

from wikibot_shared.keys import KeyStore
from wikibot_shared.models import UserSession
from wikibot_shared.tokens import SESSION_COOKIE, issue_session

from ..config import PlatformSettings


def start_session(
    db: Session, settings: PlatformSettings, keystore: KeyStore, did: str, *, method: str, **atproto: Any
) -> tuple[str, str]:
    """Create the session row (in the caller's transaction) and return (sid, session JWT)."""
    sid = secrets.token_urlsafe(24)
    db.add(UserSession(id=sid, did=did, method=method, last_seen_at=datetime.now(UTC), **atproto))
    return sid, renew_token(settings, keystore, did, sid)


def renew_token(settings: PlatformSettings, keystore: KeyStore, did: str, sid: str) -> str:
    """A fresh session JWT for the session ``sid`` (signed with the current key, full lifetime)."""
    return issue_session(
        keystore.current().key,
        issuer=settings.issuer,
        audience=settings.session_audience,
        did=did,
        sid=sid,
        ttl=settings.session_ttl,
    )


def cookie_domain(settings: PlatformSettings) -> str | None:
    """``.{DOMAIN}`` so wiki hosts share the cookie; host-only on localhost, where browsers refuse the attribute
    (wiki hosts then get the session through ``wikibot_shared.handoff``)."""
    return None if settings.is_local_domain else settings.domain


def _cookie_attributes(settings: PlatformSettings) -> dict[str, Any]:
    """One set for setting and clearing: a browser replaces a cookie only by one of the same name, domain and
    path (RFC 6265 §5.3), so a clear that differed would leave the session cookie in place."""
    return {
        "path": "/",
        "domain": cookie_domain(settings),
        "secure": settings.cookie_secure,
        "httponly": True,
        "samesite": "lax",
    }


def set_session_cookie(response: Response, settings: PlatformSettings, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_ttl, **_cookie_attributes(settings))


def clear_session_cookie(response: Response, settings: PlatformSettings) -> None:
    response.delete_cookie(SESSION_COOKIE, **_cookie_attributes(settings))


def end_session(db: Session, sid: str) -> None:
    row = db.get(UserSession, sid)
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
