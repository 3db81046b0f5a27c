"""The authorization server: authlib's ``AuthorizationServer`` wired to Wikibot's storage and keys.

Framework-neutral: the web layer (``routes``) turns a request into a ``FormRequest`` / ``BodyRequest`` and an
``OAuthResponse`` back into a response. Everything here is synchronous (run it in a worker thread).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import redis
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc9207 import IssuerParameter
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared.keys import KeyStore
from wikibot_shared.models import OAuthClient
from wikibot_shared.tokens import REFRESH_PREFIX, AccessClaims, issue_access_token, new_opaque

from ..config import PlatformSettings
from .cimd import FetchJson, MetadataDocuments, is_metadata_url
from .errors import OAuth2Error, OAuthResponse, error_body, explained
from .grants import AuthorizationCodeGrant, RefreshTokenGrant, check_code_resource, save_refresh_token
from .models import Authorization, Client
from .rfc7009 import RevocationEndpoint
from .rfc7591 import RegistrationEndpoint
from .rfc7636 import S256CodeChallenge
from .rfc8414 import server_metadata
from .rfc8707 import requested_wiki
from .scopes import OFFLINE_ACCESS, SCOPES_SUPPORTED, parse_scope
from .state import CodeStore, TicketStore

Pairs = Sequence[tuple[str, str]]


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: Pairs) -> None:
        self._datalist: dict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth request: the query (GET) or the url-encoded form (POST), plus the per-request extras the grants
    use (``db``: the token request's transaction; ``wiki`` and ``scope``: what the user consented to)."""

    def __init__(self, method: str, uri: str, headers: dict[str, str], params: Pairs) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = _Payload(params)
        self.params = list(params)
        self.db: Session | None = None
        self.wiki: str | None = None  # the wiki the user chose to connect
        self.granted_scope: str | None = None  # the scopes the user granted on it
        self.write_paths: tuple[str, ...] | None = None  # the folders it may write under (None: all)
        self.resource_wiki: str | None = None

    @property
    def args(self) -> dict[str, str]:
        return dict(self.payload.data)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.payload.data)


class _JsonBody(JsonPayload):  # type: ignore[misc]
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data


class BodyRequest(JsonRequest):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, headers: dict[str, str], data: dict[str, Any]) -> None:
        super().__init__(method, uri, headers)
        self.payload = _JsonBody(data)


class Issuer(IssuerParameter):  # type: ignore[misc]
    """RFC 9207 §2: ``iss`` on every authorization response, errors included."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


class OAuthServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(
        self,
        settings: PlatformSettings,
        db: sessionmaker[Session],
        redis_client: redis.Redis,
        keystore: KeyStore,
        fetch_json: FetchJson,
    ) -> None:
        super().__init__(scopes_supported=list(SCOPES_SUPPORTED))
        self.settings = settings
        self.db = db
        self.keystore = keystore
        self.metadata = server_metadata(settings)
        self.codes = CodeStore(redis_client, settings.oauth_code_ttl)
        self.tickets = TicketStore(redis_client, settings.oauth_consent_ttl)
        self.documents = MetadataDocuments(db, fetch_json, lambda: self.metadata, settings.oauth_cimd_ttl)
        self.issuer = Issuer(settings.issuer)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(), self._resource_extension])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(RegistrationEndpoint(self))
        self.register_endpoint(RevocationEndpoint(self))
        self.register_extension(lambda server: self.issuer(server))
        self.register_token_generator("default", self.generate_bearer_token)

    # -- requests and responses -------------------------------------------------------------------------
    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request  # the web layer builds FormRequest itself

    def create_json_request(self, request: Any) -> JsonRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> OAuthResponse:
        if isinstance(body, dict) and "error" in body and status >= 400:
            body = explained(body)
        return OAuthResponse(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's signal hook: nothing listens here."""

    def error_response(self, error: OAuth2Error) -> OAuthResponse:
        """An error found while validating an authorization request: redirected to the client when its
        redirect URI is known to be good (RFC 6749 §4.1.2.1), with ``iss`` (RFC 9207 §2); else shown here."""
        status, body, headers = error()
        response = self.handle_response(status, body, headers)
        if response.is_redirect:
            self.issuer.add_issuer_parameter(self, response)
        else:
            response.body = error_body(error)
        return response

    def validate_requested_scope(self, scope: str | None) -> None:
        """RFC 6749 §3.3: scopes this server does not know are ignored, not refused (``Client.requested_scopes``
        reads a request; MCP clients send what their last server wanted, ``openid``, or only
        ``offline_access``)."""

    # -- clients ----------------------------------------------------------------------------------------
    def query_client(self, client_id: str | None) -> Client | None:
        if not client_id or len(client_id) > 2048:
            return None
        if is_metadata_url(client_id):
            return self.documents.client(client_id)
        with self.db() as db:
            row = db.get(OAuthClient, client_id)
            if row is None or row.is_metadata_document:
                return None
            return Client.from_row(row)

    # -- RFC 8707 at the authorization endpoint ---------------------------------------------------------
    def _resource_extension(self, grant: Any) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self._validate_resource)
        grant.register_hook("after_validate_token_request", check_code_resource)

    def _validate_resource(self, grant: Any, redirect_uri: str) -> None:
        request: FormRequest = grant.request
        resources = request.payload.datalist.get("resource", [])
        request.resource_wiki = requested_wiki(self.settings, self.db, resources)

    # -- tokens -----------------------------------------------------------------------------------------
    def generate_bearer_token(
        self,
        grant_type: str,
        client: Client,
        user: Authorization,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        scopes = " ".join(parse_scope(scope))
        ttl = self.settings.oauth_access_ttl
        claims = AccessClaims(
            issuer=self.settings.issuer,
            audience=self.settings.mcp_resource(user.wiki),  # RFC 8707 §2: the token's audience is the wiki
            did=user.did,
            client_id=client.client_id,
            scope=scopes,
            grant_id=user.grant_id,
            ttl=ttl,
        )
        token: dict[str, Any] = {
            "access_token": issue_access_token(self.keystore.current().key, claims),
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": scopes,  # RFC 6749 §5.1: always say what was granted
        }
        if include_refresh_token and OFFLINE_ACCESS in scopes.split():
            token["refresh_token"] = new_opaque(REFRESH_PREFIX)[0]
        return token

    def save_token(self, token: dict[str, Any], request: FormRequest) -> None:
        save_refresh_token(request.db, token, request.user, self.settings.oauth_refresh_ttl)
