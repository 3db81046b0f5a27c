"""``/api/wikis/{slug}/tokens`` and ``/apps``: created once, verified by the shared core, listed, revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.platform.tests.support import Platform, make, share
from wikibot_shared.acl import Action
from wikibot_shared.db import transaction
from wikibot_shared.errors import AuthError, Forbidden
from wikibot_shared.models import AccessToken, OAuthClient, OAuthGrant, OAuthRefreshToken


def create(platform: Platform, did: str, slug: str = "notes", **body: Any) -> Any:
    return platform.client.post(
        f"/api/wikis/{slug}/tokens", json={"name": "cli", **body}, headers=platform.bearer(did)
    )


def authorize(platform: Platform, token: str, action: Action, host: str = "notes.localhost:8080") -> Any:
    return platform.app.state.verifier.authorize(host, {"Authorization": f"Bearer {token}"}, {}, action)


def test_created_token_is_shown_once_stored_hashed_and_works_on_its_wiki(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    make(platform, alice, "other")
    response = create(platform, alice, scopes=["wiki:write"], expires_in_days=30)
    assert response.status_code == 201, response.text
    body = response.json()
    secret = body["token"]
    assert secret.startswith("wbp_")
    assert body["scopes"] == ["wiki:write"]
    assert body["expires_at"] is not None
    listed = platform.client.get("/api/wikis/notes/tokens", headers=platform.bearer(alice)).json()
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]
    assert listed[0]["last_used_at"] is None
    with platform.app.state.db() as db:
        row = db.get(AccessToken, body["id"])
        assert row is not None
        assert secret not in row.token_hash
    access = authorize(platform, secret, Action.WRITE)
    assert access.principal.did == alice
    with pytest.raises(AuthError, match="another wiki"):
        authorize(platform, secret, Action.READ, host="other.localhost:8080")
    used = platform.client.get("/api/wikis/notes/tokens", headers=platform.bearer(alice)).json()
    assert used[0]["last_used_at"] is not None


def test_revoked_token_stops_working(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    body = create(platform, alice).json()
    assert authorize(platform, body["token"], Action.READ).principal.did == alice
    gone = platform.client.delete(f"/api/wikis/notes/tokens/{body['id']}", headers=platform.bearer(alice))
    assert gone.status_code == 204
    with pytest.raises(AuthError, match="revoked"):
        authorize(platform, body["token"], Action.READ)
    assert platform.client.get("/api/wikis/notes/tokens", headers=platform.bearer(alice)).json() == []
    again = platform.client.delete(f"/api/wikis/notes/tokens/{body['id']}", headers=platform.bearer(alice))
    assert again.status_code == 404
    assert again.json()["error"] == "unknown_token"


@pytest.mark.parametrize(
    ("role", "read", "write", "code"),
    [
        ("owner", 201, 201, None),
        ("editor", 201, 201, None),
        ("viewer", 201, 403, "role_forbids"),
        (None, 403, 403, "no_access"),  # tokens need a role, not just a public wiki
    ],
)
def test_scopes_each_role_may_create(
    platform: Platform, role: str | None, read: int, write: int, code: str | None
) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice, is_public=True)
    if role and role != "owner":
        share(platform, "notes", bob, role)
    who = alice if role == "owner" else bob
    assert create(platform, who, scopes=["wiki:read"]).status_code == read
    refused = create(platform, who, scopes=["wiki:read", "wiki:write"])
    assert refused.status_code == write
    if code is not None:
        assert refused.json()["error"] == code


def test_viewer_token_cannot_write_even_if_role_is_later_lowered(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "editor")
    secret = create(platform, bob, scopes=["wiki:write"]).json()["token"]
    platform.client.patch(
        f"/api/wikis/notes/members/{bob}", json={"role": "viewer"}, headers=platform.bearer(alice)
    )
    with pytest.raises(Forbidden):
        authorize(platform, secret, Action.WRITE)
    assert authorize(platform, secret, Action.READ).principal.did == bob


def test_owners_see_and_revoke_everyones_tokens_others_only_their_own(platform: Platform) -> None:
    alice, bob, carol = platform.user("alice"), platform.user("bob"), platform.user("carol")
    make(platform, alice)
    share(platform, "notes", bob, "editor")
    share(platform, "notes", carol, "editor")
    mine = create(platform, alice).json()
    bobs = create(platform, bob).json()
    carols = create(platform, carol).json()
    seen_by_alice = {
        t["id"] for t in platform.client.get("/api/wikis/notes/tokens", headers=platform.bearer(alice)).json()
    }
    assert seen_by_alice == {mine["id"], bobs["id"], carols["id"]}
    seen_by_bob = [
        t["id"] for t in platform.client.get("/api/wikis/notes/tokens", headers=platform.bearer(bob)).json()
    ]
    assert seen_by_bob == [bobs["id"]]
    assert (
        platform.client.delete(
            f"/api/wikis/notes/tokens/{carols['id']}", headers=platform.bearer(bob)
        ).status_code
        == 403
    )
    assert (
        platform.client.delete(
            f"/api/wikis/notes/tokens/{carols['id']}", headers=platform.bearer(alice)
        ).status_code
        == 204
    )
    assert (
        platform.client.delete(
            f"/api/wikis/notes/tokens/{bobs['id']}", headers=platform.bearer(bob)
        ).status_code
        == 204
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": ""}, 400, "invalid_name"),
        ({"name": "   "}, 400, "invalid_name"),
        ({"name": "x" * 101}, 400, "invalid_name"),
        ({"scopes": ["wiki:admin"]}, 422, "invalid_request"),
        ({"scopes": []}, 400, "invalid_scope"),
        ({"expires_in_days": 0}, 422, "invalid_request"),
        ({"expires_in_days": 99999}, 422, "invalid_request"),
        ({"token": "wbp_mine"}, 422, "invalid_request"),
    ],
)
def test_bad_token_requests(platform: Platform, body: dict[str, Any], status: int, code: str) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    response = create(platform, alice, **body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code
    assert platform.client.get("/api/wikis/notes/tokens", headers=platform.bearer(alice)).json() == []


def test_token_on_another_wiki_cannot_be_revoked_through_this_one(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    make(platform, alice, "other")
    other = create(platform, alice, slug="other").json()
    response = platform.client.delete(
        f"/api/wikis/notes/tokens/{other['id']}", headers=platform.bearer(alice)
    )
    assert response.status_code == 404
    assert authorize(platform, other["token"], Action.READ, host="other.localhost:8080")


def test_a_personal_token_cannot_manage(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    secret = create(platform, alice, scopes=["wiki:write"]).json()["token"]
    response = platform.client.get("/api/wikis", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def grant(platform: Platform, gid: str, did: str, client: str = "c1") -> None:
    with transaction(platform.app.state.db) as db:
        if db.get(OAuthClient, client) is None:
            db.add(
                OAuthClient(
                    client_id=client,
                    client_name="Claude",
                    redirect_uris=["https://claude.ai/api/mcp/auth_callback"],
                )
            )
            db.flush()
        db.add(
            OAuthGrant(
                id=gid,
                client_id=client,
                user_did=did,
                wiki_slug="notes",
                scopes="wiki:read wiki:write",
                token_issued_at=datetime.now(UTC),
            )
        )
        db.flush()
        for n in range(2):
            db.add(
                OAuthRefreshToken(
                    token_hash=f"{gid}-{n}",
                    grant_id=gid,
                    scopes="wiki:read",
                    expires_at=datetime.now(UTC) + timedelta(days=30),
                )
            )


def test_connected_apps_listed_and_revoked_with_their_refresh_tokens(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "editor")
    grant(platform, "g-alice", alice)
    grant(platform, "g-bob", bob)
    apps = platform.client.get("/api/wikis/notes/apps", headers=platform.bearer(alice)).json()
    assert {a["id"] for a in apps} == {"g-alice", "g-bob"}
    assert apps[0]["client_name"] == "Claude"
    assert apps[0]["client_host"] == "claude.ai"
    bobs = platform.client.get("/api/wikis/notes/apps", headers=platform.bearer(bob)).json()
    assert [a["id"] for a in bobs] == ["g-bob"]
    assert (
        platform.client.delete("/api/wikis/notes/apps/g-alice", headers=platform.bearer(bob)).status_code
        == 403
    )
    assert (
        platform.client.delete("/api/wikis/notes/apps/g-bob", headers=platform.bearer(alice)).status_code
        == 204
    )
    with platform.app.state.db() as db:
        revoked = db.get(OAuthGrant, "g-bob")
        assert revoked is not None
        assert revoked.revoked_at is not None
        for n in range(2):
            row = db.get(OAuthRefreshToken, f"g-bob-{n}")
            assert row is not None
            assert row.revoked_at is not None
        kept = db.get(OAuthRefreshToken, "g-alice-0")
        assert kept is not None
        assert kept.revoked_at is None
    assert (
        platform.client.delete("/api/wikis/notes/apps/g-bob", headers=platform.bearer(alice)).status_code
        == 404
    )
    listed = platform.client.get("/api/wikis/notes/apps", headers=platform.bearer(alice)).json()
    assert {a["id"]: a["status"] for a in listed} == {"g-alice": "connected", "g-bob": "ended"}
