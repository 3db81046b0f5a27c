"""The page index (``wiki.index``) follows HEAD: commits made outside the core, and a force push after gc."""

from __future__ import annotations

from services.mcp.tests.support.world import ALICE, World, git


def test_index_follows_outside_commits_and_force_push(world: World) -> None:
    a = world.actor(ALICE)
    world.core.write(a, "Mine", "1\n")
    assert world.core.list(a)["total"] == 2
    repo = world.repo()
    (repo / "Outside.md").write_text("---\ntags: [ext]\n---\nfrom the UI\n")
    git(world, "add", "-A")
    git(world, "-c", "user.name=ui", "-c", "user.email=ui@x", "commit", "-qm", "ui")
    assert world.core.list(a, tag="ext")["pages"][0]["path"] == "Outside"
    git(world, "reset", "-q", "--hard", "HEAD~2")
    git(world, "reflog", "expire", "--expire=now", "--all")
    git(world, "gc", "-q", "--prune=now")
    listing = world.core.list(a)
    assert [p["path"] for p in listing["pages"]] == ["Home"]
