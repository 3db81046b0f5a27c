"""RFC 8707 resource indicators: every token is bound to exactly one wiki's MCP endpoint.

A client names the wiki by its MCP URL ``{wiki_url}/mcp``; the URL with a trailing slash, and the wiki's bare
origin, are accepted too. Anything else — another host, a path we do not serve, a wiki that does not exist,
several resources at once — is ``invalid_target``.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared.config import CommonSettings
from wikibot_shared.models import Wiki
from wikibot_shared.tenant import slug_problem

from .errors import InvalidTargetError

ACCEPTED_PATHS = ("", "/", "/mcp", "/mcp/")


def slug_from_resource(settings: CommonSettings, resource: str) -> str:
    """The wiki a resource indicator names (its existence is not checked here)."""
    try:
        parts = urlsplit(resource)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise InvalidTargetError("resource is not a valid URI") from None
    if not parts.scheme or not host:
        raise InvalidTargetError("resource must be an absolute URI")  # RFC 8707 §2
    if parts.fragment or "#" in resource:
        raise InvalidTargetError("resource must not include a fragment")  # RFC 8707 §2
    suffix = "." + settings.domain
    label = host[: -len(suffix)] if host.endswith(suffix) else ""
    if not label or "." in label or slug_problem(label):
        raise InvalidTargetError("resource is not one of this server's wikis")
    netloc = host if port is None else f"{host}:{port}"
    if f"{parts.scheme.lower()}://{netloc}" != settings.wiki_url(label) or parts.username or parts.password:
        raise InvalidTargetError("resource is not one of this server's wikis")
    if parts.query or parts.path not in ACCEPTED_PATHS:
        raise InvalidTargetError(f"resource must be the wiki's MCP URL, {settings.mcp_resource(label)}")
    return label


def requested_wiki(
    settings: CommonSettings, db: sessionmaker[Session], resources: Sequence[str]
) -> str | None:
    """The one existing wiki the request's ``resource`` parameters name, or None when there are none."""
    values = [r for r in resources if r]
    if not values:
        return None
    slugs = {slug_from_resource(settings, r) for r in values}
    if len(slugs) > 1:
        raise InvalidTargetError("a token is bound to one wiki: name one resource")
    (slug,) = slugs
    with db() as session:
        exists = session.execute(select(Wiki.slug).where(Wiki.slug == slug)).first() is not None
    if not exists:
        raise InvalidTargetError(f"there is no wiki at {settings.mcp_resource(slug)}")
    return slug


def check_same_wiki(settings: CommonSettings, resources: Sequence[str], wiki: str) -> None:
    """RFC 8707 §2.2: at the token endpoint, a resource must be one the grant covers."""
    for resource in resources:
        if resource and slug_from_resource(settings, resource) != wiki:
            raise InvalidTargetError(f"this grant covers {settings.mcp_resource(wiki)} only")
