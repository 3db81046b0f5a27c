"""OAuth 2.0 Protected Resource Metadata (RFC 9728) for each wiki's MCP endpoint.

Served at ``/.well-known/oauth-protected-resource`` and, per RFC 9728 §3.1 (the well-known suffix inserted
before the resource's path), at ``/.well-known/oauth-protected-resource/mcp``. The 401 challenges point here
(``resource_metadata``, RFC 9728 §5.1).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from wikibot_shared import acl
from wikibot_shared.errors import NotFound
from wikibot_shared.models import Wiki
from wikibot_shared.tenant import tenant_from_host

router = APIRouter(include_in_schema=False)


def metadata(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    tenant = tenant_from_host(request.headers.get("host"), settings.domain)
    if tenant.slug is None:
        raise NotFound("protected resource metadata is served on wiki hosts", code="unknown_wiki")
    with request.app.state.db() as db:
        name = db.execute(select(Wiki.display_name).where(Wiki.slug == tenant.slug)).scalar()
    if name is None:
        raise NotFound(f"there is no wiki '{tenant.slug}'", code="unknown_wiki")
    return {
        "resource": settings.mcp_resource(tenant.slug),  # RFC 9728 §2: the resource identifier
        "authorization_servers": [settings.issuer],  # RFC 9728 §2
        "scopes_supported": list(acl.WIKI_SCOPES),
        "bearer_methods_supported": ["header"],  # RFC 9728 §2: no query or body tokens
        "resource_name": f"{name} (Wikibot)",
        "resource_documentation": f"{settings.wiki_url(tenant.slug)}/api/v1/docs",
    }


@router.get("/.well-known/oauth-protected-resource")
@router.get("/.well-known/oauth-protected-resource/mcp")
def protected_resource(request: Request) -> JSONResponse:
    return JSONResponse(
        metadata(request),
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )
