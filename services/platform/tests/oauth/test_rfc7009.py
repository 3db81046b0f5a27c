"""RFC 7009 revocation: either token ends the grant; unknown tokens are fine; only the owning client may."""

from __future__ import annotations

import base64

from services.platform.tests.oauth.harness import Harness, Pkce


def _revoke(h: Harness, **form: str) -> object:
    return h.http.post("/auth/oauth/revoke", data=form)


def test_revoking_the_access_token_ends_the_grant(h: Harness) -> None:
    client = h.register()["client_id"]
    tokens = h.tokens(client)
    response = _revoke(h, token=tokens["access_token"], token_type_hint="access_token", client_id=client)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.headers["access-control-allow-origin"] == "*"  # type: ignore[attr-defined]
    h.refused_on_wiki("notes", tokens["access_token"])
    assert h.refresh(client, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_unknown_tokens_and_unknown_hints_get_200(h: Harness) -> None:
    client = h.register()["client_id"]
    tokens = h.tokens(client)
    for token in ("nonsense", "wbr_unknown", "a.b.c", tokens["access_token"][:-4] + "AAAA"):
        response = _revoke(h, token=token, client_id=client, token_type_hint="something_else")
        assert response.status_code == 200, token  # type: ignore[attr-defined]
    assert h.on_wiki("notes", tokens["access_token"]).did  # a forged signature revoked nothing
    missing = _revoke(h, client_id=client)
    assert missing.status_code == 400  # type: ignore[attr-defined]
    assert missing.json()["error"] == "invalid_request"  # type: ignore[attr-defined]


def test_a_client_cannot_revoke_another_clients_token(h: Harness) -> None:
    client = h.register()["client_id"]
    other = h.register()["client_id"]
    tokens = h.tokens(client)
    response = _revoke(h, token=tokens["refresh_token"], client_id=other)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert h.on_wiki("notes", tokens["access_token"]).did


def test_confidential_client_authenticates_to_revoke(h: Harness) -> None:
    client = h.register(token_endpoint_auth_method="client_secret_basic")
    cid, secret = client["client_id"], client["client_secret"]
    pkce = Pkce()
    code = h.code(cid, pkce)
    tokens = h.exchange(cid, code, pkce, client_secret=secret).json()
    refused = _revoke(h, token=tokens["refresh_token"], client_id=cid)
    assert refused.status_code == 401  # type: ignore[attr-defined]
    assert h.on_wiki("notes", tokens["access_token"]).did
    basic = "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()
    done = h.http.post(
        "/auth/oauth/revoke", data={"token": tokens["refresh_token"]}, headers={"Authorization": basic}
    )
    assert done.status_code == 200
    h.refused_on_wiki("notes", tokens["access_token"])
