"""Personal access tokens: created (the secret is shown once), listed with last use, revoked.

A collaborator makes tokens for themselves, with scopes their role allows (``wiki:write`` needs a role that can
write); owners also see and revoke everyone's tokens on the wiki. Only the SHA-256 is stored.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wikibot_shared import acl
from wikibot_shared.acl import Action
from wikibot_shared.errors import InputError, NotFound
from wikibot_shared.models import AccessToken, User
from wikibot_shared.tokens import PAT_PREFIX, new_opaque
from wikibot_shared.verify import Principal

from .wikis import access, did_of, member_access

log = logging.getLogger("wikibot.platform.tokens")
MAX_NAME = 100
MAX_DAYS = 3650


@dataclass(frozen=True)
class TokenView:
    id: str
    name: str
    scopes: list[str]
    owner_did: str
    owner_handle: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


def _view(row: AccessToken, handle: str | None) -> TokenView:
    return TokenView(
        id=row.id,
        name=row.name,
        scopes=row.scopes.split(),
        owner_did=row.owner_did,
        owner_handle=handle,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
    )


def check_scopes(scopes: list[str] | str | None) -> list[str]:
    if scopes is None:
        return [acl.SCOPE_READ]
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    unknown = [s for s in items if s not in acl.WIKI_SCOPES]
    if unknown or not items:
        raise InputError(
            f"scopes must be some of {', '.join(acl.WIKI_SCOPES)} (got {' '.join(unknown) or 'none'})",
            code="invalid_scope",
        )
    return [s for s in acl.WIKI_SCOPES if s in items]


def list_tokens(db: Session, slug: str, principal: Principal) -> list[TokenView]:
    """Live tokens: all of them for owners, one's own for everyone else."""
    found = member_access(db, slug, principal)
    stmt = (
        select(AccessToken, User.handle)
        .join(User, User.did == AccessToken.owner_did)
        .where(AccessToken.wiki_slug == slug, AccessToken.revoked_at.is_(None))
        .order_by(AccessToken.created_at.desc())
    )
    if not found.can(Action.MANAGE):
        stmt = stmt.where(AccessToken.owner_did == did_of(principal))
    return [_view(row, handle) for row, handle in db.execute(stmt).all()]


def create_token(
    db: Session,
    slug: str,
    principal: Principal,
    *,
    name: str,
    scopes: list[str] | str | None,
    expires_in_days: int | None = None,
) -> tuple[TokenView, str]:
    """Returns the token's view and its secret; the secret is never stored or shown again."""
    member_access(db, slug, principal)
    wanted = check_scopes(scopes)
    if acl.SCOPE_WRITE in wanted:
        access(db, slug, principal, Action.WRITE)
    clean = " ".join(name.split())
    if not clean or len(clean) > MAX_NAME:
        raise InputError(f"name: 1 to {MAX_NAME} characters", code="invalid_name")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        raise InputError(f"expires_in_days: 1 to {MAX_DAYS}", code="invalid_expiry")
    secret, digest = new_opaque(PAT_PREFIX)
    now = datetime.now(UTC)
    row = AccessToken(
        id=secrets.token_hex(8),
        token_hash=digest,
        wiki_slug=slug,
        owner_did=did_of(principal),
        name=clean,
        scopes=" ".join(wanted),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.add(row)
    db.commit()
    log.info("personal access token created", extra={"wiki": slug, "token_id": row.id, "by": principal.did})
    return _view(row, principal.handle), secret


def revoke_token(db: Session, slug: str, principal: Principal, token_id: str) -> None:
    """One's own token, or (owners) anyone's on the wiki."""
    found = member_access(db, slug, principal)
    row = db.get(AccessToken, token_id)
    if row is None or row.wiki_slug != slug or row.revoked_at is not None:
        raise NotFound(f"no live token {token_id!r} on '{slug}'", code="unknown_token")
    if row.owner_did != principal.did and not found.can(Action.MANAGE):
        access(db, slug, principal, Action.MANAGE)  # raises: only owners revoke others' tokens
    row.revoked_at = datetime.now(UTC)
    db.commit()
    log.info("personal access token revoked", extra={"wiki": slug, "token_id": token_id, "by": principal.did})
