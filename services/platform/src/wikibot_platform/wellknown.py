"""Public keys and the on-demand TLS gate."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from wikibot_shared.errors import WikibotError
from wikibot_shared.models import Wiki
from wikibot_shared.tenant import tenant_from_host

router = APIRouter()


@router.get("/.well-known/jwks.json", tags=["keys"])
def jwks(request: Request) -> JSONResponse:
    """Public keys that verify session and access tokens (old keys stay until their tokens expire)."""
    return JSONResponse(request.app.state.keystore.jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/auth/tls-ask", include_in_schema=False)
def tls_ask(request: Request, domain: str = Query(..., max_length=253)) -> Response:
    """Caddy's on-demand TLS ``ask``: 200 only for the platform's own name and existing wikis."""
    try:
        tenant = tenant_from_host(domain, request.app.state.settings.domain)
    except WikibotError:
        return Response(status_code=404)
    if tenant.slug is None:
        return Response(status_code=200)
    with request.app.state.db() as db:
        exists = db.execute(select(Wiki.slug).where(Wiki.slug == tenant.slug)).first() is not None
    return Response(status_code=200 if exists else 404)
