"""The OAuth 2.1 authorization server for MCP clients (ARCHITECTURE §3), one module per specification:

    rfc8414   authorization server metadata            rfc7591   dynamic client registration
    cimd      client ID metadata documents             rfc7636   PKCE (S256 only, always)
    rfc8707   resource indicators → one wiki per token  grants    RFC 6749 §4.1 code and §6 refresh grants
    rfc7009   revocation                                server    authlib's AuthorizationServer, wired up
    consent   what a user may grant                     routes    the HTTP surface (FastAPI)

See docs/oauth.md for the decisions the specifications leave open.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from wikibot_shared.safehttp import SafeHttp

from . import routes
from .cimd import FetchJson, fetcher_from
from .errors import OAuth2Error
from .routes import router
from .server import OAuthServer

__all__ = ["OAuthServer", "install", "router"]


def install(app: FastAPI, fetch_json: FetchJson | None = None) -> OAuthServer:
    """Create the server on ``app.state.oauth`` and mount its routes."""
    state = app.state
    server = OAuthServer(
        state.settings,
        state.db,
        state.redis,
        state.keystore,
        # Client ID metadata documents are fetched through the hardened client only (ARCHITECTURE §3).
        fetch_json or fetcher_from(SafeHttp(state.settings.outbound_policy())),
    )
    state.oauth = server
    app.include_router(router)

    @app.exception_handler(OAuth2Error)
    async def _oauth_error(_request: Request, exc: OAuth2Error) -> Response:
        """An OAuth error raised outside authlib's own handling (e.g. ``insecure_transport``): still JSON."""
        return routes.error_response(exc)

    return server
