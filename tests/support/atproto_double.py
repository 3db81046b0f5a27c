"""A strict double of an ATProto PDS, its OAuth authorization server and a PLC directory — for the rejection
paths the real PDS cannot be made to produce (a handle that does not point back, a DID document without a PDS,
bad authorization-server metadata, a wrong ``iss`` or ``sub``, …).

It is as strict as ``@atproto/oauth-provider`` where our client is concerned: PAR required with every parameter
checked; PKCE S256; DPoP proofs checked for type, algorithm, public JWK, signature, ``htm``, ``htu``, ``iat``,
unique ``jti``, the server's nonce (first use answers ``use_dpop_nonce``) and the same key from PAR to token;
``private_key_jwt`` assertions checked against the JWKS named by the client's own metadata (``kid``, signature,
``iss``=``sub``=client_id, ``aud``=issuer only, fresh ``iat``, unique ``jti``); the redirect URI must be one the
metadata lists; codes are single use. ``misbehave`` switches on one fault at a time.

One https app answers for several names (by ``Host``): ``pds.e2e.internal`` (PDS + authorization server),
``plc.e2e.internal`` (DID documents).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PDS_HOST = "pds.e2e.internal"
PLC_HOST = "plc.e2e.internal"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Refused(Exception):
    def __init__(
        self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None
    ):
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.status, self.headers = error, description, status, headers or {}


@dataclass
class Misbehaviour:
    as_metadata: dict[str, Any] = field(default_factory=dict)  # merged over the good metadata (None deletes)
    resource_metadata: dict[str, Any] = field(default_factory=dict)
    callback_iss: str | None = None
    token_sub: str | None = None
    token_scope: str | None = None


@dataclass
class PendingRequest:
    client_id: str
    redirect_uri: str
    scope: str
    state: str
    challenge: str
    jkt: str
    login_hint: str | None
    code: str | None = None


class AtprotoDouble:
    def __init__(self, fetch_json: Callable[[str], Any]) -> None:
        self.fetch_json = fetch_json  # how the server reads a client's metadata and JWKS
        self.port = 0
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/.well-known/oauth-protected-resource", self.resource_metadata),
                Route("/.well-known/oauth-authorization-server", self.as_metadata),
                Route("/.well-known/did.json", self.did_web),
                Route("/oauth/par", self.par, methods=["POST"]),
                Route("/oauth/authorize", self.authorize),
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/oauth/revoke", self.revoke, methods=["POST"]),
                Route("/xrpc/com.atproto.repo.getRecord", self.get_record),
                Route("/xrpc/com.atproto.server.getSession", self.get_session),
                Route("/{did:path}", self.plc),
            ]
        )

    def reset(self) -> None:
        """Forget every identity, request, token and fault (one server serves a whole test module)."""
        self.dids: dict[str, dict[str, Any]] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.account: str | None = None  # the DID that "signs in and consents" at /oauth/authorize
        self.misbehave = Misbehaviour()
        self.nonce = secrets.token_urlsafe(16)
        self.seen_jti: set[str] = set()
        self.requests: dict[str, PendingRequest] = {}
        self.codes: dict[str, PendingRequest] = {}
        self.tokens: dict[str, dict[str, Any]] = {}  # access/refresh token → info
        self.revoked: list[str] = []
        self.log: list[str] = []  # "PAR ok", "refused: …", …

    # -- names ------------------------------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        return f"https://{PDS_HOST}:{self.port}"

    @property
    def pds_url(self) -> str:
        return self.issuer

    @property
    def plc_url(self) -> str:
        return f"https://{PLC_HOST}:{self.port}"

    def add_identity(self, did: str, handle: str | None, *, pds: str | None = "default") -> None:
        doc: dict[str, Any] = {"@context": ["https://www.w3.org/ns/did/v1"], "id": did}
        if handle:
            doc["alsoKnownAs"] = [f"at://{handle}"]
        if pds is not None:
            endpoint = self.pds_url if pds == "default" else pds
            doc["service"] = [
                {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": endpoint}
            ]
        self.dids[did] = doc

    # -- PLC, did:web, PDS reads ----------------------------------------------------------------------------
    async def plc(self, request: Request) -> Response:
        did = request.path_params["did"]
        if request.url.hostname != PLC_HOST or did not in self.dids:
            return JSONResponse({"message": "DID not registered"}, 404)
        return JSONResponse(self.dids[did])

    async def did_web(self, request: Request) -> Response:
        did = f"did:web:{request.url.hostname}%3A{self.port}"
        return JSONResponse(self.dids[did]) if did in self.dids else PlainTextResponse("", 404)

    async def get_record(self, request: Request) -> Response:
        repo = request.query_params.get("repo", "")
        if repo in self.profiles and request.query_params.get("rkey") == "self":
            return JSONResponse(
                {"uri": f"at://{repo}/app.bsky.actor.profile/self", "value": self.profiles[repo]}
            )
        return JSONResponse({"error": "RecordNotFound", "message": "Could not locate record"}, 400)

    async def get_session(self, request: Request) -> Response:
        try:
            auth = request.headers.get("authorization", "")
            if not auth.startswith("DPoP "):
                raise Refused("invalid_token", "DPoP token required", 401)
            token = auth[5:]
            info = self.tokens.get(token)
            if info is None or info["kind"] != "access" or token in self.revoked:
                raise Refused("invalid_token", "unknown or revoked token", 401)
            ath = _b64url(hashlib.sha256(token.encode()).digest())
            jkt = self._dpop(
                request, "GET", f"{self.pds_url}/xrpc/com.atproto.server.getSession", ath=ath, status=401
            )
            if jkt != info["jkt"]:
                raise Refused("invalid_dpop_proof", "key does not match the token", 401)
        except Refused as exc:
            return self._refusal(exc)
        return JSONResponse({"did": info["sub"]})

    # -- metadata ---------------------------------------------------------------------------------------------
    async def resource_metadata(self, request: Request) -> Response:
        body = {"resource": self.pds_url, "authorization_servers": [self.issuer]}
        return JSONResponse(_merge(body, self.misbehave.resource_metadata))

    async def as_metadata(self, request: Request) -> Response:
        body = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/oauth/authorize",
            "token_endpoint": f"{self.issuer}/oauth/token",
            "revocation_endpoint": f"{self.issuer}/oauth/revoke",
            "pushed_authorization_request_endpoint": f"{self.issuer}/oauth/par",
            "require_pushed_authorization_requests": True,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
            "dpop_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["atproto", "transition:generic"],
            "authorization_response_iss_parameter_supported": True,
            "client_id_metadata_document_supported": True,
        }
        return JSONResponse(_merge(body, self.misbehave.as_metadata))

    # -- strict checks ---------------------------------------------------------------------------------------------
    def _refusal(self, exc: Refused) -> Response:
        self.log.append(f"refused: {exc.error}: {exc.description}")
        headers = dict(exc.headers)
        if exc.status == 401:
            headers["WWW-Authenticate"] = f'DPoP error="{exc.error}", error_description="{exc.description}"'
        return JSONResponse(
            {"error": exc.error, "error_description": exc.description}, exc.status, headers=headers
        )

    def _dpop(
        self, request: Request, method: str, url: str, *, ath: str | None = None, status: int = 400
    ) -> str:
        """RFC 9449 §4.3; returns the key's RFC 7638 thumbprint."""
        proof = request.headers.get("dpop")
        if not proof or proof.count(".") != 2:
            raise Refused("invalid_dpop_proof", "DPoP proof required")
        raw_header = _header(proof)
        if raw_header.get("typ") != "dpop+jwt" or raw_header.get("alg") != "ES256":
            raise Refused("invalid_dpop_proof", "typ must be dpop+jwt and alg ES256")
        jwk = raw_header.get("jwk")
        if not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") != "EC":
            raise Refused("invalid_dpop_proof", "jwk must be a public EC key")
        key = ECKey.import_key(jwk)
        try:
            claims = jwt.decode(proof, key, algorithms=["ES256"]).claims
        except (JoseError, ValueError):
            raise Refused("invalid_dpop_proof", "bad signature") from None
        if claims.get("htm") != method:
            raise Refused("invalid_dpop_proof", "htm mismatch")
        if claims.get("htu") != url:
            raise Refused("invalid_dpop_proof", f"htu mismatch ({claims.get('htu')} != {url})")
        iat = claims.get("iat")
        if not isinstance(iat, int) or abs(time.time() - iat) > 60:
            raise Refused("invalid_dpop_proof", "iat too far from now")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or jti in self.seen_jti:
            raise Refused("invalid_dpop_proof", "jti missing or replayed")
        if ath is not None and claims.get("ath") != ath:
            raise Refused("invalid_dpop_proof", "ath mismatch", status)
        if claims.get("nonce") != self.nonce:
            raise Refused("use_dpop_nonce", "nonce required", status, {"DPoP-Nonce": self.nonce})
        self.seen_jti.add(jti)
        return key.thumbprint()

    def _client(self, form: dict[str, str]) -> dict[str, Any]:
        """The client's metadata, after checking its private_key_jwt assertion against the JWKS it names."""
        client_id = form.get("client_id", "")
        if not client_id.startswith("https://"):
            raise Refused("invalid_client", "this double serves web clients only")
        metadata = self.fetch_json(client_id)
        if not isinstance(metadata, dict) or metadata.get("client_id") != client_id:
            raise Refused("invalid_client", "metadata client_id does not match")
        if metadata.get("dpop_bound_access_tokens") is not True:
            raise Refused("invalid_client", "dpop_bound_access_tokens must be true")
        if "atproto" not in str(metadata.get("scope", "")).split():
            raise Refused("invalid_client", "metadata scope must contain atproto")
        if metadata.get("token_endpoint_auth_method") != "private_key_jwt":
            raise Refused("invalid_client", "expected private_key_jwt")
        if metadata.get("token_endpoint_auth_signing_alg") != "ES256":
            raise Refused("invalid_client", "expected ES256 assertions")
        if ("jwks" in metadata) == ("jwks_uri" in metadata):
            raise Refused("invalid_client", "exactly one of jwks and jwks_uri")
        jwks = metadata.get("jwks") or self.fetch_json(metadata["jwks_uri"])
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise Refused("invalid_client", "client_assertion_type required")
        assertion = form.get("client_assertion", "")
        kid = _header(assertion).get("kid") if assertion.count(".") == 2 else None
        if not kid:
            raise Refused("invalid_client", "assertion kid required")
        try:
            keys = KeySet.import_key_set(jwks)
            claims = jwt.decode(assertion, keys.get_by_kid(kid), algorithms=["ES256"]).claims
        except (JoseError, ValueError, KeyError):
            raise Refused("invalid_client", "assertion does not verify with the client's JWKS") from None
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise Refused("invalid_client", "assertion iss/sub must be the client_id")
        if claims.get("aud") != self.issuer:
            raise Refused("invalid_client", "assertion aud must be the issuer")
        jti, iat = claims.get("jti"), claims.get("iat")
        if not isinstance(jti, str) or f"{client_id} {jti}" in self.seen_jti:
            raise Refused("invalid_client", "assertion jti missing or replayed")
        if not isinstance(iat, int) or time.time() - iat > 60:
            raise Refused("invalid_client", "assertion too old")
        self.seen_jti.add(f"{client_id} {jti}")
        return metadata

    # -- the flow ---------------------------------------------------------------------------------------------
    async def par(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            jkt = self._dpop(request, "POST", f"{self.issuer}/oauth/par")
            metadata = self._client(form)
            if form.get("response_type") != "code":
                raise Refused("invalid_request", "response_type must be code")
            if form.get("redirect_uri") not in metadata.get("redirect_uris", []):
                raise Refused("invalid_request", "redirect_uri not registered")
            scope = form.get("scope", "")
            if "atproto" not in scope.split() or not set(scope.split()) <= set(metadata["scope"].split()):
                raise Refused("invalid_scope", "scope must contain atproto and be within the client's")
            if not form.get("state"):
                raise Refused("invalid_request", "state required")
            if form.get("code_challenge_method") != "S256" or len(form.get("code_challenge", "")) != 43:
                raise Refused("invalid_request", "PKCE S256 required")
            for forbidden in ("request", "request_uri"):
                if forbidden in form:
                    raise Refused("invalid_request", f"{forbidden} not allowed in PAR")
        except Refused as exc:
            return self._refusal(exc)
        request_uri = f"urn:ietf:params:oauth:request_uri:req-{secrets.token_hex(16)}"
        self.requests[request_uri] = PendingRequest(
            form["client_id"],
            form["redirect_uri"],
            form["scope"],
            form["state"],
            form["code_challenge"],
            jkt,
            form.get("login_hint"),
        )
        self.log.append("PAR ok")
        return JSONResponse(
            {"request_uri": request_uri, "expires_in": 300}, 201, headers={"DPoP-Nonce": self.nonce}
        )

    async def authorize(self, request: Request) -> Response:
        pending = self.requests.pop(request.query_params.get("request_uri", ""), None)
        if pending is None or pending.client_id != request.query_params.get("client_id"):
            return JSONResponse({"error": "invalid_request", "error_description": "unknown request_uri"}, 400)
        assert self.account is not None, "set double.account to the DID that signs in"
        pending.code = f"cod-{secrets.token_urlsafe(24)}"
        self.codes[pending.code] = pending
        query = {
            "state": pending.state,
            "iss": self.misbehave.callback_iss or self.issuer,
            "code": pending.code,
        }
        return RedirectResponse(f"{pending.redirect_uri}?{urlencode(query)}", 303)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            jkt = self._dpop(request, "POST", f"{self.issuer}/oauth/token")
            self._client(form)
            grant = form.get("grant_type")
            if grant == "authorization_code":
                pending = self.codes.pop(form.get("code", ""), None)  # single use
                if pending is None:
                    raise Refused("invalid_grant", "unknown or used code")
                if pending.client_id != form["client_id"] or pending.redirect_uri != form.get("redirect_uri"):
                    raise Refused("invalid_grant", "client or redirect_uri mismatch")
                verifier = form.get("code_verifier", "")
                if _b64url(hashlib.sha256(verifier.encode()).digest()) != pending.challenge:
                    raise Refused("invalid_grant", "PKCE verification failed")
                if jkt != pending.jkt:
                    raise Refused("invalid_dpop_proof", "DPoP key differs from the PAR's")
                scope = pending.scope
            elif grant == "refresh_token":
                info = self.tokens.get(form.get("refresh_token", ""))
                if info is None or info["kind"] != "refresh" or form["refresh_token"] in self.revoked:
                    raise Refused("invalid_grant", "unknown refresh token")
                scope = info["scope"]
            else:
                raise Refused("unsupported_grant_type", "unsupported grant")
        except Refused as exc:
            return self._refusal(exc)
        assert self.account is not None
        sub = self.misbehave.token_sub or self.account
        access, refresh = f"acc-{secrets.token_urlsafe(24)}", f"ref-{secrets.token_urlsafe(24)}"
        self.tokens[access] = {"kind": "access", "sub": sub, "jkt": jkt, "scope": scope}
        self.tokens[refresh] = {"kind": "refresh", "sub": sub, "jkt": jkt, "scope": scope}
        self.log.append("token ok")
        body = {
            "access_token": access,
            "token_type": "DPoP",
            "expires_in": 3600,
            "refresh_token": refresh,
            "scope": self.misbehave.token_scope or scope,
            "sub": sub,
        }
        return JSONResponse(body, headers={"DPoP-Nonce": self.nonce, "Cache-Control": "no-store"})

    async def revoke(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            self._dpop(request, "POST", f"{self.issuer}/oauth/revoke")
            self._client(form)
        except Refused as exc:
            return self._refusal(exc)
        self.revoked.append(form.get("token", ""))
        return JSONResponse({})


def _header(token: str) -> dict[str, Any]:
    try:
        part = token.split(".")[0]
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **overrides}
    return {k: v for k, v in merged.items() if v is not None}
