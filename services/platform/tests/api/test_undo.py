""" "Undo this app" through ``/api/wikis/{slug}/{apps|tokens}/{id}/changes`` and ``…/undo``, over commits made by
the mcp service's real wiki core for a token: the pages it changed come back, one it created goes, one someone
else edited afterwards is left alone until confirmed; a proposal's commits count as the agent's once approved."""

from __future__ import annotations

import subprocess

from services.platform.tests.api.test_proposals import agent_of, api, core, git, setup
from services.platform.tests.support import Platform
from wikibot_mcp.wiki import Actor, WikiCore
from wikibot_shared import acl
from wikibot_shared.storage import Author

_ = core  # the fixture


def person(platform: Platform, did: str) -> Actor:
    with platform.app.state.db() as db:
        found = acl.wiki_access(db, "notes", did)
    return Actor(found, Author.for_did(did, "alice.test"), "rest", authorized=acl.Action.WRITE)


def read(platform: Platform, name: str) -> str | None:
    path = platform.settings.wikis_dir / "notes" / "repo" / f"{name}.md"
    return path.read_text() if path.exists() else None


def test_undo_puts_back_what_the_agent_changed_and_leaves_others_edits(
    platform: Platform, core: WikiCore
) -> None:
    alice, bob = setup(platform)
    platform.client.patch("/api/wikis/notes", json={"agents_propose": False}, headers=platform.bearer(alice))
    me = person(platform, alice)
    core.write(me, "Kept", "# Kept\n\nmine\n")
    core.write(me, "Shared", "# Shared\n\nv1\n")
    bot = agent_of(platform, bob, proposes=False)
    kept = core.read(bot, "Kept")
    core.write(bot, "Kept", "# Kept\n\nvandalised\n", base_revision=kept["revision"])
    core.write(bot, "New", "# New\n")
    shared = core.read(bot, "Shared")
    core.write(bot, "Shared", "# Shared\n\nbot\n", base_revision=shared["revision"])
    shared = core.read(me, "Shared")
    core.write(me, "Shared", "# Shared\n\nbot, then alice\n", base_revision=shared["revision"])
    history = core.history(me, "Kept")["history"]
    assert history[0]["message"] == "Update Kept"  # the attribution trailer is not shown

    seen = api(platform, alice, "GET", "/tokens/tok1/changes")
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert [c["message"] for c in body["commits"]] == ["Update Shared", "Create New", "Update Kept"]
    files = {f["path"]: (f["action"], f["changed_since_by"]) for f in body["files"]}
    assert files == {
        "Kept.md": ("restore", []),
        "New.md": ("delete", []),
        "Shared.md": ("restore", ["alice.test"]),
    }
    head = git(platform, "rev-parse", "HEAD").strip()
    undone = api(platform, alice, "POST", "/tokens/tok1/undo", expect_head=head)
    assert undone.status_code == 200, undone.text
    assert undone.json()["reverted"] == ["Kept.md", "New.md"]
    assert undone.json()["left_alone"] == ["Shared.md"]
    assert read(platform, "Kept") == "# Kept\n\nmine\n"
    assert read(platform, "New") is None
    assert read(platform, "Shared") == "# Shared\n\nbot, then alice\n"
    assert (
        git(platform, "log", "-1", "--format=%an|%s").strip().startswith("alice.test|Undo what agent changed")
    )
    assert git(platform, "rev-list", "--count", f"{head}..HEAD").strip() == "1"  # one commit
    stale = api(platform, alice, "POST", "/tokens/tok1/undo", expect_head=head, confirm=["Shared.md"])
    assert stale.status_code == 409
    assert stale.json()["error"] == "stale_list"
    confirmed = api(platform, alice, "POST", "/tokens/tok1/undo", confirm=["Shared.md"])
    assert confirmed.status_code == 200, confirmed.text
    assert read(platform, "Shared") == "# Shared\n\nv1\n"
    subprocess.run(
        ["git", "-C", str(platform.settings.wikis_dir / "notes" / "repo"), "fsck", "--full"], check=True
    )
    assert git(platform, "status", "--porcelain") == ""


def test_approved_proposals_count_and_who_may_undo(platform: Platform, core: WikiCore) -> None:
    alice, bob = setup(platform)
    bot = agent_of(platform, bob)
    core.write(bot, "Idea", "# Idea\n")
    assert api(platform, alice, "POST", "/proposals/1/approve").status_code == 200
    body = api(platform, alice, "GET", "/tokens/tok1/changes").json()
    assert [f["path"] for f in body["files"]] == ["Idea.md"]
    viewer = platform.user("carol")
    platform.client.post(
        "/api/wikis/notes/members", json={"did": viewer, "role": "viewer"}, headers=platform.bearer(alice)
    )
    assert api(platform, viewer, "GET", "/tokens/tok1/changes").status_code == 403
    assert api(platform, bob, "GET", "/tokens/tok1/changes").status_code == 200  # their own token
    assert api(platform, alice, "GET", "/tokens/nope/changes").status_code == 404
    future = api(platform, alice, "GET", "/tokens/tok1/changes?since=2999-01-01T00:00:00Z").json()
    assert future["files"] == []
    assert future["commits"] == []
    nothing = api(platform, alice, "POST", "/tokens/tok1/undo", since="2999-01-01T00:00:00Z")
    assert nothing.status_code == 409
    assert nothing.json()["error"] == "nothing_to_undo"
    bad = api(platform, alice, "POST", "/tokens/tok1/undo", confirm=["Idea.md"])
    assert bad.status_code == 400  # Idea.md is not a file others changed
    assert api(platform, bob, "POST", "/tokens/tok1/undo").status_code == 200
    assert read(platform, "Idea") is None
