"""What the consent page offers: the wiki(s) a signed-in user could connect, and the scopes they may grant.

Decided from the live ACL at page time and again when the form comes back, so a form edited to ask for more
than the user's role allows is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wikibot_shared import acl
from wikibot_shared.errors import NotFound
from wikibot_shared.models import Acl, Wiki

from .models import Client
from .scopes import DESCRIPTIONS, grantable, withheld


@dataclass(frozen=True)
class WikiChoice:
    slug: str
    display_name: str
    role: str | None
    scopes: list[str]  # what this user may grant on it for this request
    withheld: list[str]


@dataclass(frozen=True)
class ScopeLine:
    name: str
    description: str


def choice_for(db: Session, slug: str, did: str, requested: list[str]) -> WikiChoice | None:
    """None when the wiki is gone or the user may grant nothing on it (a stranger to a private wiki)."""
    try:
        access = acl.wiki_access(db, slug, did)
    except NotFound:
        return None
    scopes = grantable(access, requested)
    if not scopes:
        return None
    role = access.role.value if access.role else None
    return WikiChoice(access.slug, access.display_name, role, scopes, withheld(requested, scopes))


def choices(db: Session, did: str, requested: list[str]) -> list[WikiChoice]:
    """Every wiki the user has a role on and could connect, for a request that named none."""
    slugs = db.execute(
        select(Wiki.slug)
        .outerjoin(Acl, (Acl.wiki_slug == Wiki.slug) & (Acl.grantee_did == did))
        .where(or_(Wiki.owner_did == did, Acl.grantee_did == did))
        .order_by(Wiki.slug)
    ).scalars()
    found = [choice_for(db, slug, did, requested) for slug in slugs]
    return [c for c in found if c is not None]


def scope_lines(scopes: list[str]) -> list[ScopeLine]:
    return [ScopeLine(s, DESCRIPTIONS.get(s, s)) for s in scopes]


def redirect_host(redirect_uri: str | None) -> str:
    if not redirect_uri:
        return ""
    parts = urlsplit(redirect_uri)
    return parts.netloc or redirect_uri


def client_label(client: Client) -> str:
    """How the page names the client: its name, and where it comes from when it has a metadata document."""
    if client.is_metadata_document:
        host = urlsplit(client.client_id).hostname or client.client_id
        return f"{client.client_name} ({host})" if client.client_name else host
    return client.display_name
