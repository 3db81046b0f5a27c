"""Personal access tokens: created (the secret is shown once), listed with last use, revoked.

A collaborator makes tokens for themselves, with scopes their role allows (``wiki:write`` needs a role that can
write), optionally writing only under some folders (``paths``, changeable later); owners also see, limit and
revoke everyone's tokens on the wiki. Only the SHA-256 is stored.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from wikibot_shared import acl
from wikibot_shared.acl import Action
from wikibot_shared.errors import InputError, NotFound
from wikibot_shared.models import AccessToken, User
from wikibot_shared.pathrules import loaded, parse_prefixes, stored
from wikibot_shared.tokens import PAT_PREFIX, new_opaque
from wikibot_shared.verify import Principal

from .. import limits
from ..config import PlatformSettings
from ..schemas import TokenCreate, TokenCreated, TokenPublic, TokenUpdate
from .proposals import review_setting
from .wikis import access, did_of, member_access

log = logging.getLogger("wikibot.platform.tokens")
MAX_NAME = 100
MAX_DAYS = 3650


def _public(row: AccessToken, handle: str | None) -> TokenPublic:
    return TokenPublic(
        id=row.id,
        name=row.name,
        scopes=row.scopes.split(),
        owner_did=row.owner_did,
        owner_handle=handle,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        paths=stored(loaded(row.write_paths)),
        review=row.review or "wiki",  # type: ignore[arg-type]
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


def list_tokens(db: Session, slug: str, principal: Principal) -> list[TokenPublic]:
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
    return [_public(row, handle) for row, handle in db.execute(stmt).all()]


def create_token(
    db: Session,
    settings: PlatformSettings,
    client: redis.Redis,
    slug: str,
    principal: Principal,
    new: TokenCreate,
) -> TokenCreated:
    """The token with its secret, which is never stored or shown again; counts against ``token_create``."""
    limits.charge(settings, client, "token_create", did_of(principal))
    member_access(db, slug, principal)
    wanted = check_scopes(list(new.scopes))
    if acl.SCOPE_WRITE in wanted:
        access(db, slug, principal, Action.WRITE)
    paths = _write_paths(new.paths, wanted)
    clean = " ".join(new.name.split())
    if not clean or len(clean) > MAX_NAME:
        raise InputError(f"name: 1 to {MAX_NAME} characters", code="invalid_name")
    days = new.expires_in_days
    if days is not None and not 1 <= days <= MAX_DAYS:
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
        expires_at=now + timedelta(days=days) if days else None,
        write_paths=stored(paths),
    )
    db.add(row)
    db.commit()
    log.info("personal access token created", extra={"wiki": slug, "token_id": row.id, "by": principal.did})
    return TokenCreated(**dict(_public(row, principal.handle)), token=secret)


def _write_paths(given: list[str] | None, scopes: list[str]) -> tuple[str, ...] | None:
    paths = parse_prefixes(given)
    if paths is not None and acl.SCOPE_WRITE not in scopes:
        raise InputError(
            "paths limit where a token may write, and this token cannot write: give it wiki:write, or no paths",
            code="invalid_path",
        )
    return paths


def set_token_paths(
    db: Session, slug: str, principal: Principal, token_id: str, change: TokenUpdate
) -> TokenPublic:
    """Limit (or, with ``paths`` null, stop limiting) where a token writes, and whether its writes are reviewed
    (``review``): one's own token, or (owners) anyone's. Takes effect on its next request."""
    found = member_access(db, slug, principal)
    row = _live(db, slug, token_id)
    if row.owner_did != principal.did and not found.can(Action.MANAGE):
        access(db, slug, principal, Action.MANAGE)  # raises: only owners change others' tokens
    if "paths" in change.model_fields_set:
        row.write_paths = stored(_write_paths(change.paths, row.scopes.split()))
    if change.review is not None:
        row.review = review_setting(found, change.review)
    db.commit()
    log.info("personal access token paths changed", extra={"wiki": slug, "token_id": token_id})
    owner = db.get(User, row.owner_did)
    return _public(row, owner.handle if owner else None)


def _live(db: Session, slug: str, token_id: str) -> AccessToken:
    row = db.get(AccessToken, token_id)
    if row is None or row.wiki_slug != slug or row.revoked_at is not None:
        raise NotFound(f"no live token {token_id!r} on '{slug}'", code="unknown_token")
    return row


def revoke_token(db: Session, slug: str, principal: Principal, token_id: str) -> None:
    """One's own token, or (owners) anyone's on the wiki."""
    found = member_access(db, slug, principal)
    row = _live(db, slug, token_id)
    if row.owner_did != principal.did and not found.can(Action.MANAGE):
        access(db, slug, principal, Action.MANAGE)  # raises: only owners revoke others' tokens
    row.revoked_at = datetime.now(UTC)
    db.commit()
    log.info("personal access token revoked", extra={"wiki": slug, "token_id": token_id, "by": principal.did})
