"""Grants and their token families.

An ``oauth_grants`` row is what one user allowed one client on one wiki; every access token names it (``gid``)
and every refresh token belongs to it. Revoking the grant ends the whole family at once: the shared verifier
checks the grant on each request (401 from then on) and the token endpoint refuses its refresh tokens. The
connected-apps page of /app revokes the same way, by setting ``revoked_at``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from wikibot_shared.models import OAuthGrant, OAuthRefreshToken
from wikibot_shared.pathrules import stored


def create_grant(
    db: Session,
    *,
    client_id: str,
    did: str,
    wiki: str,
    scope: str,
    write_paths: tuple[str, ...] | None = None,
) -> OAuthGrant:
    grant = OAuthGrant(
        id=secrets.token_urlsafe(24),
        client_id=client_id,
        user_did=did,
        wiki_slug=wiki,
        scopes=scope,
        write_paths=stored(write_paths),
    )
    db.add(grant)
    return grant


def note_refusal(db: Session, grant_id: str, reason: str) -> None:
    """Why the grant's client was last refused (the connected-apps page shows it); ``verify`` notes the
    refusals at the wiki the same way."""
    db.execute(
        update(OAuthGrant)
        .where(OAuthGrant.id == grant_id)
        .values(last_refusal_at=datetime.now(UTC), last_refusal=reason[:300])
    )


def revoke_family(db: Session, grant_id: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    db.execute(
        update(OAuthGrant)
        .where(OAuthGrant.id == grant_id, OAuthGrant.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.execute(
        update(OAuthRefreshToken)
        .where(OAuthRefreshToken.grant_id == grant_id, OAuthRefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
