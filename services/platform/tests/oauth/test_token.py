"""The token endpoint and the tokens it issues: the negative suite of issue 4, end to end with the verifier."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from services.platform.tests.oauth.harness import ALICE, CAROL, REDIRECT, Harness, Pkce, redirected
from wikibot_platform.oauth.state import CODE_PREFIX
from wikibot_shared.errors import AuthError, InsufficientScope
from wikibot_shared.keys import generate_es256
from wikibot_shared.models import Acl, OAuthGrant, OAuthRefreshToken
from wikibot_shared.tokens import AccessClaims, issue_access_token, sha256_hex


def _client(h: Harness, **metadata: object) -> dict[str, str]:
    return h.register(**metadata)  # type: ignore[arg-type]


def _error(response: object, status: int, error: str) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["error"] == error, body
    assert body["error_description"]
    assert response.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]


# -- authorization_code ---------------------------------------------------------------------------------------


def test_pkce_wrong_or_missing_verifier(h: Harness) -> None:
    client = _client(h)["client_id"]
    pkce = Pkce()
    code = h.code(client, pkce)
    _error(h.exchange(client, code, Pkce()), 400, "invalid_grant")  # wrong verifier
    pkce = Pkce()
    code = h.code(client, pkce)
    _error(h.exchange(client, code, pkce, code_verifier=""), 400, "invalid_request")  # missing
    pkce = Pkce()
    code = h.code(client, pkce)
    _error(h.exchange(client, code, pkce, code_verifier="short"), 400, "invalid_request")


def test_code_replay_is_refused_and_revokes_what_it_gave(h: Harness) -> None:
    client = _client(h)["client_id"]
    pkce = Pkce()
    code = h.code(client, pkce)
    first = h.exchange(client, code, pkce)
    assert first.status_code == 200
    tokens = first.json()
    assert h.on_wiki("notes", tokens["access_token"]).did == ALICE
    _error(h.exchange(client, code, pkce), 400, "invalid_grant")
    h.refused_on_wiki("notes", tokens["access_token"])  # RFC 6749 §4.1.2
    _error(h.refresh(client, tokens["refresh_token"]), 400, "invalid_grant")


def test_redirect_uri_must_be_the_one_authorized(h: Harness) -> None:
    client = _client(h, redirect_uris=[REDIRECT, "https://app.example/cb"])["client_id"]
    pkce = Pkce()
    code = h.code(client, pkce)
    _error(h.exchange(client, code, pkce, redirect_uri="https://app.example/cb"), 400, "invalid_grant")


def test_unknown_client_and_code_of_another_client(h: Harness) -> None:
    client = _client(h)["client_id"]
    other = _client(h)["client_id"]
    pkce = Pkce()
    code = h.code(client, pkce)
    _error(h.exchange("wbk_nobody", code, pkce), 401, "invalid_client")  # "register again" (RFC 6749 §5.2)
    _error(h.exchange(other, code, pkce), 400, "invalid_grant")
    _error(h.exchange(client, code, pkce), 400, "invalid_grant")  # the failed attempt used it up


def test_code_expires(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(oauth_code_ttl=1)
    client = _client(h)["client_id"]
    pkce = Pkce()
    code = h.code(client, pkce)
    key = CODE_PREFIX + sha256_hex(code)
    assert 0 < h.redis.ttl(key) <= 1  # stored with the TTL configured
    h.redis.pexpire(key, 1)  # that second, passed at once: Redis expires it as it would have
    time.sleep(0.01)
    _error(h.exchange(client, code, pkce), 400, "invalid_grant")


def test_resource_at_the_token_endpoint_must_match(h: Harness) -> None:
    client = _client(h)["client_id"]
    pkce = Pkce()
    code = h.code(client, pkce)
    _error(h.exchange(client, code, pkce, resource=h.resource("other")), 400, "invalid_target")
    pkce = Pkce()
    ok = h.exchange(client, h.code(client, pkce), pkce, resource=h.resource("notes"))
    assert ok.status_code == 200


def test_malformed_token_requests(h: Harness) -> None:
    client = _client(h)["client_id"]
    _error(h.token(grant_type="password", username="a", password="b"), 400, "unsupported_grant_type")
    _error(h.token(grant_type="client_credentials", client_id=client), 400, "unsupported_grant_type")
    as_json = h.http.post("/auth/oauth/token", json={"grant_type": "authorization_code"})
    _error(as_json, 400, "invalid_request")
    twice = h.http.post(
        "/auth/oauth/token",
        content=f"grant_type=authorization_code&code=a&code=b&client_id={client}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _error(twice, 400, "invalid_request")
    _error(h.token(grant_type="authorization_code", client_id=client), 400, "invalid_request")  # no code


# -- access tokens at the resource (the shared verifier) ------------------------------------------------------


def test_token_for_wiki_a_is_refused_on_wiki_b(h: Harness) -> None:
    tokens = h.tokens(_client(h)["client_id"])
    assert h.on_wiki("notes", tokens["access_token"]).wiki == "notes"
    error = h.refused_on_wiki("other", tokens["access_token"])
    assert "another resource" in error.message


def test_claims_of_an_access_token(h: Harness) -> None:
    client = _client(h)["client_id"]
    tokens = h.tokens(client)
    header_b64, payload_b64, _sig = tokens["access_token"].split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert claims["iss"] == h.settings.issuer
    assert claims["sub"] == ALICE
    assert claims["aud"] == "http://notes.localhost:8080/mcp"
    assert claims["client_id"] == client
    assert claims["scope"] == "wiki:read wiki:write offline_access"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]
    assert claims["gid"]


def test_expired_tampered_alg_none_and_unknown_kid(h: Harness) -> None:
    tokens = h.tokens(_client(h)["client_id"])
    access = tokens["access_token"]
    later = dataclasses.replace(h.app.state.verifier, clock=lambda: time.time() + 7200)
    with pytest.raises(AuthError, match="token has expired"):
        later.authenticate("notes.localhost:8080", {"authorization": f"Bearer {access}"}, {})
    header, payload, signature = access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "wiki:read wiki:write admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "does not verify" in h.refused_on_wiki("notes", f"{header}.{forged}.{signature}").message
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode()
    assert "algorithm" in h.refused_on_wiki("notes", f"{none_header}.{payload}.").message
    with h.db() as db:
        gid = db.execute(select(OAuthGrant.id)).scalar_one()
    stranger_key = generate_es256()
    foreign = issue_access_token(
        stranger_key,
        AccessClaims(h.settings.issuer, h.resource("notes"), ALICE, claims["client_id"], "wiki:write", gid),
    )
    assert "unknown key" in h.refused_on_wiki("notes", foreign).message


def test_revoked_grant_is_401_at_once(h: Harness) -> None:
    client = _client(h)["client_id"]
    tokens = h.tokens(client)
    with h.db() as db:  # what the connected-apps page of /app does
        db.execute(update(OAuthGrant).values(revoked_at=datetime.now(UTC)))
        db.commit()
    h.refused_on_wiki("notes", tokens["access_token"])
    _error(h.refresh(client, tokens["refresh_token"]), 400, "invalid_grant")


# -- refresh_token ----------------------------------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_family(h: Harness) -> None:
    client = _client(h)["client_id"]
    first = h.tokens(client)
    second = h.refresh(client, first["refresh_token"]).json()
    third = h.refresh(client, second["refresh_token"]).json()
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert h.on_wiki("notes", third["access_token"]).did == ALICE
    _error(h.refresh(client, first["refresh_token"]), 400, "invalid_grant")  # reuse of a rotated token
    for tokens in (first, second, third):
        h.refused_on_wiki("notes", tokens["access_token"])
    _error(h.refresh(client, third["refresh_token"]), 400, "invalid_grant")  # the newest one died too
    with h.db() as db:
        assert db.execute(select(OAuthGrant.revoked_at)).scalar_one() is not None
        assert all(r.revoked_at is not None for r in db.execute(select(OAuthRefreshToken)).scalars())


def test_refresh_checks_client_resource_scope_and_expiry(h: Harness) -> None:
    client = _client(h)["client_id"]
    other = _client(h)["client_id"]
    tokens = h.tokens(client)
    _error(h.refresh(other, tokens["refresh_token"]), 400, "invalid_grant")
    _error(h.refresh(client, tokens["refresh_token"], resource=h.resource("other")), 400, "invalid_target")
    _error(h.refresh(client, tokens["refresh_token"], scope="wiki:read admin"), 400, "invalid_scope")
    _error(h.refresh(client, "wbr_" + "x" * 43), 400, "invalid_grant")
    narrowed = h.refresh(client, tokens["refresh_token"], scope="wiki:read")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "wiki:read"
    assert "refresh_token" not in narrowed.json()  # offline_access was not kept
    with h.db() as db:
        db.execute(update(OAuthRefreshToken).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
        db.commit()
    later = h.tokens(client)
    with h.db() as db:
        db.execute(update(OAuthRefreshToken).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
        db.commit()
    _error(h.refresh(client, later["refresh_token"]), 400, "invalid_grant")


def test_refresh_tokens_follow_the_registration_not_the_request(h: Harness) -> None:
    """A client registered for the refresh_token grant stays connected without knowing about offline_access
    (what MCP clients ask for is the 401's scope); one that is not never gets a refresh token, even asking."""
    client = _client(h)["client_id"]
    connected = h.tokens(client, scope="wiki:read wiki:write")
    assert connected["refresh_token"].startswith("wbr_")
    assert connected["scope"] == "wiki:read wiki:write offline_access"  # says what came with it
    assert h.refresh(client, connected["refresh_token"]).status_code == 200
    code_only = _client(h, grant_types=["authorization_code"])["client_id"]
    tokens = h.tokens(code_only)  # the harness asks for offline_access
    assert "refresh_token" not in tokens
    assert tokens["scope"] == "wiki:read wiki:write"


def test_the_person_can_untick_staying_connected(h: Harness) -> None:
    client = _client(h)["client_id"]
    pkce = Pkce()
    page = h.authorize(h.authorize_params(client, pkce, scope="wiki:read wiki:write"))
    assert 'value="offline_access" checked' in page.text
    done = h.answer(page, scope=["wiki:read", "wiki:write"])
    tokens = h.exchange(client, redirected(done)["code"], pkce).json()
    assert "refresh_token" not in tokens
    assert tokens["scope"] == "wiki:read wiki:write"


def test_removed_collaborator_cannot_refresh(h: Harness) -> None:
    client = _client(h)["client_id"]
    tokens = h.tokens(client, CAROL)
    with h.db() as db:
        db.execute(delete(Acl).where(Acl.grantee_did == CAROL))
        db.commit()
    _error(h.refresh(client, tokens["refresh_token"]), 400, "invalid_grant")
    with h.db() as db:
        (grant,) = db.scalars(select(OAuthGrant).where(OAuthGrant.user_did == CAROL)).all()
        assert grant.revoked_at is not None
        assert grant.last_refusal == "refresh refused: the person no longer has access to this wiki"
    with h.db() as db:
        assert db.execute(select(OAuthGrant.revoked_at)).scalar_one() is not None


# -- client authentication (RFC 6749 §2.3.1) ---------------------------------------------------------------------


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.mark.parametrize("registered", ["client_secret_basic", "client_secret_post"])
def test_confidential_clients_may_use_basic_or_post(h: Harness, registered: str) -> None:
    client = _client(h, token_endpoint_auth_method=registered)
    cid, secret = client["client_id"], client["client_secret"]
    pkce = Pkce()
    by_post = h.exchange(cid, h.code(cid, pkce), pkce, client_secret=secret)
    assert by_post.status_code == 200, by_post.text  # even when registered for basic (Claude.ai)
    pkce = Pkce()
    code = h.code(cid, pkce)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": pkce.verifier,
    }
    by_basic = h.http.post("/auth/oauth/token", data=form, headers=_basic(cid, secret))
    assert by_basic.status_code == 200, by_basic.text
    refreshed = h.http.post(
        "/auth/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": by_basic.json()["refresh_token"]},
        headers=_basic(cid, secret),
    )
    assert refreshed.status_code == 200, refreshed.text


