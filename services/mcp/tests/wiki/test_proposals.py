"""Writes held for review, at the core: an agent's writes go to its open proposal (one per credential), never to
main, its index or a clone; it reads them back and lists them; a failed first write leaves no proposal."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from services.mcp.tests.support.world import BOB, CAROL, World, git
from wikibot_mcp.wiki import Actor, Edit, gitrepo
from wikibot_shared import proposals
from wikibot_shared.errors import Forbidden, NotFound
from wikibot_shared.models import Proposal
from wikibot_shared.queue import STREAM


def agent(world: World, credential: str = "grant-1", did: str = BOB) -> Actor:
    return dataclasses.replace(
        world.actor(did), proposes=True, credential=credential, credential_kind="oauth", did=did
    )


def rows(world: World) -> list[Proposal]:
    with world.db() as db:
        return list(db.query(Proposal).order_by(Proposal.number))


def test_writes_go_to_one_open_proposal_and_main_stays(world: World) -> None:
    main = gitrepo.read_head(world.repo())
    bot = agent(world)
    first = world.core.write(bot, "Plans", "# Plans\n\nDraft.\n", message="Add plans")
    assert first["changed"]
    assert first["commit"] == main
    assert first["proposal"]["id"] == 1
    assert first["proposal"]["state"] == "open"
    assert "Proposed for review as #1" in first["proposal"]["notice"]
    assert first["proposal"]["url"].endswith("/-/proposals/1")
    # The second write adds to #1, planned against the proposal (the page exists there, with its revision).
    second = world.core.edit(
        bot, "Plans", Edit(op="append", content="More.\n"), base_revision=first["revision"]
    )
    assert second["proposal"]["id"] == 1
    home = world.core.read(bot, "Home")
    world.core.write(bot, "Home", home["content"] + "\nEdited.\n", base_revision=home["revision"])
    assert gitrepo.read_head(world.repo()) == main
    assert not (world.repo() / "Plans.md").exists()
    assert "Plans" not in [p["path"] for p in world.core.list(world.actor())["pages"]]
    (row,) = rows(world)
    assert (row.number, row.state, row.commits, row.title) == (1, "open", 3, "Add plans")
    assert row.paths == ["Home.md", "Plans.md"]
    assert row.base_commit == main
    assert git(world, "rev-parse", proposals.ref(1)).strip() == row.head_commit
    log = git(world, "log", "--format=%an|%s", f"{main}..{proposals.ref(1)}").splitlines()
    assert len(log) == 3
    assert all(line.startswith("bob.test|") for line in log)
    # Read back through the proposal, by the agent and by a writer of the wiki; not by a viewer.
    proposed = world.core.read(bot, "Plans", proposal=1)
    assert proposed["content"] == "# Plans\n\nDraft.\n\nMore.\n"
    assert proposed["proposal"] == 1
    assert world.core.read(world.actor(), "Plans", proposal=1)["revision"] == proposed["revision"]
    with pytest.raises(Forbidden):
        world.core.read(world.actor(CAROL), "Plans", proposal=1)
    with pytest.raises(NotFound):
        world.core.read(bot, "Plans", proposal=7)
    listed = world.core.list_proposals(bot)
    assert listed["proposes"]
    assert [p["id"] for p in listed["proposals"]] == [1]
    assert listed["proposals"][0]["pages"] == ["Home", "Plans"]
    # A clone of main has none of it (refs/proposals is not a branch).
    clone = world.settings.data_dir / "clone"
    subprocess.run(["git", "clone", "-q", str(world.repo()), str(clone)], check=True)
    assert not (clone / "Plans.md").exists()
    assert (
        "refs/proposals"
        not in subprocess.run(
            ["git", "-C", str(clone), "for-each-ref"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert (
        subprocess.run(["git", "-C", str(world.repo()), "fsck", "--full"], capture_output=True).returncode
        == 0
    )


def test_each_credential_has_its_own_proposal_and_events(world: World) -> None:
    world.redis.delete(STREAM)
    world.core.write(agent(world, "a"), "One", "# One\n")
    world.core.write(agent(world, "b"), "Two", "# Two\n")
    world.core.write(agent(world, "a"), "Three", "# Three\n")
    assert [(r.number, r.credential_id, r.commits) for r in rows(world)] == [(1, "a", 2), (2, "b", 1)]
    events = [(f.get("event"), f.get("proposal")) for _id, f in world.redis.xrange(STREAM)]
    assert events == [("proposal.opened", "1"), ("proposal.opened", "2"), ("proposal.updated", "1")]
    assert [p["id"] for p in world.core.list_proposals(agent(world, "b"))["proposals"]] == [2]
    assert [p["id"] for p in world.core.list_proposals(world.actor())["proposals"]] == [2, 1]


def test_a_refused_first_write_leaves_no_proposal(world: World) -> None:
    bot = agent(world)
    with pytest.raises(Exception, match="revision"):
        world.core.write(bot, "Home", "# Replaced\n")  # replacing needs base_revision
    assert rows(world) == []
    assert not proposals.workspace(world.settings.wikis_dir, "notes", "grant-1").exists()
    home = world.core.read(bot, "Home")
    same = world.core.write(bot, "Home", home["content"], base_revision=home["revision"])
    assert same["changed"] is False
    assert "proposal" not in same
    assert rows(world) == []


def test_a_lost_worktree_is_rebuilt_from_the_proposal(world: World) -> None:
    bot = agent(world)
    world.core.write(bot, "Plans", "# Plans\n")
    proposals.remove_workspace(
        world.repo(), proposals.workspace(world.settings.wikis_dir, "notes", "grant-1")
    )
    world.core.write(bot, "Later", "# Later\n")
    (row,) = rows(world)
    assert row.commits == 2
    assert row.paths == ["Later.md", "Plans.md"]
