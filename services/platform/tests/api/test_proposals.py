"""``/api/wikis/{slug}/proposals``: an agent's writes (made by the real wiki core of the mcp service, on the same
data volume and database) reviewed through the platform: approved onto main with the agent as author and the
reviewer named, rejected with a comment, merged when main moved elsewhere, refused while a conflict is
unresolved and then landed with explicit choices; rules checked again at approval. ``git fsck`` throughout."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from services.platform.tests.support import Platform, make, share
from wikibot_mcp.wiki import Actor, SearchClient, WikiCore
from wikibot_shared import acl, proposals
from wikibot_shared.db import transaction
from wikibot_shared.models import AccessToken, Proposal
from wikibot_shared.queue import STREAM
from wikibot_shared.storage import Author


@pytest.fixture
def core(platform: Platform) -> Iterator[WikiCore]:
    return WikiCore(
        wikis_dir=platform.settings.wikis_dir,
        tiers=platform.settings.tiers,
        db=platform.app.state.db,
        redis_client=platform.redis,
        search=SearchClient("http://127.0.0.1:9", timeout=1),
        wiki_url=platform.settings.wiki_url,
    )


def git(platform: Platform, *args: str, slug: str = "notes") -> str:
    repo = platform.settings.wikis_dir / slug / "repo"
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def agent_of(
    platform: Platform,
    did: str,
    token_id: str = "tok1",  # noqa: S107
    slug: str = "notes",
    *,
    proposes: bool = True,
) -> Actor:
    """The actor a token of ``did`` is at the mcp service (``actors.Actors.actor``): its writes proposed, as when
    the wiki's switch is on, or not."""
    with transaction(platform.app.state.db) as db:
        if db.get(AccessToken, token_id) is None:
            db.add(
                AccessToken(
                    id=token_id,
                    token_hash=token_id * 4,
                    wiki_slug=slug,
                    owner_did=did,
                    name="agent",
                    scopes="wiki:read wiki:write",
                )
            )
    with platform.app.state.db() as db:
        access = acl.wiki_access(db, slug, did)
    return Actor(
        access,
        Author.for_did(did, "bot.test", via="Agent"),
        "mcp",
        authorized=acl.Action.WRITE,
        proposes=proposes,
        credential=token_id,
        credential_kind="pat",
        did=did,
    )


def api(platform: Platform, did: str, method: str, path: str, **body: Any) -> Any:
    return platform.client.request(
        method,
        f"/api/wikis/notes{path}",
        json=body if method == "POST" else None,
        headers=platform.bearer(did),
    )


def fsck(platform: Platform) -> None:
    git(platform, "fsck", "--full")
    assert git(platform, "status", "--porcelain") == ""


def setup(platform: Platform) -> tuple[str, str]:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "editor")
    switched = platform.client.patch(
        "/api/wikis/notes", json={"agents_propose": True}, headers=platform.bearer(alice)
    )
    assert switched.status_code == 200
    assert switched.json()["agents_propose"] is True
    return alice, bob


def test_approve_lands_the_agents_commits_with_the_reviewer_named(platform: Platform, core: WikiCore) -> None:
    alice, bob = setup(platform)
    main = git(platform, "rev-parse", "HEAD").strip()
    bot = agent_of(platform, bob)
    core.write(bot, "Plans", "# Plans\n\nDraft.\n", message="Add plans")
    core.write(bot, "Ideas", "# Ideas\n", message="Add ideas")
    assert git(platform, "rev-parse", "HEAD").strip() == main
    listed = api(platform, alice, "GET", "/proposals").json()
    assert [(p["id"], p["state"], p["commits"], p["pages"]) for p in listed] == [
        (1, "open", 2, ["Ideas", "Plans"])
    ]
    detail = api(platform, alice, "GET", "/proposals/1").json()
    assert detail["conflicts"] == []
    assert detail["messages"] == ["Add plans", "Add ideas"]
    assert {f["path"]: (f["before"], f["after"]) for f in detail["files"]} == {
        "Ideas.md": (None, "# Ideas\n"),
        "Plans.md": (None, "# Plans\n\nDraft.\n"),
    }
    platform.redis.delete(STREAM)
    approved = api(platform, alice, "POST", "/proposals/1/approve", comment="Thanks")
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["state"] == "approved"
    assert body["decided_by"] == "alice.test"
    assert body["merged_commit"] == git(platform, "rev-parse", "HEAD").strip()
    log = git(platform, "log", "--format=%an|%cn|%s|%(trailers:key=Approved-by,valueonly)", f"{main}..HEAD")
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines == [
        f"bot.test via Agent|alice.test|Add ideas|alice.test <{alice}@did.invalid>",
        f"bot.test via Agent|alice.test|Add plans|alice.test <{alice}@did.invalid>",
    ]
    repo = platform.settings.wikis_dir / "notes" / "repo"
    assert (repo / "Plans.md").read_text() == "# Plans\n\nDraft.\n"  # main's working tree follows
    fsck(platform)
    notices = [f for _id, f in platform.redis.xrange(STREAM)]
    assert notices[0]["commit"] == body["merged_commit"]
    assert notices[0]["paths"] == "Ideas.md\nPlans.md"
    assert (notices[1]["event"], notices[1]["proposal"]) == ("proposal.approved", "1")
    assert not proposals.workspace(platform.settings.wikis_dir, "notes", "tok1").exists()
    # The agent reads the decision; its next write opens #2.
    mine = core.list_proposals(bot)["proposals"]
    assert (mine[0]["state"], mine[0]["comment"]) == ("approved", "Thanks")
    again = api(platform, alice, "POST", "/proposals/1/approve")
    assert again.status_code == 409
    assert again.json()["error"] == "proposal_closed"
    assert core.write(bot, "More", "# More\n")["proposal"]["id"] == 2


def test_reject_leaves_nothing_and_the_agent_reads_why(platform: Platform, core: WikiCore) -> None:
    _alice, bob = setup(platform)
    main = git(platform, "rev-parse", "HEAD").strip()
    bot = agent_of(platform, bob)
    core.write(bot, "Spam", "# Spam\n")
    viewer = platform.user("carol")
    share(platform, "notes", viewer, "viewer")
    assert api(platform, viewer, "POST", "/proposals/1/reject", comment="no").status_code == 403
    rejected = api(platform, bob, "POST", "/proposals/1/reject", comment="Not what we need")
    assert rejected.status_code == 200
    assert rejected.json()["state"] == "rejected"
    assert git(platform, "rev-parse", "HEAD").strip() == main
    assert not (platform.settings.wikis_dir / "notes" / "repo" / "Spam.md").exists()
    assert core.list_proposals(bot)["proposals"][0]["comment"] == "Not what we need"
    fsck(platform)


def test_main_moved_non_overlapping_merges_overlapping_needs_a_choice(
    platform: Platform, core: WikiCore
) -> None:
    alice, bob = setup(platform)
    person = Actor(
        acl.wiki_access(platform.app.state.db(), "notes", alice),
        Author.for_did(alice, "alice.test"),
        "rest",
        authorized=acl.Action.WRITE,
    )
    core.write(person, "Doc", "# Doc\n\none\n\ntwo\n\nthree\n")
    bot = agent_of(platform, bob)
    doc = core.read(bot, "Doc")
    core.write(bot, "Doc", "# Doc\n\none\n\ntwo\n\nthree (agent)\n", base_revision=doc["revision"])
    # Someone changes another part of Doc on main: the proposal still merges, with both changes.
    doc = core.read(person, "Doc")
    core.write(person, "Doc", "# Doc\n\none (person)\n\ntwo\n\nthree\n", base_revision=doc["revision"])
    detail = api(platform, alice, "GET", "/proposals/1").json()
    assert detail["conflicts"] == []
    assert api(platform, alice, "POST", "/proposals/1/approve").status_code == 200
    repo = platform.settings.wikis_dir / "notes" / "repo"
    assert (repo / "Doc.md").read_text() == "# Doc\n\none (person)\n\ntwo\n\nthree (agent)\n"
    assert git(platform, "log", "-1", "--format=%an|%cn").strip() == "bot.test via Agent|alice.test"
    fsck(platform)
    # Now both change the same line: a conflict, shown with markers, refused without a choice.
    doc = core.read(bot, "Doc")
    core.write(bot, "Doc", doc["content"].replace("two", "two (agent)"), base_revision=doc["revision"])
    doc = core.read(person, "Doc")
    core.write(person, "Doc", doc["content"].replace("two", "two (person)"), base_revision=doc["revision"])
    detail = api(platform, alice, "GET", "/proposals/2").json()
    assert detail["conflicts"] == ["Doc.md"]
    (shown,) = detail["files"]
    assert shown["conflict"]
    assert "<<<<<<<" in shown["after"]
    assert "two (agent)" in shown["after"]
    head = git(platform, "rev-parse", "HEAD").strip()
    blind = api(platform, alice, "POST", "/proposals/2/approve")
    assert blind.status_code == 409
    assert blind.json()["error"] == "proposal_conflict"
    assert git(platform, "rev-parse", "HEAD").strip() == head
    wrong = api(platform, alice, "POST", "/proposals/2/approve", resolve={"Other.md": "main"})
    assert wrong.status_code == 409  # still unresolved (Doc.md has no choice)
    chosen = api(platform, alice, "POST", "/proposals/2/approve", resolve={"Doc.md": "proposal"})
    assert chosen.status_code == 200, chosen.text
    assert "two (agent)" in (repo / "Doc.md").read_text()
    assert "<<<<<<<" not in (repo / "Doc.md").read_text()
    fsck(platform)


def test_rules_are_checked_again_at_approval(platform: Platform, core: WikiCore) -> None:
    alice, bob = setup(platform)
    bot = agent_of(platform, bob)
    core.write(bot, "Team/Plan", "# Plan\n")
    with transaction(platform.app.state.db) as db:  # the token is limited to Agents/ after it proposed
        token = db.get(AccessToken, "tok1")
        assert token is not None
        token.write_paths = ["Agents/"]
    refused = api(platform, alice, "POST", "/proposals/1/approve")
    assert refused.status_code == 403
    assert "Agents/" in refused.json()["message"]
    with transaction(platform.app.state.db) as db:
        token = db.get(AccessToken, "tok1")
        assert token is not None
        token.write_paths = None
    limited = platform.user("erin")
    share(platform, "notes", limited, "editor")
    platform.client.patch(
        f"/api/wikis/notes/members/{limited}",
        json={"role": "editor", "paths": ["Agents/"]},
        headers=platform.bearer(alice),
    )
    by_limited = api(platform, limited, "POST", "/proposals/1/approve")
    assert by_limited.status_code == 403  # a reviewer approves within their own folders only
    assert api(platform, alice, "POST", "/proposals/1/approve").status_code == 200
    with platform.app.state.db() as db:
        assert db.query(Proposal).one().state == "approved"


def test_who_decides_whether_a_credential_is_reviewed(platform: Platform) -> None:
    alice, bob = setup(platform)
    made = platform.client.post(
        "/api/wikis/notes/tokens",
        json={"name": "bot", "scopes": ["wiki:write"]},
        headers=platform.bearer(bob),
    ).json()
    assert made["review"] == "wiki"
    own = f"/api/wikis/notes/tokens/{made['id']}"
    escape = platform.client.patch(own, json={"review": "direct"}, headers=platform.bearer(bob))
    assert escape.status_code == 403  # an editor cannot exempt their own agent from review
    assert (
        platform.client.patch(own, json={"review": "propose"}, headers=platform.bearer(bob)).json()["review"]
        == "propose"
    )
    owner = platform.client.patch(own, json={"review": "direct"}, headers=platform.bearer(alice)).json()
    assert owner["review"] == "direct"
    assert owner["paths"] is None  # changing review leaves the folders alone
    bad = platform.client.patch(own, json={"review": "sometimes"}, headers=platform.bearer(alice))
    assert bad.status_code == 422
    found = platform.app.state.verifier.authorize(
        "notes.localhost:8080", {"Authorization": f"Bearer {made['token']}"}, {}, acl.Action.WRITE
    )
    assert found.proposes is False
