"""RFC 7591 dynamic client registration: open (unauthenticated), validated strictly, secrets stored hashed.

The redirect URI rules here are shared with client ID metadata documents (``cimd``): https, or http to a
loopback address on any port (RFC 8252 §7.3); no fragment, no credentials, nothing else (no ``javascript:``,
``data:`` or custom schemes).
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import JsonRequest
from authlib.oauth2.rfc7591 import ClientMetadataClaims, ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError

from wikibot_shared.db import transaction
from wikibot_shared.models import OAuthClient
from wikibot_shared.tokens import CLIENT_SECRET_PREFIX, new_opaque, sha256_hex

from .errors import ascii_text
from .models import AUTH_NONE
from .rfc8252 import is_loopback

MAX_REGISTRATION_BYTES = 16 * 1024
MAX_REDIRECT_URIS = 20
MAX_URI_LENGTH = 2000
MAX_NAME_LENGTH = 200


def redirect_uri_problem(uri: Any) -> str | None:
    """Why ``uri`` cannot be a redirect URI here, or None."""
    if not isinstance(uri, str) or not uri:
        return "a redirect URI must be a non-empty string"
    if len(uri) > MAX_URI_LENGTH:
        return f"a redirect URI is at most {MAX_URI_LENGTH} characters"
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in uri):
        return "a redirect URI cannot contain spaces or control characters"
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        _port = parts.port
    except ValueError:
        return "malformed redirect URI"
    if parts.scheme not in ("https", "http"):
        # RFC 9700 §4.1 / OAuth 2.1 §2.3.1: javascript:, data: and friends would run in our origin's context.
        return (
            f"redirect URIs must use https (or http to a loopback address), not {parts.scheme or 'no'} scheme"
        )
    if not host:
        return "a redirect URI needs a host"
    if parts.username is not None or parts.password is not None:
        return "a redirect URI cannot carry credentials"
    if parts.fragment or "#" in uri:
        return "a redirect URI cannot have a fragment"  # RFC 6749 §3.1.2
    if parts.scheme == "http" and not is_loopback(host):
        return "plain http redirect URIs are only allowed to loopback addresses (RFC 8252 §7.3)"
    return None


class WikibotClientMetadata(ClientMetadataClaims):  # type: ignore[misc]
    """authlib's RFC 7591 §2 claims, with this server's stricter rules."""

    def validate_redirect_uris(self) -> None:
        uris = self.get("redirect_uris")
        # RFC 7591 §2: clients using redirect-based flows MUST register their redirection URIs.
        if not isinstance(uris, list) or not uris:
            raise InvalidRedirectURIError("redirect_uris must be a non-empty list")
        if len(uris) > MAX_REDIRECT_URIS:
            raise InvalidRedirectURIError(f"at most {MAX_REDIRECT_URIS} redirect_uris")
        for uri in uris:
            problem = redirect_uri_problem(uri)
            if problem:
                raise InvalidRedirectURIError(ascii_text(problem))

    def validate_client_name(self) -> None:
        name = self.get("client_name")
        if name is not None and (
            not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH
        ):
            raise InvalidClientMetadataError(
                f"client_name must be a string of 1-{MAX_NAME_LENGTH} characters"
            )

    def validate_grant_types(self) -> None:
        _string_list(self, "grant_types")

    def validate_response_types(self) -> None:
        _string_list(self, "response_types")

    def validate_scope(self) -> None:
        scope = self.get("scope")
        if scope is not None and (not isinstance(scope, str) or len(scope) > 500):
            raise InvalidClientMetadataError("scope must be a space-separated string")

    def validate_token_endpoint_auth_method(self) -> None:
        method = self.get("token_endpoint_auth_method")
        if method is not None and not isinstance(method, str):
            raise InvalidClientMetadataError("token_endpoint_auth_method must be a string")
        super().validate_token_endpoint_auth_method()

    def validate_contacts(self) -> None:
        _string_list(self, "contacts")


def _string_list(claims: dict[str, Any], key: str) -> None:
    value = claims.get(key)
    if value is not None and (
        not isinstance(value, list)
        or len(value) > 20
        or not all(isinstance(v, str) and len(v) < 300 for v in value)
    ):
        raise InvalidClientMetadataError(f"{key} must be a list of strings")


class RegistrationEndpoint(ClientRegistrationEndpoint):  # type: ignore[misc]
    claims_classes = [WikibotClientMetadata]

    def __init__(self, server: Any) -> None:
        super().__init__(server, claims_classes=[WikibotClientMetadata])

    def authenticate_token(self, request: JsonRequest) -> bool:
        return True  # RFC 7591 §3: open registration (rate-limited by the web layer)

    def get_server_metadata(self) -> dict[str, Any]:
        return dict(self.server.metadata)

    def extract_client_metadata(self, request: JsonRequest) -> dict[str, Any]:
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        metadata.setdefault("grant_types", ["authorization_code"])  # RFC 7591 §2 defaults, said back
        metadata.setdefault("response_types", ["code"])
        return metadata

    def generate_client_id(self, request: JsonRequest) -> str:
        return "wbk_" + secrets.token_urlsafe(24)

    def generate_client_info(self, request: JsonRequest) -> dict[str, Any]:
        info: dict[str, Any] = {
            "client_id": self.generate_client_id(request),
            "client_id_issued_at": int(time.time()),  # RFC 7591 §3.2.1
        }
        method = request.payload.data.get("token_endpoint_auth_method", "client_secret_basic")
        if method != AUTH_NONE:  # a public client gets no secret (RFC 7591 §2: "none")
            info["client_secret"] = new_opaque(CLIENT_SECRET_PREFIX)[0]
            info["client_secret_expires_at"] = 0  # RFC 7591 §3.2.1: never expires
        return info

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: JsonRequest
    ) -> OAuthClient:
        secret = client_info.get("client_secret")
        metadata = dict(client_metadata)
        row = OAuthClient(
            client_id=client_info["client_id"],
            client_secret_hash=sha256_hex(secret) if secret else None,
            client_name=metadata.get("client_name"),
            redirect_uris=list(metadata["redirect_uris"]),
            token_endpoint_auth_method=metadata["token_endpoint_auth_method"],
            grant_types=list(metadata["grant_types"]),
            scope=metadata.get("scope"),
            client_metadata=metadata,
            is_metadata_document=False,
        )
        with transaction(self.server.db) as db:
            db.add(row)
        return row
