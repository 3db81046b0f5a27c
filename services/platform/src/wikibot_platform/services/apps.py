"""Connected apps: the OAuth grants MCP clients hold on a wiki; revoking one ends its tokens at once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wikibot_shared.acl import SCOPE_WRITE, Action
from wikibot_shared.errors import InputError, NotFound
from wikibot_shared.models import OAuthClient, OAuthGrant, User
from wikibot_shared.pathrules import loaded, parse_prefixes, stored
from wikibot_shared.verify import Principal

from ..oauth.families import note_refusal, revoke_family
from ..oauth.scopes import OFFLINE_ACCESS
from ..schemas import AppPublic, AppUpdate, ConnectionStep
from .proposals import review_setting
from .wikis import access, did_of, member_access

log = logging.getLogger("wikibot.platform.apps")


ENDED_SHOWN = timedelta(days=30)  # how long a disconnected app stays on the page, with why


def list_apps(db: Session, slug: str, principal: Principal) -> list[AppPublic]:
    """Grants with how far each connection got: all of them for owners, one's own for everyone else; those
    ended in the last 30 days too, so a person can see why an agent stopped working."""
    found = member_access(db, slug, principal)
    since = datetime.now(UTC) - ENDED_SHOWN
    stmt = (
        select(
            OAuthGrant,
            OAuthClient.client_name,
            OAuthClient.redirect_uris,
            OAuthClient.created_at,
            User.handle,
        )
        .join(OAuthClient, OAuthClient.client_id == OAuthGrant.client_id)
        .join(User, User.did == OAuthGrant.user_did)
        .where(
            OAuthGrant.wiki_slug == slug, or_(OAuthGrant.revoked_at.is_(None), OAuthGrant.revoked_at > since)
        )
        .order_by(OAuthGrant.created_at.desc())
    )
    if not found.can(Action.MANAGE):
        stmt = stmt.where(OAuthGrant.user_did == did_of(principal))
    return [_view(*row) for row in db.execute(stmt).all()]


def _view(
    grant: OAuthGrant, name: str | None, redirects: list[str], registered: datetime, handle: str | None
) -> AppPublic:
    status: Literal["connected", "waiting", "ended"]
    if grant.revoked_at is not None:
        status = "ended"
    elif grant.token_issued_at is None:
        status = "waiting"
    else:
        status = "connected"
    steps = [
        ConnectionStep(step="registered", at=registered),
        ConnectionStep(step="consented", at=grant.created_at, detail=grant.scopes),
        ConnectionStep(step="token_issued", at=grant.token_issued_at),
        ConnectionStep(step="first_call", at=grant.first_used_at),
        ConnectionStep(step="last_call", at=grant.last_used_at),
        ConnectionStep(step="last_refresh", at=grant.last_refreshed_at),
        ConnectionStep(step="last_refusal", at=grant.last_refusal_at, detail=grant.last_refusal),
    ]
    return AppPublic(
        id=grant.id,
        client_id=grant.client_id,
        client_name=name or grant.client_id,
        client_host=urlsplit(redirects[0]).hostname if redirects else None,
        user_did=grant.user_did,
        user_handle=handle,
        scopes=grant.scopes.split(),
        created_at=grant.created_at,
        last_used_at=grant.last_used_at,
        status=status,
        stays_connected=OFFLINE_ACCESS in grant.scopes.split(),
        ended_at=grant.revoked_at,
        steps=steps,
        paths=stored(loaded(grant.write_paths)),
        review=grant.review or "wiki",  # type: ignore[arg-type]
    )


def _live_grant(db: Session, slug: str, principal: Principal, grant_id: str) -> OAuthGrant:
    """A connected app of the wiki that ``principal`` may change: their own, or (owners) anyone's."""
    found = member_access(db, slug, principal)
    grant = db.get(OAuthGrant, grant_id)
    if grant is None or grant.wiki_slug != slug or grant.revoked_at is not None:
        raise NotFound(f"no connected app {grant_id!r} on '{slug}'", code="unknown_app")
    if grant.user_did != principal.did and not found.can(Action.MANAGE):
        access(db, slug, principal, Action.MANAGE)  # raises: only owners change others' apps
    return grant


def set_app_paths(
    db: Session, slug: str, principal: Principal, grant_id: str, change: AppUpdate
) -> AppPublic:
    """Limit (or, with ``paths`` null, stop limiting) where a connected app writes, and whether its writes are
    reviewed (``review``); on its next request, no new consent (narrowing or widening within what the person
    granted and their role allows)."""
    grant = _live_grant(db, slug, principal, grant_id)
    if "paths" in change.model_fields_set:
        paths = parse_prefixes(change.paths)
        if paths is not None and SCOPE_WRITE not in grant.scopes.split():
            raise InputError(
                "paths limit where an app may write, and this app was granted reading only",
                code="invalid_path",
            )
        grant.write_paths = stored(paths)
    if change.review is not None:
        grant.review = review_setting(member_access(db, slug, principal), change.review)
    db.commit()
    log.info("connected app paths changed", extra={"wiki": slug, "grant": grant_id, "by": principal.did})
    (view,) = [a for a in list_apps(db, slug, principal) if a.id == grant_id]
    return view


def revoke_app(db: Session, slug: str, principal: Principal, grant_id: str) -> None:
    _live_grant(db, slug, principal, grant_id)
    note_refusal(db, grant_id, f"disconnected in Wikibot by @{principal.handle or principal.did}")
    revoke_family(db, grant_id)  # the grant and every refresh token of it, as the token endpoint does
    db.commit()
    log.info("connected app revoked", extra={"wiki": slug, "grant": grant_id, "by": principal.did})
