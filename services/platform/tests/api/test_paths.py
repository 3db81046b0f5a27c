"""Path rules managed over the API: ``paths`` on tokens (create, change) and on collaborators (add, change),
validated like page paths; what the verifier then decides for them."""

from __future__ import annotations

from typing import Any

from services.platform.tests.support import Platform, make, share
from wikibot_shared.acl import Action
from wikibot_shared.pathrules import WriteArea

HOST = "notes.localhost:8080"


def tokens(platform: Platform, did: str, method: str = "POST", suffix: str = "", **body: Any) -> Any:
    return platform.client.request(
        method, f"/api/wikis/notes/tokens{suffix}", json=body, headers=platform.bearer(did)
    )


def area(platform: Platform, secret: str) -> WriteArea:
    verifier = platform.app.state.verifier
    return verifier.authorize(HOST, {"Authorization": f"Bearer {secret}"}, {}, Action.WRITE).write_area


def test_a_token_limited_to_folders_and_changed_later(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "editor")
    made = tokens(
        platform, alice, name="agent", scopes=["wiki:read", "wiki:write"], paths=["agents", "Journal/2026/"]
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["paths"] == ["agents/", "Journal/2026/"]
    assert area(platform, body["token"]) == WriteArea(("agents/", "Journal/2026/"), "this token")
    listed = tokens(platform, alice, "GET")
    assert listed.json()[0]["paths"] == ["agents/", "Journal/2026/"]

    changed = tokens(platform, alice, "PATCH", f"/{body['id']}", paths=["Team/"])
    assert changed.status_code == 200
    assert changed.json()["paths"] == ["Team/"]
    assert area(platform, body["token"]).prefixes == ("Team/",)  # on its very next request
    lifted = tokens(platform, alice, "PATCH", f"/{body['id']}", paths=None)
    assert lifted.json()["paths"] is None
    assert area(platform, body["token"]).everywhere
    # someone else's token: only owners change it
    assert tokens(platform, bob, "PATCH", f"/{body['id']}", paths=["Bob/"]).status_code == 403
    assert tokens(platform, alice, "PATCH", "/nope", paths=None).status_code == 404


def test_bad_paths_are_refused_and_nothing_is_made(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    for paths, status, code, says in [
        (["../x"], 400, "invalid_path", "'.' or '..'"),
        (["/abs"], 400, "invalid_path", "relative"),
        ([], 400, "invalid_path", "at least one"),
        (["a?b"], 400, "invalid_path", "'?'"),
        ([f"F{i}/" for i in range(21)], 422, None, None),
    ]:
        answer = tokens(platform, alice, name="x", scopes=["wiki:write"], paths=paths)
        assert answer.status_code == status, (paths, answer.text)
        if code:
            assert answer.json()["error"] == code
            assert says in answer.json()["message"]
    read_only = tokens(platform, alice, name="x", scopes=["wiki:read"], paths=["Agents/"])
    assert read_only.status_code == 400
    assert "cannot write" in read_only.json()["message"]
    assert tokens(platform, alice, "GET").json() == []


def members(platform: Platform, by: str, method: str, suffix: str = "", **body: Any) -> Any:
    return platform.client.request(
        method, f"/api/wikis/notes/members{suffix}", json=body, headers=platform.bearer(by)
    )


def test_a_collaborator_edits_some_folders_and_views_the_rest(platform: Platform) -> None:
    alice, bob, carol = platform.user("alice"), platform.user("bob"), platform.user("carol")
    make(platform, alice)
    added = members(platform, alice, "POST", did=bob, role="editor", paths=["Agents/"])
    assert added.status_code == 201, added.text
    assert added.json()["paths"] == ["Agents/"]
    secret = tokens(platform, bob, name="b", scopes=["wiki:write"]).json()["token"]
    assert area(platform, secret) == WriteArea(("Agents/",), "you")
    narrower = tokens(platform, bob, name="c", scopes=["wiki:write"], paths=["Agents/Bots/", "Team/"]).json()
    assert area(platform, narrower["token"]) == WriteArea(("Agents/Bots/",), "this token")

    # role kept, paths changed; then paths kept, role kept by leaving it out
    moved = members(platform, alice, "PATCH", f"/{bob}", paths=["Agents/", "Team/"])
    assert moved.json()["paths"] == ["Agents/", "Team/"]
    assert members(platform, alice, "PATCH", f"/{bob}", role="editor").json()["paths"] == ["Agents/", "Team/"]
    listed = {m["did"]: m for m in members(platform, alice, "GET").json()}
    assert listed[bob]["paths"] == ["Agents/", "Team/"]
    assert listed[alice]["paths"] is None
    # another role lifts them (only editors are limited); paths on a viewer are refused
    assert members(platform, alice, "PATCH", f"/{bob}", role="viewer").json()["paths"] is None
    refused = members(platform, alice, "PATCH", f"/{bob}", role="viewer", paths=["Agents/"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_path"
    viewer = members(platform, alice, "POST", did=carol, role="viewer", paths=["Agents/"])
    assert viewer.status_code == 400
    assert "carol" not in str(members(platform, alice, "GET").json())
    nothing = members(platform, alice, "PATCH", f"/{bob}")
    assert nothing.status_code == 400
    assert nothing.json()["error"] == "invalid_request"
