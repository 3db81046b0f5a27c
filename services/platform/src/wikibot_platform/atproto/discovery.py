"""PDS → authorization server, and the authorization server's metadata, validated before we trust it.

atproto.com/specs/oauth#authorization-servers: the PDS publishes RFC 9728 protected-resource metadata naming
exactly one authorization server; that server publishes RFC 8414 metadata which must name itself as issuer and
support what the atproto profile requires (PAR, PKCE S256, DPoP ES256, ``atproto`` scope, ``iss`` in the
authorization response, client ID metadata documents, and our client authentication method).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wikibot_shared.safehttp import FetchError, SafeHttp

from .errors import AuthServerError

METADATA_LIMIT = 64 * 1024


@dataclass(frozen=True)
class AuthServer:
    issuer: str
    authorization_endpoint: str
    par_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None


def origin_of(url: str, *, allow_http: bool) -> str | None:
    """``scheme://host[:port]`` when ``url`` is exactly an origin (no path, query, fragment, credentials)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _fetch_json(http: SafeHttp, url: str, what: str) -> dict[str, Any]:
    try:
        response = http.get(url, headers={"Accept": "application/json"}, max_bytes=METADATA_LIMIT)
    except FetchError as exc:
        raise AuthServerError(f"could not fetch the {what}: {exc.message}") from None
    if response.status_code != 200:
        raise AuthServerError(f"could not fetch the {what} at {url} (HTTP {response.status_code})")
    try:
        data = response.json()
    except FetchError:
        raise AuthServerError(f"the {what} at {url} is not valid JSON") from None
    if not isinstance(data, dict):
        raise AuthServerError(f"the {what} at {url} is not a JSON object")
    return data


def authorization_server_of(http: SafeHttp, pds_url: str) -> str:
    """The issuer a PDS delegates to (RFC 9728 §3)."""
    allow_http = http.policy.allow_http
    data = _fetch_json(http, f"{pds_url}/.well-known/oauth-protected-resource", "PDS's resource metadata")
    if origin_of(str(data.get("resource")), allow_http=allow_http) != pds_url:
        raise AuthServerError(f"the PDS at {pds_url} describes another resource")  # RFC 9728 §3.3
    servers = data.get("authorization_servers")
    if not isinstance(servers, list) or len(servers) != 1 or not isinstance(servers[0], str):
        raise AuthServerError(f"the PDS at {pds_url} must name exactly one authorization server")
    issuer = origin_of(servers[0], allow_http=allow_http)
    if issuer is None:
        raise AuthServerError(f"the PDS at {pds_url} names an unusable authorization server {servers[0]!r}")
    return issuer


def _endpoint(data: dict[str, Any], name: str, allow_http: bool, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    schemes = ("https", "http") if allow_http else ("https",)
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in schemes or not parts.hostname or parts.fragment or parts.username:
        raise AuthServerError(f"the authorization server's {name} is missing or not an acceptable URL")
    return str(value)


def _supports(data: dict[str, Any], name: str, value: str) -> bool:
    listed = data.get(name)
    return isinstance(listed, list) and value in listed


def authorization_server(http: SafeHttp, issuer: str, *, confidential: bool) -> AuthServer:
    allow_http = http.policy.allow_http
    data = _fetch_json(
        http, f"{issuer}/.well-known/oauth-authorization-server", "authorization server metadata"
    )
    if data.get("issuer") != issuer:  # RFC 8414 §3.3: the issuer must be the URL we asked
        raise AuthServerError(f"the authorization server at {issuer} claims to be {data.get('issuer')!r}")
    problems = []
    if data.get("require_pushed_authorization_requests") is not True:
        problems.append("it does not require PAR")
    if not _supports(data, "response_types_supported", "code"):
        problems.append("no authorization code flow")
    if not _supports(data, "grant_types_supported", "authorization_code"):
        problems.append("no authorization_code grant")
    if not _supports(data, "code_challenge_methods_supported", "S256"):
        problems.append("no PKCE S256")
    if not _supports(data, "dpop_signing_alg_values_supported", "ES256"):
        problems.append("no DPoP with ES256")
    if not _supports(data, "scopes_supported", "atproto"):
        problems.append("no atproto scope")
    if data.get("authorization_response_iss_parameter_supported") is not True:
        problems.append("no iss in authorization responses (RFC 9207)")
    if data.get("client_id_metadata_document_supported") is not True:
        problems.append("no client ID metadata documents")
    if confidential:
        if not _supports(data, "token_endpoint_auth_methods_supported", "private_key_jwt"):
            problems.append("no private_key_jwt client authentication")
        if not _supports(data, "token_endpoint_auth_signing_alg_values_supported", "ES256"):
            problems.append("no ES256 client assertions")
    elif not _supports(data, "token_endpoint_auth_methods_supported", "none"):
        problems.append("no public clients")
    if problems:
        raise AuthServerError(f"the authorization server at {issuer} is not usable: {', '.join(problems)}")
    return AuthServer(
        issuer=issuer,
        authorization_endpoint=str(_endpoint(data, "authorization_endpoint", allow_http)),
        par_endpoint=str(_endpoint(data, "pushed_authorization_request_endpoint", allow_http)),
        token_endpoint=str(_endpoint(data, "token_endpoint", allow_http)),
        revocation_endpoint=_endpoint(data, "revocation_endpoint", allow_http, required=False),
    )
