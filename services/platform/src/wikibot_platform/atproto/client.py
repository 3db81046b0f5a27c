"""The platform as an ATProto OAuth client (atproto.com/specs/oauth).

Confidential web client: its ``client_id`` is the URL of its metadata document
(``{platform_url}/auth/client-metadata.json``), it authenticates with ``private_key_jwt`` (the platform's ES256
client key, published at ``/auth/jwks.json``). On a ``localhost`` DOMAIN it is a loopback public client instead
(``client_id = http://localhost?redirect_uri=…&scope=…``, redirect to ``http://127.0.0.1:PORT/auth/callback``),
so a developer can sign in with a real account from a laptop. Either way: PAR, PKCE S256, DPoP-bound tokens.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from joserfc.jwk import ECKey

from wikibot_shared.config import CommonSettings
from wikibot_shared.safehttp import FetchError, Response, SafeHttp

from . import dpop
from .discovery import AuthServer
from .errors import AuthServerError, TokenError
from .identity import is_did

SCOPE = "atproto"
TOKEN_LIMIT = 64 * 1024


@dataclass(frozen=True)
class ClientConfig:
    client_id: str
    redirect_uri: str
    scope: str
    loopback: bool
    client_uri: str
    jwks_uri: str
    client_name: str = "Wikibot"

    @classmethod
    def for_settings(cls, settings: CommonSettings, *, client_name: str = "Wikibot") -> ClientConfig:
        base = settings.platform_url
        if settings.is_local_domain:
            # atproto.com/specs/oauth#localhost-client-development: loopback redirect on 127.0.0.1, same port
            port = settings.public_port or 80
            redirect = f"http://127.0.0.1:{port}/auth/callback"
            client_id = "http://localhost?" + urlencode({"redirect_uri": redirect, "scope": SCOPE})
            return cls(client_id, redirect, SCOPE, True, base, f"{base}/auth/jwks.json", client_name)
        return cls(
            client_id=f"{base}/auth/client-metadata.json",
            redirect_uri=f"{base}/auth/callback",
            scope=SCOPE,
            loopback=False,
            client_uri=base,
            jwks_uri=f"{base}/auth/jwks.json",
            client_name=client_name,
        )

    def metadata(self) -> dict[str, Any]:
        """The client ID metadata document (atproto.com/specs/oauth#client-id-metadata-document)."""
        return {
            "client_id": self.client_id,
            "client_name": self.client_name,
            "client_uri": self.client_uri,
            "application_type": "web",
            "redirect_uris": [self.redirect_uri],
            "scope": self.scope,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": dpop.ALG,
            "jwks_uri": self.jwks_uri,
            "dpop_bound_access_tokens": True,
        }


@dataclass
class DpopSession:
    """The DPoP key of one sign-in and the latest nonces each server gave us (RFC 9449 §8, §9)."""

    key: ECKey
    as_nonce: str | None = None
    pds_nonce: str | None = None


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scope: str
    sub: str


def _error_of(response: Response) -> str | None:
    try:
        data = response.json()
    except FetchError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) else None


def _describe(response: Response) -> str:
    try:
        data = response.json()
    except FetchError:
        return f"HTTP {response.status_code}"
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        text = str(data["error"])
        if isinstance(data.get("error_description"), str):
            text += f": {data['error_description'][:200]}"
        return text
    return f"HTTP {response.status_code}"


