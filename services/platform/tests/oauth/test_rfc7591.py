"""RFC 7591 dynamic registration: what is accepted, what is refused and why, size caps and rate limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from services.platform.tests.oauth.harness import REDIRECT, Harness
from wikibot_shared.models import OAuthClient
from wikibot_shared.tokens import sha256_hex


def _stored(h: Harness, client_id: str) -> OAuthClient:
    with h.db() as db:
        row = db.execute(select(OAuthClient).where(OAuthClient.client_id == client_id)).scalar_one()
    return row


def test_public_client_gets_no_secret(h: Harness) -> None:
    client = h.register()
    assert client["client_id"].startswith("wbk_")
    assert "client_secret" not in client
    assert client["redirect_uris"] == [REDIRECT]
    assert client["grant_types"] == ["authorization_code", "refresh_token"]
    assert isinstance(client["client_id_issued_at"], int)
    assert _stored(h, client["client_id"]).client_secret_hash is None


def test_confidential_client_secret_is_stored_hashed(h: Harness) -> None:
    client = h.register(token_endpoint_auth_method="client_secret_post")
    secret = client["client_secret"]
    assert secret.startswith("wbc_")
    assert client["client_secret_expires_at"] == 0
    row = _stored(h, client["client_id"])
    assert row.client_secret_hash == sha256_hex(secret)
    assert secret not in str(row.client_metadata)


def test_auth_method_defaults_to_client_secret_basic(h: Harness) -> None:
    response = h.http.post("/auth/oauth/register", json={"redirect_uris": ["https://app.example/cb"]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic"  # RFC 7591 §2
    assert body["client_secret"].startswith("wbc_")
    assert body["grant_types"] == ["authorization_code"]


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/callback",
        "http://localhost:1234/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:65000/deep/path?x=1",
        "http://[::1]:9/cb",
    ],
)
def test_accepted_redirect_uris(h: Harness, uri: str) -> None:
    assert h.register(redirect_uris=[uri])["redirect_uris"] == [uri]


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["data:text/html,<script>alert(1)</script>"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://10.0.0.1/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://app.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://user:pw@app.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["myapp://callback"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["/relative"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://app.example/a b"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://app.example/cb"}, "invalid_redirect_uri"),
        ({"redirect_uris": [REDIRECT] * 21}, "invalid_redirect_uri"),
        ({"redirect_uris": None}, "invalid_redirect_uri"),
        ({"grant_types": ["password"]}, "invalid_client_metadata"),
        ({"grant_types": ["implicit"]}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
        ({"scope": "admin"}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        ({"client_name": "x" * 201}, "invalid_client_metadata"),
        ({"client_name": 42}, "invalid_client_metadata"),
        ({"client_uri": "javascript:alert(1)"}, "invalid_client_metadata"),
    ],
)
def test_refused_metadata(h: Harness, metadata: dict[str, Any], error: str) -> None:
    body = {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", **metadata}
    response = h.http.post("/auth/oauth/register", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    with h.db() as db:
        assert db.execute(select(OAuthClient)).first() is None  # nothing half-registered


def test_huge_payloads_are_refused_before_parsing(h: Harness) -> None:
    big = {"redirect_uris": [REDIRECT], "client_name": "x", "padding": "y" * 20_000}
    response = h.http.post("/auth/oauth/register", json=big)
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_client_metadata"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds on the stream itself
        yield b'{"redirect_uris": ["' + REDIRECT.encode() + b'"], "x": "'
        for _ in range(40):
            yield b"z" * 1000
        yield b'"}'

    streamed = h.http.post(
        "/auth/oauth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b"not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"{}", "application/json"),
        (b"a=b", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_bodies(h: Harness, content: bytes, ctype: str) -> None:
    response = h.http.post("/auth/oauth/register", content=content, headers={"Content-Type": ctype})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_registration_is_rate_limited_per_address(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(rate_limits_json='{"oauth_register": [3, 3600]}')
    for _ in range(3):
        h.register()
    refused = h.http.post("/auth/oauth/register", json={"redirect_uris": [REDIRECT]})
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    other = h.http.post(
        "/auth/oauth/register",
        json={"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert other.status_code == 201
