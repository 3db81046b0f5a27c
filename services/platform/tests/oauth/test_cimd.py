"""Client ID Metadata Documents: validation of the document, caching, and refusals of the fetch itself.

The document checks use an injected fetch (it stands in for the client's own https host on the internet and
returns exactly the JSON such a host would). The fetch refusals go through the real hardened client
(``wikibot_shared.safehttp``) against a real local TLS server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from services.platform.tests.oauth.harness import (
    ALICE,
    CLIENT_ID,
    Harness,
    Pkce,
    metadata_document,
    redirected,
    use_fetch,
)
from wikibot_platform.oauth.cimd import CimdError
from wikibot_shared.models import OAuthClient, OAuthGrant


class Host:
    """The client's metadata host: serves one document, counts fetches."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.fetches: list[str] = []

    def __call__(self, url: str) -> dict[str, Any]:
        self.fetches.append(url)
        if url != CLIENT_ID:
            raise CimdError("not found")
        return dict(self.document)


def test_a_metadata_document_client_connects(h: Harness) -> None:
    host = Host(metadata_document())
    use_fetch(h, host)
    pkce = Pkce()
    page = h.authorize(h.authorize_params(CLIENT_ID, pkce))
    assert page.status_code == 200, page.text
    assert "Example Agent (agent.example.org)" in page.text  # the page says where the client comes from
    code = redirected(h.answer(page))["code"]
    tokens = h.exchange(CLIENT_ID, code, pkce).json()
    assert h.on_wiki("notes", tokens["access_token"]).client_id == CLIENT_ID
    assert h.refresh(CLIENT_ID, tokens["refresh_token"]).status_code == 200
    assert host.fetches == [CLIENT_ID]  # cached: fetched once for the whole flow
    with h.db() as db:
        row = db.get(OAuthClient, CLIENT_ID)
        assert row is not None
        assert row.is_metadata_document
        assert row.client_secret_hash is None
        assert db.execute(select(OAuthGrant.client_id)).scalar_one() == CLIENT_ID


def test_the_document_is_fetched_again_after_its_ttl(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(oauth_cimd_ttl=0)
    host = Host(metadata_document())
    use_fetch(h, host)
    h.authorize(h.authorize_params(CLIENT_ID, Pkce()))
    host.document = metadata_document(redirect_uris=["https://agent.example.org/new-callback"])
    response = h.authorize(h.authorize_params(CLIENT_ID, Pkce()))
    assert response.status_code == 400  # the old redirect URI is no longer registered
    assert len(host.fetches) == 2


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (metadata_document(client_id="https://agent.example.org/other.json"), "does not equal its URL"),
        (metadata_document(client_secret="s3cret"), "client secret"),
        (metadata_document(token_endpoint_auth_method="client_secret_basic"), "none"),
        (metadata_document(token_endpoint_auth_method="private_key_jwt"), "none"),
        (metadata_document(redirect_uris=["javascript:alert(1)"]), "redirect"),
        (metadata_document(redirect_uris=["http://agent.example.org/cb"]), "loopback"),
        (metadata_document(redirect_uris=None), "redirect_uris"),
        (metadata_document(grant_types=["client_credentials"]), "grant_types"),
    ],
)
def test_invalid_documents_are_refused(h: Harness, document: dict[str, Any], fragment: str) -> None:
    use_fetch(h, Host(document))
    response = h.authorize(h.authorize_params(CLIENT_ID, Pkce()))
    assert response.status_code == 400
    assert "location" not in response.headers
    body = response.json()
    assert body["error"] == "invalid_client"
    assert fragment in body["error_description"], body
    with h.db() as db:
        assert db.get(OAuthClient, CLIENT_ID) is None


@pytest.mark.parametrize(
    "client_id",
    [
        "https://agent.example.org",
        "https://agent.example.org/",
        "https://agent.example.org/a#b",
        "https://user:pw@agent.example.org/c.json",
        "https://agent.example.org/x/../c.json",
    ],
)
def test_malformed_url_client_ids_are_refused_without_fetching(h: Harness, client_id: str) -> None:
    host = Host(metadata_document())
    use_fetch(h, host)
    response = h.authorize(h.authorize_params(client_id, Pkce()))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    assert host.fetches == []


def test_http_client_ids_are_not_metadata_documents(h: Harness) -> None:
    host = Host(metadata_document())
    use_fetch(h, host)
    response = h.authorize(h.authorize_params("http://agent.example.org/c.json", Pkce()))
    assert response.json()["error"] == "invalid_client"
    assert host.fetches == []


def test_a_failed_fetch_is_refused_with_its_reason(h: Harness) -> None:
    def down(url: str) -> dict[str, Any]:
        raise CimdError("cannot connect to https://agent.example.org: connection refused")

    use_fetch(h, down)
    response = h.authorize(h.authorize_params(CLIENT_ID, Pkce()))
    assert response.json()["error"] == "invalid_client"
    assert "connection refused" in response.json()["error_description"]
    token = h.exchange(CLIENT_ID, "whatever", Pkce())
    assert token.json()["error"] == "invalid_client"
    assert ALICE
