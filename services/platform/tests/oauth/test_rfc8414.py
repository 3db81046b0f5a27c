"""RFC 8414 metadata: complete, valid by authlib's own validator, and readable by the official MCP SDK."""

from __future__ import annotations

from collections.abc import Callable

from authlib.oauth2 import rfc8414, rfc9207
from mcp.shared.auth import OAuthMetadata

from services.platform.tests.oauth.harness import Harness


def test_metadata_document(h: Harness) -> None:
    response = h.http.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    meta = response.json()
    issuer = h.settings.issuer
    assert meta["issuer"] == issuer == "http://localhost:8080"
    assert meta["authorization_endpoint"] == issuer + "/auth/oauth/authorize"
    assert meta["token_endpoint"] == issuer + "/auth/oauth/token"
    assert meta["registration_endpoint"] == issuer + "/auth/oauth/register"
    assert meta["revocation_endpoint"] == issuer + "/auth/oauth/revoke"
    assert meta["jwks_uri"] == issuer + "/.well-known/jwks.json"
    assert meta["response_types_supported"] == ["code"]
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "none",
        "client_secret_post",
        "client_secret_basic",
    }
    assert set(meta["scopes_supported"]) >= {"wiki:read", "wiki:write", "offline_access"}
    assert meta["client_id_metadata_document_supported"] is True
    assert meta["authorization_response_iss_parameter_supported"] is True
    rfc8414.AuthorizationServerMetadata(meta).validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
    parsed = OAuthMetadata.model_validate(meta)
    assert str(parsed.issuer) == issuer  # the SDK compares issuers as strings (RFC 8414 §3.3)
    jwks = h.http.get("/.well-known/jwks.json").json()
    assert jwks["keys"][0]["kid"]


def test_errors_are_json(h: Harness) -> None:
    for method, path, status in [
        ("GET", "/auth/oauth/nothing", 404),
        ("GET", "/auth/oauth/token", 405),
        ("GET", "/auth/oauth/register", 405),
        ("PUT", "/.well-known/oauth-authorization-server", 405),
    ]:
        response = h.http.request(method, path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]


def test_cors_preflight(h: Harness) -> None:
    for path in ("/auth/oauth/token", "/auth/oauth/register", "/auth/oauth/revoke"):
        response = h.http.options(
            path, headers={"Origin": "https://inspector.example", "Access-Control-Request-Method": "POST"}
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == "*"
        assert "POST" in response.headers["access-control-allow-methods"]


def test_plain_http_outside_localhost_is_refused_as_json(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(domain="wiki.lan", public_scheme="http", public_port=80, environment="development")
    response = h.http.post(
        "/auth/oauth/token", data={"grant_type": "refresh_token"}, headers={"Host": "wiki.lan"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "insecure_transport"