class OAuthClient:
    def __init__(self, config: ClientConfig, http: SafeHttp, client_key: Callable[[], ECKey]) -> None:
        self.config = config
        self.http = http
        self._client_key = client_key

    # -- authorization server requests ----------------------------------------------------------------------
    def _client_auth(self, server: AuthServer) -> dict[str, str]:
        fields = {"client_id": self.config.client_id}
        if not self.config.loopback:
            fields["client_assertion_type"] = dpop.ASSERTION_TYPE
            fields["client_assertion"] = dpop.client_assertion(
                self._client_key(), self.config.client_id, server.issuer
            )
        return fields

    def _post(self, server: AuthServer, session: DpopSession, url: str, form: Mapping[str, str]) -> Response:
        """POST with DPoP and client authentication, retrying once with the server's nonce (RFC 9449 §8)."""
        response: Response | None = None
        for _attempt in range(2):
            body = {**form, **self._client_auth(server)}  # a fresh assertion (and jti) per attempt
            headers = {"DPoP": dpop.proof(session.key, "POST", url, nonce=session.as_nonce)}
            try:
                response = self.http.post(url, form=body, headers=headers, max_bytes=TOKEN_LIMIT)
            except FetchError as exc:
                raise AuthServerError(f"the authorization server did not answer: {exc.message}") from None
            nonce = response.header("dpop-nonce")
            if nonce:
                session.as_nonce = nonce
            if response.status_code == 400 and nonce and _error_of(response) == "use_dpop_nonce":
                continue
            return response
        assert response is not None
        return response

    def push_authorization(
        self, server: AuthServer, session: DpopSession, *, state: str, pkce: dpop.Pkce, login_hint: str | None
    ) -> str:
        """PAR (RFC 9126 §2.1); returns the ``request_uri``."""
        form = {
            "response_type": "code",
            "redirect_uri": self.config.redirect_uri,
            "scope": self.config.scope,
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
        if login_hint:
            form["login_hint"] = login_hint
        response = self._post(server, session, server.par_endpoint, form)
        if response.status_code not in (200, 201):
            raise AuthServerError(
                f"the authorization server refused the sign-in request ({_describe(response)})"
            )
        data = response.json()
        request_uri = data.get("request_uri") if isinstance(data, dict) else None
        if not isinstance(request_uri, str) or not request_uri:
            raise AuthServerError("the authorization server's PAR response has no request_uri")
        return request_uri

    def authorize_url(self, server: AuthServer, request_uri: str) -> str:
        query = urlencode({"client_id": self.config.client_id, "request_uri": request_uri})
        return f"{server.authorization_endpoint}?{query}"

    def exchange_code(self, server: AuthServer, session: DpopSession, *, code: str, verifier: str) -> Tokens:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": verifier,
        }
        return self._tokens(self._post(server, session, server.token_endpoint, form))

    def refresh(self, server: AuthServer, session: DpopSession, *, refresh_token: str, sub: str) -> Tokens:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        tokens = self._tokens(self._post(server, session, server.token_endpoint, form))
        if tokens.sub != sub:
            raise TokenError("the refreshed tokens are for another account")
        return tokens

    def revoke(self, server: AuthServer, session: DpopSession, token: str) -> None:
        """RFC 7009 §2.1. Raises ``AuthServerError`` when the server does not confirm."""
        if server.revocation_endpoint is None:
            raise AuthServerError("the authorization server has no revocation endpoint")
        response = self._post(server, session, server.revocation_endpoint, {"token": token})
        if response.status_code != 200:
            raise AuthServerError(
                f"the authorization server did not revoke the token ({_describe(response)})"
            )

    def _tokens(self, response: Response) -> Tokens:
        if response.status_code != 200:
            raise TokenError(f"the authorization server refused the token request ({_describe(response)})")
        data = response.json()
        if not isinstance(data, dict):
            raise TokenError("the token response is not a JSON object")
        access, token_type = data.get("access_token"), data.get("token_type")
        if not isinstance(access, str) or not access:
            raise TokenError("the token response has no access token")
        if not isinstance(token_type, str) or token_type.lower() != "dpop":  # RFC 9449 §5
            raise TokenError("the token response is not DPoP-bound")
        sub = data.get("sub")
        if not isinstance(sub, str) or not is_did(sub):
            raise TokenError("the token response names no account (sub)")
        scope = data.get("scope")
        if not isinstance(scope, str) or SCOPE not in scope.split():
            raise TokenError("the authorization server did not grant the atproto scope")
        refresh = data.get("refresh_token")
        expires_in = data.get("expires_in")
        expires_at = (
            datetime.now(UTC) + timedelta(seconds=expires_in)
            if isinstance(expires_in, int) and expires_in > 0
            else None
        )
        return Tokens(access, refresh if isinstance(refresh, str) else None, expires_at, scope, sub)

    # -- resource (PDS) requests ------------------------------------------------------------------------------
    def pds_request(
        self, session: DpopSession, method: str, url: str, access_token: str, *, payload: Any = None
    ) -> Response:
        """A DPoP-bound call to the PDS, retrying once on ``use_dpop_nonce`` (RFC 9449 §9: 401 + header)."""
        response: Response | None = None
        for _attempt in range(2):
            headers = {
                "Authorization": f"DPoP {access_token}",
                "DPoP": dpop.proof(
                    session.key, method, url, nonce=session.pds_nonce, access_token=access_token
                ),
            }
            body = b"" if payload is None else json.dumps(payload).encode()
            if body:
                headers["Content-Type"] = "application/json"
            response = self.http.request(method, url, headers=headers, body=body)
            nonce = response.header("dpop-nonce")
            if nonce:
                session.pds_nonce = nonce
            challenge = response.header("www-authenticate") or ""
            if response.status_code == 401 and nonce and 'error="use_dpop_nonce"' in challenge:
                continue
            return response
        assert response is not None
        return response
