"""``/api/wikis/{slug}/members``: add by handle or DID, change roles, remove, leave; every role; bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.platform.tests.support import Platform, make, share
from wikibot_shared.db import transaction
from wikibot_shared.models import AccessToken, OAuthClient, OAuthGrant, OAuthRefreshToken


def members(platform: Platform, did: str, slug: str = "notes") -> list[dict[str, Any]]:
    response = platform.client.get(f"/api/wikis/{slug}/members", headers=platform.bearer(did))
    assert response.status_code == 200, response.text
    return list(response.json())


def test_add_by_handle_and_did_then_list(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    by_handle = platform.client.post(
        "/api/wikis/notes/members",
        json={"handle": "@Bob.test", "role": "viewer"},
        headers=platform.bearer(alice),
    )
    assert by_handle.status_code == 201, by_handle.text
    assert by_handle.json()["did"] == bob
    assert by_handle.json()["handle"] == "bob.test"
    stranger = "did:plc:notsignedinyetxxxxxxxxxx"
    by_did = platform.client.post(
        "/api/wikis/notes/members", json={"did": stranger, "role": "editor"}, headers=platform.bearer(alice)
    )
    assert by_did.status_code == 201
    assert by_did.json()["handle"] is None
    listed = members(platform, alice)
    assert [(m["did"], m["role"], m["owner_of_record"]) for m in listed] == [
        (alice, "owner", True),
        (stranger, "editor", False),
        (bob, "viewer", False),
    ]
    assert listed[2]["granted_by"] == alice
    # the new viewer sees the wiki on their dashboard, at once
    assert [w["slug"] for w in platform.client.get("/api/wikis", headers=platform.bearer(bob)).json()] == [
        "notes"
    ]


def test_handle_resolver_hook_is_used_for_unknown_handles(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    asked: list[str] = []

    def resolver(handle: str) -> str | None:
        asked.append(handle)
        return "did:plc:resolvedxxxxxxxxxxxxxxx" if handle == "carol.bsky.social" else None

    platform.app.state.handle_resolver = resolver
    found = platform.client.post(
        "/api/wikis/notes/members", json={"handle": "carol", "role": "viewer"}, headers=platform.bearer(alice)
    )
    assert found.status_code == 201, found.text
    assert found.json()["did"] == "did:plc:resolvedxxxxxxxxxxxxxxx"
    assert found.json()["handle"] == "carol.bsky.social"
    missing = platform.client.post(
        "/api/wikis/notes/members",
        json={"handle": "nobody.example", "role": "viewer"},
        headers=platform.bearer(alice),
    )
    assert missing.status_code == 404
    assert missing.json()["error"] == "unknown_user"
    assert asked == ["carol.bsky.social", "nobody.example"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"handle": "ghost.test", "role": "viewer"}, 404, "unknown_user"),
        ({"handle": "not a handle!", "role": "viewer"}, 400, "invalid_handle"),
        ({"did": "plc:nope", "role": "viewer"}, 400, "invalid_did"),
        ({"did": "did:plc:x", "handle": "bob.test", "role": "viewer"}, 400, "invalid_request"),
        ({"role": "viewer"}, 400, "invalid_request"),
        ({"handle": "bob.test", "role": "admin"}, 422, "invalid_request"),
        ({"handle": "bob.test"}, 422, "invalid_request"),
        ({"handle": "alice.test", "role": "editor"}, 409, "already_member"),
    ],
)
def test_bad_additions(platform: Platform, body: dict[str, Any], status: int, code: str) -> None:
    alice = platform.user("alice")
    platform.user("bob")
    make(platform, alice)
    response = platform.client.post("/api/wikis/notes/members", json=body, headers=platform.bearer(alice))
    assert response.status_code == status, response.text
    assert response.json()["error"] == code
    assert len(members(platform, alice)) == 1


def test_adding_twice_is_409(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    body = {"did": bob, "role": "viewer"}
    assert (
        platform.client.post(
            "/api/wikis/notes/members", json=body, headers=platform.bearer(alice)
        ).status_code
        == 201
    )
    again = platform.client.post("/api/wikis/notes/members", json=body, headers=platform.bearer(alice))
    assert again.status_code == 409
    assert again.json()["error"] == "already_member"


@pytest.mark.parametrize(
    ("role", "list_status", "add_status", "code"),
    [
        ("owner", 200, 201, None),
        ("editor", 200, 403, "role_forbids"),
        ("viewer", 200, 403, "role_forbids"),
        (None, 403, 403, "no_access"),  # a public wiki: readable, but not theirs to manage
    ],
)
def test_roles_for_listing_and_adding(
    platform: Platform, role: str | None, list_status: int, add_status: int, code: str | None
) -> None:
    alice, bob, carol = platform.user("alice"), platform.user("bob"), platform.user("carol")
    make(platform, alice, is_public=True)
    if role:
        share(platform, "notes", bob, role)
    listed = platform.client.get("/api/wikis/notes/members", headers=platform.bearer(bob))
    assert listed.status_code == list_status
    added = platform.client.post(
        "/api/wikis/notes/members", json={"did": carol, "role": "viewer"}, headers=platform.bearer(bob)
    )
    assert added.status_code == add_status, added.text
    if code is not None:
        assert added.json()["error"] == code


def test_change_role_and_its_errors(platform: Platform) -> None:
    alice, bob, carol = platform.user("alice"), platform.user("bob"), platform.user("carol")
    make(platform, alice)
    share(platform, "notes", bob, "viewer")
    share(platform, "notes", carol, "editor")
    changed = platform.client.patch(
        f"/api/wikis/notes/members/{bob}", json={"role": "owner"}, headers=platform.bearer(alice)
    )
    assert changed.status_code == 200
    assert changed.json()["role"] == "owner"
    # a co-owner manages too
    co = platform.client.patch(
        f"/api/wikis/notes/members/{carol}", json={"role": "viewer"}, headers=platform.bearer(bob)
    )
    assert co.status_code == 200
    by_editor = platform.client.patch(
        f"/api/wikis/notes/members/{bob}", json={"role": "viewer"}, headers=platform.bearer(carol)
    )
    assert by_editor.status_code == 403
    owner = platform.client.patch(
        f"/api/wikis/notes/members/{alice}", json={"role": "viewer"}, headers=platform.bearer(bob)
    )
    assert owner.status_code == 409
    assert owner.json()["error"] == "owner_of_record"
    unknown = platform.client.patch(
        "/api/wikis/notes/members/did:plc:nobodyxxxxxxxxxxxxxxxxxx",
        json={"role": "viewer"},
        headers=platform.bearer(alice),
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown_member"
    bad = platform.client.patch(
        f"/api/wikis/notes/members/{bob}", json={"role": "god"}, headers=platform.bearer(alice)
    )
    assert bad.status_code == 422
    bad_did = platform.client.patch(
        "/api/wikis/notes/members/bob", json={"role": "viewer"}, headers=platform.bearer(alice)
    )
    assert bad_did.status_code == 400
    assert bad_did.json()["error"] == "invalid_did"


def test_remove_revokes_their_tokens_and_apps_and_access(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "editor")
    token = platform.client.post(
        "/api/wikis/notes/tokens",
        json={"name": "bob cli", "scopes": ["wiki:write"]},
        headers=platform.bearer(bob),
    ).json()
    now = datetime.now(UTC)
    with transaction(platform.app.state.db) as db:
        db.add(OAuthClient(client_id="c1", client_name="Claude"))
        db.flush()
        db.add(OAuthGrant(id="g1", client_id="c1", user_did=bob, wiki_slug="notes", scopes="wiki:read"))
        db.flush()
        db.add(
            OAuthRefreshToken(
                token_hash="h1", grant_id="g1", scopes="wiki:read", expires_at=now + timedelta(days=1)
            )
        )
    removed = platform.client.delete(f"/api/wikis/notes/members/{bob}", headers=platform.bearer(alice))
    assert removed.status_code == 204
    assert platform.client.get("/api/wikis/notes", headers=platform.bearer(bob)).status_code == 403
    with platform.app.state.db() as db:
        pat = db.get(AccessToken, token["id"])
        assert pat is not None
        assert pat.revoked_at is not None
        grant = db.get(OAuthGrant, "g1")
        assert grant is not None
        assert grant.revoked_at is not None
        refresh = db.get(OAuthRefreshToken, "h1")
        assert refresh is not None
        assert refresh.revoked_at is not None
    again = platform.client.delete(f"/api/wikis/notes/members/{bob}", headers=platform.bearer(alice))
    assert again.status_code == 404


def test_leave_and_owner_cannot_be_removed(platform: Platform) -> None:
    alice, bob, carol = platform.user("alice"), platform.user("bob"), platform.user("carol")
    make(platform, alice)
    share(platform, "notes", bob, "viewer")
    share(platform, "notes", carol, "viewer")
    other = platform.client.delete(f"/api/wikis/notes/members/{carol}", headers=platform.bearer(bob))
    assert other.status_code == 403
    left = platform.client.delete(f"/api/wikis/notes/members/{bob}", headers=platform.bearer(bob))
    assert left.status_code == 204
    assert platform.client.get("/api/wikis", headers=platform.bearer(bob)).json() == []
    owner = platform.client.delete(f"/api/wikis/notes/members/{alice}", headers=platform.bearer(alice))
    assert owner.status_code == 409
    assert owner.json()["error"] == "owner_of_record"


def test_unknown_wiki(platform: Platform) -> None:
    alice = platform.user("alice")
    response = platform.client.get("/api/wikis/nothing/members", headers=platform.bearer(alice))
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_wiki"
