"""The objects authlib's grants work with: a client, an authorization code, a refresh token, an authorization.

Plain data, detached from the database session, implementing authlib's mixins (``ClientMixin`` …).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from wikibot_shared.models import OAuthClient
from wikibot_shared.tokens import sha256_hex

from .rfc8252 import without_loopback_port
from .scopes import requested_scopes

AUTH_NONE = "none"
AUTH_BASIC = "client_secret_basic"
AUTH_POST = "client_secret_post"
AUTH_METHODS = (AUTH_NONE, AUTH_POST, AUTH_BASIC)


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_name: str | None
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    scope: str | None
    secret_hash: str | None = None
    is_metadata_document: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: OAuthClient) -> Client:
        meta = dict(row.client_metadata or {})
        return cls(
            client_id=row.client_id,
            client_name=row.client_name,
            redirect_uris=tuple(row.redirect_uris or ()),
            token_endpoint_auth_method=row.token_endpoint_auth_method,
            grant_types=tuple(row.grant_types or ("authorization_code",)),
            response_types=tuple(meta.get("response_types") or ("code",)),
            scope=row.scope,
            secret_hash=row.client_secret_hash,
            is_metadata_document=bool(row.is_metadata_document),
            metadata=meta,
        )

    # -- what people see --------------------------------------------------------------------------------
    @property
    def display_name(self) -> str:
        return self.client_name or self.client_id

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None

    # -- authlib's ClientMixin --------------------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OAuth 2.1 §2.3.1 / RFC 6749 §3.1.2.3: only an unambiguous single registration may be implied.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def requested_scopes(self, scope: str | None) -> list[str]:
        """RFC 6749 §3.3: what this client's request asks for, as this server reads it (``scopes``)."""
        return requested_scopes(scope, stays_connected=self.check_grant_type("refresh_token"))

    def get_allowed_scope(self, scope: str | None) -> str:
        """authlib's hook: the requested scope as this server reads it, never refused for naming scopes it
        does not know (they are ignored; RFC 6749 §3.3).

        The scope a client registered (RFC 7591 §2) is no ceiling: registration is open, so it bounds nothing,
        and MCP clients register with the first 401's scope and step up after a 403 ``insufficient_scope`` by
        asking for more. The person's consent and live role decide what is granted."""
        return " ".join(self.requested_scopes(scope))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """OAuth 2.1 §4.1.1: an exact string match — but for http loopback redirect URIs the port is the
        client's to choose at the time of the request (RFC 8252 §7.3): Claude Code's metadata document lists
        ``http://localhost/callback`` and it listens on a port picked at random."""
        if redirect_uri in self.redirect_uris:
            return True
        wanted = without_loopback_port(redirect_uri)
        return wanted is not None and any(without_loopback_port(uri) == wanted for uri in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(self.secret_hash, sha256_hex(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if method == AUTH_NONE:
            return self.is_public  # RFC 6749 §3.2.1: a confidential client must authenticate
        # RFC 6749 §2.3.1: a client with a secret may send it either way. client_secret_post is accepted even
        # from clients registered for client_secret_basic: Claude.ai registers one and sends the other.
        return method in (AUTH_BASIC, AUTH_POST) and not self.is_public

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass(frozen=True)
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    """What a code stands for, kept in Redis until it is redeemed (once)."""

    code_hash: str
    client_id: str
    redirect_uri: str | None
    scope: str
    wiki: str
    did: str
    code_challenge: str
    code_challenge_method: str
    session_id: str | None = None
    grant_id: str | None = None  # the grant the consent created; the exchange gives it its first token

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "wiki": self.wiki,
            "did": self.did,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
            "session_id": self.session_id,
            "grant_id": self.grant_id,
        }

    @classmethod
    def from_dict(cls, code_hash: str, data: dict[str, Any]) -> AuthorizationCode:
        return cls(code_hash=code_hash, **data)


@dataclass(frozen=True)
class RefreshToken(TokenMixin):  # type: ignore[misc]
    token_hash: str
    grant_id: str
    client_id: str
    scope: str
    expires_at: datetime

    def check_client(self, client: Client) -> bool:
        return bool(client.client_id == self.client_id)

    def get_scope(self) -> str:
        return self.scope

    def get_client(self) -> str:
        return self.client_id


@dataclass(frozen=True)
class Authorization:
    """The resource owner behind a token request: who, on which wiki, under which grant (``gid``)."""

    did: str
    wiki: str
    grant_id: str
    client_id: str
