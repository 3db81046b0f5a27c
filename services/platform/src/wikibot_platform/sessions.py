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

from .config import PlatformSettings


def start_session(
    db: Session, settings: PlatformSettings, keystore: KeyStore, did: str, *, method: str, **atproto: Any
) -> tuple[str, str]:
    """Create the session row (in the caller's transaction) and return (sid, session JWT)."""
    sid = secrets.token_urlsafe(24)
    db.add(UserSession(id=sid, did=did, method=method, last_seen_at=datetime.now(UTC), **atproto))
    token = issue_session(
        keystore.current().key,
        issuer=settings.issuer,
        audience=settings.session_audience,
        did=did,
        sid=sid,
        ttl=settings.session_ttl,
    )
    return sid, token


def renew_token(settings: PlatformSettings, keystore: KeyStore, did: str, sid: str) -> str:
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


def set_session_cookie(response: Response, settings: PlatformSettings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl,
        path="/",
        domain=cookie_domain(settings),
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: PlatformSettings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        domain=cookie_domain(settings),
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def end_session(db: Session, sid: str) -> None:
    row = db.get(UserSession, sid)
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