def test_confidential_client_must_authenticate(h: Harness) -> None:
    client = _client(h, token_endpoint_auth_method="client_secret_basic")
    cid = client["client_id"]
    pkce = Pkce()
    code = h.code(cid, pkce)
    _error(h.exchange(cid, code, pkce), 401, "invalid_client")  # no secret at all
    pkce = Pkce()
    code = h.code(cid, pkce)
    _error(h.exchange(cid, code, pkce, client_secret="wbc_wrong"), 401, "invalid_client")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": pkce.verifier,
    }
    wrong = h.http.post("/auth/oauth/token", data=form, headers=_basic(cid, "wbc_wrong"))
    _error(wrong, 401, "invalid_client")
    assert wrong.headers["www-authenticate"].startswith("Basic")


def test_the_connection_steps_are_recorded_as_they_happen(h: Harness) -> None:
    """What the connected-apps page shows, written by the real flow: consent, first token, first call at the
    wiki (through the shared verifier), a refresh, and the last refusal with its reason."""
    from wikibot_shared.acl import Action

    def grant_row() -> OAuthGrant:
        with h.db() as db:
            (row,) = db.scalars(select(OAuthGrant).where(OAuthGrant.client_id == client)).all()
            db.expunge(row)
            return row

    client = _client(h)["client_id"]
    pkce = Pkce()
    code = h.code(client, pkce, scope="wiki:read")
    consented = grant_row()
    assert consented.token_issued_at is None  # consented: the app has not fetched its token yet
    tokens = h.exchange(client, code, pkce).json()
    assert grant_row().token_issued_at is not None
    assert grant_row().first_used_at is None
    h.on_wiki("notes", tokens["access_token"])
    first = grant_row()
    assert first.first_used_at is not None
    assert first.first_used_at == first.last_used_at
    h.refresh(client, tokens["refresh_token"]).raise_for_status()
    assert grant_row().last_refreshed_at is not None
    with pytest.raises(InsufficientScope):  # a read-only token asked to write: the step-up refusal is noted
        h.app.state.verifier.authorize(
            "notes.localhost:8080", {"authorization": f"Bearer {tokens['access_token']}"}, {}, Action.WRITE
        )
    refused = grant_row()
    assert refused.last_refusal_at is not None
    assert (
        refused.last_refusal == "insufficient_scope: this token lacks the 'wiki:write' scope needed to write"
    )


def test_token_endpoint_is_rate_limited_per_address_and_client(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(rate_limits_json='{"oauth_token": [3, 60]}')
    client = h.register()["client_id"]
    statuses = [
        h.token(grant_type="refresh_token", client_id=client, refresh_token="x").status_code for _ in range(4)
    ]
    assert statuses[:3] == [400, 400, 400]  # counted, then refused as they deserve
    assert statuses[3] == 429
    refused = h.token(grant_type="refresh_token", client_id=client, refresh_token="x")
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    other = h.register()["client_id"]  # another client from the same address keeps its own budget
    assert h.tokens(other)["access_token"]
