"""Connected apps: the OAuth grants MCP clients hold on a wiki; revoking one ends its tokens at once."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from wikibot_shared.acl import Action
from wikibot_shared.errors import NotFound
from wikibot_shared.models import OAuthClient, OAuthGrant, User
from wikibot_shared.verify import Principal

from ..oauth.families import revoke_family
from ..schemas import AppPublic
from .wikis import access, did_of, member_access

log = logging.getLogger("wikibot.platform.apps")


def list_apps(db: Session, slug: str, principal: Principal) -> list[AppPublic]:
    """Live grants: all of them for owners, one's own for everyone else."""
    found = member_access(db, slug, principal)
    stmt = (
        select(OAuthGrant, OAuthClient.client_name, OAuthClient.redirect_uris, User.handle)
        .join(OAuthClient, OAuthClient.client_id == OAuthGrant.client_id)
        .join(User, User.did == OAuthGrant.user_did)
        .where(OAuthGrant.wiki_slug == slug, OAuthGrant.revoked_at.is_(None))
        .order_by(OAuthGrant.created_at.desc())
    )
    if not found.can(Action.MANAGE):
        stmt = stmt.where(OAuthGrant.user_did == did_of(principal))
    views = []
    for grant, name, redirects, handle in db.execute(stmt).all():
        host = urlsplit(redirects[0]).hostname if redirects else None
        views.append(
            AppPublic(
                id=grant.id,
                client_id=grant.client_id,
                client_name=name or grant.client_id,
                client_host=host,
                user_did=grant.user_did,
                user_handle=handle,
                scopes=grant.scopes.split(),
                created_at=grant.created_at,
                last_used_at=grant.last_used_at,
            )
        )
    return views


def revoke_app(db: Session, slug: str, principal: Principal, grant_id: str) -> None:
    found = member_access(db, slug, principal)
    grant = db.get(OAuthGrant, grant_id)
    if grant is None or grant.wiki_slug != slug or grant.revoked_at is not None:
        raise NotFound(f"no connected app {grant_id!r} on '{slug}'", code="unknown_app")
    if grant.user_did != principal.did and not found.can(Action.MANAGE):
        access(db, slug, principal, Action.MANAGE)
    revoke_family(db, grant_id)  # the grant and every refresh token of it, as the token endpoint does
    db.commit()
    log.info("connected app revoked", extra={"wiki": slug, "grant": grant_id, "by": principal.did})
