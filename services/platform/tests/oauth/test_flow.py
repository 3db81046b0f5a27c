"""The whole authorization-code flow against the real app: register, consent, token, use, refresh, revoke."""

from __future__ import annotations

from services.platform.tests.oauth.harness import ALICE, REDIRECT, Harness, Pkce, redirected


def test_public_client_end_to_end(h: Harness) -> None:
    client = h.register()
    assert "client_secret" not in client
    assert client["token_endpoint_auth_method"] == "none"
    pkce = Pkce()
    params = h.authorize_params(client["client_id"], pkce)
    page = h.authorize(params)
    assert page.status_code == 200
    assert "Test Agent" in page.text
    assert "127.0.0.1:53682" in page.text  # the redirect host is shown
    assert "Notes" in page.text
    done = h.answer(page)
    assert done.status_code == 302
    query = redirected(done)
    assert query["state"] == params["state"]
    assert query["iss"] == h.settings.issuer  # RFC 9207
    response = h.exchange(client["client_id"], query["code"], pkce)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == "wiki:read wiki:write offline_access"
    assert tokens["refresh_token"].startswith("wbr_")
    assert 3500 < tokens["expires_in"] <= 3600
    principal = h.on_wiki("notes", tokens["access_token"])
    assert principal.did == ALICE
    assert principal.method == "oauth"
    assert principal.client_id == client["client_id"]
    assert principal.scopes == {"wiki:read", "wiki:write", "offline_access"}

    refreshed = h.refresh(client["client_id"], tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]  # rotated
    assert h.on_wiki("notes", new["access_token"]).did == ALICE

    revoked = h.http.post(
        "/auth/oauth/revoke", data={"token": new["refresh_token"], "client_id": client["client_id"]}
    )
    assert revoked.status_code == 200, revoked.text
    h.refused_on_wiki("notes", new["access_token"])
    h.refused_on_wiki("notes", tokens["access_token"])
    again = h.refresh(client["client_id"], new["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_redirect_uri_may_be_omitted_when_only_one_is_registered(h: Harness) -> None:
    client = h.register()
    pkce = Pkce()
    params = h.authorize_params(client["client_id"], pkce, redirect_uri=None)
    done = h.answer(h.authorize(params))
    code = redirected(done)["code"]
    response = h.exchange(client["client_id"], code, pkce, redirect_uri=None)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert REDIRECT
