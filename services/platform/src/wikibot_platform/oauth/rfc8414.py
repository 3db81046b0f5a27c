"""RFC 8414 authorization server metadata, served at ``{issuer}/.well-known/oauth-authorization-server``."""

from __future__ import annotations

from typing import Any

from wikibot_shared.config import CommonSettings
from wikibot_shared.keys import ALG

from .models import AUTH_METHODS
from .rfc7636 import S256
from .scopes import SCOPES_SUPPORTED

BASE = "/auth/oauth"
AUTHORIZE_PATH = f"{BASE}/authorize"
TOKEN_PATH = f"{BASE}/token"
REGISTER_PATH = f"{BASE}/register"
REVOKE_PATH = f"{BASE}/revoke"
WELL_KNOWN_PATH = "/.well-known/oauth-authorization-server"


def server_metadata(settings: CommonSettings) -> dict[str, Any]:
    issuer = settings.issuer  # RFC 8414 §2: no query or fragment; §3.3: equal to the discovery URL's base
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + AUTHORIZE_PATH,
        "token_endpoint": issuer + TOKEN_PATH,
        "registration_endpoint": issuer + REGISTER_PATH,  # RFC 7591
        "revocation_endpoint": issuer + REVOKE_PATH,  # RFC 7009
        "jwks_uri": issuer + "/.well-known/jwks.json",
        "scopes_supported": list(SCOPES_SUPPORTED),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "code_challenge_methods_supported": [S256],  # RFC 7636 §4.2; OAuth 2.1: plain is not offered
        "client_id_metadata_document_supported": True,  # draft-ietf-oauth-client-id-metadata-document §5
        "authorization_response_iss_parameter_supported": True,  # RFC 9207 §3
        "resource_indicators_supported": True,  # RFC 8707, as MCP clients look for it
        "access_token_signing_alg_values_supported": [ALG],
        "service_documentation": issuer + "/app",
    }
