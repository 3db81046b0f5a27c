"""``/api/wikis``: every endpoint, every role, bad input, tier limits, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.platform.tests.support import Platform, make, share
from wikibot_shared import storage
from wikibot_shared.db import transaction
from wikibot_shared.models import Acl, PaymentStatus, Wiki
from wikibot_shared.queue import STREAM


def test_create_makes_row_repo_from_template_and_notifies(platform: Platform) -> None:
    alice = platform.user("alice")
    wiki = make(platform, alice, "notes", display_name="  My   Notes ", is_public=False)
    assert wiki["slug"] == "notes"
    assert wiki["display_name"] == "My Notes"
    assert wiki["role"] == "owner"
    assert wiki["is_public"] is False
    assert wiki["mcp_url"] == "http://notes.localhost:8080/mcp"
    assert wiki["git_url"] == "http://notes.localhost:8080/repo.git"
    assert wiki["settings_url"] == "http://localhost:8080/app/wikis/notes"
    assert wiki["page_count"] == 2
    repo = storage.wiki_paths(platform.settings.wikis_dir, "notes").repo
    files = storage.git(repo, "ls-files").splitlines()
    assert sorted(files) == ["Agent Conventions.md", "Home.md"]
    home = (repo / "Home.md").read_text()
    assert "claude mcp add --transport http notes http://notes.localhost:8080/mcp" in home
    assert "[[Agent Conventions]]" in home
    assert "alice.test via Wikibot" in storage.git(repo, "log", "--format=%an")
    notice = platform.redis.xrange(STREAM)[-1][1]
    assert notice["wiki"] == "notes"
    assert notice["commit"] == storage.git(repo, "rev-parse", "HEAD").strip()


def test_display_name_defaults_to_slug_and_public_flag(platform: Platform) -> None:
    alice = platform.user("alice")
    wiki = make(platform, alice, "open-book", is_public=True)
    assert wiki["display_name"] == "open-book"
    assert wiki["is_public"] is True


@pytest.mark.parametrize(
    ("slug", "code"),
    [
        ("ab", "invalid_slug"),
        ("Notes", "invalid_slug"),
        ("no_underscore", "invalid_slug"),
        ("-lead", "invalid_slug"),
        ("trail-", "invalid_slug"),
        ("two--hyphens", "invalid_slug"),
        ("admin", "invalid_slug"),
        ("x" * 64, "invalid_slug"),
        ("../etc", "invalid_slug"),
    ],
)
def test_bad_slugs_are_refused_with_a_reason(platform: Platform, slug: str, code: str) -> None:
    alice = platform.user("alice")
    response = platform.client.post("/api/wikis", json={"slug": slug}, headers=platform.bearer(alice))
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert not (platform.settings.wikis_dir / slug).exists() or slug == "../etc"


@pytest.mark.parametrize(
    "body",
    [{}, {"slug": 5}, {"slug": "notes", "is_public": "maybe"}, {"slug": "notes", "owner": "x"}],
)
def test_malformed_bodies_are_422(platform: Platform, body: dict[str, Any]) -> None:
    alice = platform.user("alice")
    response = platform.client.post("/api/wikis", json=body, headers=platform.bearer(alice))
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_too_long_display_name(platform: Platform) -> None:
    alice = platform.user("alice")
    response = platform.client.post(
        "/api/wikis", json={"slug": "notes", "display_name": "x" * 201}, headers=platform.bearer(alice)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_display_name"


def test_duplicate_slug_is_409_and_leaves_the_first_alone(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice, "notes")
    response = platform.client.post("/api/wikis", json={"slug": "notes"}, headers=platform.bearer(bob))
    assert response.status_code == 409
    assert response.json()["error"] == "wiki_exists"
    assert (
        platform.client.get("/api/wikis/notes", headers=platform.bearer(alice)).json()["owner_did"] == alice
    )


def test_wikis_per_user_limit_is_403_with_a_clear_message(platform: Platform) -> None:
    alice = platform.user("alice")
    for i in range(3):  # the free tier's default
        make(platform, alice, f"wiki-{i}")
    response = platform.client.post("/api/wikis", json={"slug": "one-more"}, headers=platform.bearer(alice))
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "wiki_limit_reached"
    assert "free tier allows 3 wikis" in body["message"]
    assert not storage.wiki_paths(platform.settings.wikis_dir, "one-more").repo.exists()


@pytest.mark.parametrize("settings_overrides", [{"tiers_json": '{"premium": {"wikis_per_user": 4}}'}])
def test_premium_tier_from_configuration_allows_more(platform: Platform) -> None:
    carol = platform.user("carol", tier="premium")
    for i in range(4):
        make(platform, carol, f"wiki-{i}")
    response = platform.client.post("/api/wikis", json={"slug": "fifth"}, headers=platform.bearer(carol))
    assert response.status_code == 403
    assert "premium tier allows 4" in response.json()["message"]


def test_existing_repository_on_disk_is_a_conflict_and_no_row_is_left(platform: Platform) -> None:
    alice = platform.user("alice")
    (storage.wiki_paths(platform.settings.wikis_dir, "ghost").repo).mkdir(parents=True)
    response = platform.client.post("/api/wikis", json={"slug": "ghost"}, headers=platform.bearer(alice))
    assert response.status_code == 409
    with platform.app.state.db() as db:
        assert db.get(Wiki, "ghost") is None


def test_list_shows_owned_then_shared_with_roles(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice, "alpha")
    make(platform, bob, "bravo")
    make(platform, bob, "zulu")
    share(platform, "bravo", alice, "viewer")
    listed = platform.client.get("/api/wikis", headers=platform.bearer(alice)).json()
    assert [(w["slug"], w["role"]) for w in listed] == [("alpha", "owner"), ("bravo", "viewer")]
    assert listed[1]["owner_handle"] == "bob.test"


def test_get_by_role_and_visibility(platform: Platform) -> None:
    alice, bob, eve = platform.user("alice"), platform.user("bob"), platform.user("eve")
    make(platform, alice, "secret")
    make(platform, alice, "open", is_public=True)
    share(platform, "secret", bob, "editor")
    assert platform.client.get("/api/wikis/secret", headers=platform.bearer(bob)).json()["role"] == "editor"
    refused = platform.client.get("/api/wikis/secret", headers=platform.bearer(eve))
    assert refused.status_code == 403
    assert refused.json()["error"] == "no_access"
    anonymous = platform.client.get("/api/wikis/secret")
    assert anonymous.status_code == 403
    public = platform.client.get("/api/wikis/open")
    assert public.status_code == 200
    assert public.json()["role"] is None
    missing = platform.client.get("/api/wikis/nothing", headers=platform.bearer(alice))
    assert missing.status_code == 404
    assert missing.json()["error"] == "unknown_wiki"


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("owner", 200, None),
        ("editor", 403, "role_forbids"),
        ("viewer", 403, "role_forbids"),
        (None, 403, "no_access"),
    ],
)
def test_patch_needs_owner(platform: Platform, role: str | None, status: int, code: str | None) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice, "notes")
    if role:
        share(platform, "notes", bob, role)
    response = platform.client.patch(
        "/api/wikis/notes", json={"display_name": "Renamed", "is_public": True}, headers=platform.bearer(bob)
    )
    assert response.status_code == status, response.text
    wiki = platform.client.get("/api/wikis/notes", headers=platform.bearer(alice)).json()
    assert (wiki["display_name"], wiki["is_public"]) == (
        ("Renamed", True) if status == 200 else ("notes", False)
    )
    if code is not None:
        assert response.json()["error"] == code


def test_patch_partial_and_bad_input(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice, "notes", display_name="Notes")
    ok = platform.client.patch("/api/wikis/notes", json={"is_public": True}, headers=platform.bearer(alice))
    assert ok.json()["display_name"] == "Notes"
    assert ok.json()["is_public"] is True
    bad = platform.client.patch("/api/wikis/notes", json={"slug": "other"}, headers=platform.bearer(alice))
    assert bad.status_code == 422
    missing = platform.client.patch("/api/wikis/nope", json={}, headers=platform.bearer(alice))
    assert missing.status_code == 404


@pytest.mark.parametrize(("role", "status"), [("owner", 204), ("editor", 403), ("viewer", 403), (None, 403)])
def test_delete_needs_owner_and_removes_everything(platform: Platform, role: str | None, status: int) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice, "notes")
    if role:
        share(platform, "notes", bob, role)
    token = platform.client.post(
        "/api/wikis/notes/tokens", json={"name": "cli"}, headers=platform.bearer(alice)
    ).json()
    response = platform.client.delete("/api/wikis/notes", headers=platform.bearer(bob))
    assert response.status_code == status, response.text
    root = storage.wiki_paths(platform.settings.wikis_dir, "notes").root
    if status == 204:
        assert not root.exists()
        assert platform.client.get("/api/wikis/notes", headers=platform.bearer(alice)).status_code == 404
        assert platform.client.get("/api/wikis", headers=platform.bearer(bob)).json() == []
        with platform.app.state.db() as db:
            assert db.get(Acl, ("notes", bob)) is None
        # the name is free again, and the old token does not come back to life
        make(platform, bob, "notes")
        assert platform.client.get("/api/wikis/notes/tokens", headers=platform.bearer(bob)).json() == []
        assert token["id"]
    else:
        assert (root / "repo").exists()


def test_unauthenticated_and_bad_credentials(platform: Platform) -> None:
    none = platform.client.get("/api/wikis")
    assert none.status_code == 401
    assert none.json()["error"] == "unauthenticated"
    assert none.headers["www-authenticate"].startswith("Bearer")
    bad = platform.client.get("/api/wikis", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_token"
    pat = platform.client.get("/api/wikis", headers={"Authorization": "Bearer wbp_abcdefabcdefabcdef"})
    assert pat.status_code == 401


def test_lapsed_wiki_is_read_only_but_manageable(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice, "notes")
    with transaction(platform.app.state.db) as db:
        wiki = db.get(Wiki, "notes")
        assert wiki is not None
        wiki.payment_status = PaymentStatus.LAPSED.value
    body = platform.client.get("/api/wikis/notes", headers=platform.bearer(alice)).json()
    assert body["read_only"] is True
    write_token = platform.client.post(
        "/api/wikis/notes/tokens",
        json={"name": "w", "scopes": ["wiki:read", "wiki:write"]},
        headers=platform.bearer(alice),
    )
    assert write_token.status_code == 403
    assert write_token.json()["error"] == "wiki_read_only"
    assert "lapsed" in write_token.json()["message"]
    renamed = platform.client.patch(
        "/api/wikis/notes", json={"display_name": "Still mine"}, headers=platform.bearer(alice)
    )
    assert renamed.status_code == 200


def test_openapi_docs_are_served(platform: Platform, tmp_path: Path) -> None:
    docs = platform.client.get("/api/docs")
    assert docs.status_code == 200
    spec = platform.client.get("/api/openapi.json").json()
    for path in ("/api/me", "/api/wikis", "/api/wikis/{slug}", "/api/wikis/{slug}/members/{did}"):
        assert path in spec["paths"]
    assert set(spec["paths"]["/api/wikis/{slug}/tokens"]) == {"get", "post"}
