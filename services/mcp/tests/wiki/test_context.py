"""The one path every write takes (``wiki.context``): who may write, the tier's limits, the change notice and
the usage it records, and writers racing in threads."""

from __future__ import annotations

import json
import subprocess
import threading

import pytest

from services.mcp.tests.support.world import ALICE, BOB, CAROL, DAVE, World, git
from wikibot_mcp.wiki import Edit
from wikibot_mcp.wiki.errors import StaleRevision
from wikibot_shared.errors import Forbidden, InsufficientScope, LimitExceeded, ReadOnly
from wikibot_shared.models import Wiki
from wikibot_shared.queue import STREAM


def test_roles_scopes_and_lapsed(world: World) -> None:
    world.core.write(world.actor(BOB), "By Bob", "editor wrote this\n")
    assert git(world, "log", "-1", "--format=%an").strip() == "bob.test"
    with pytest.raises(Forbidden):
        world.core.write(world.actor(CAROL), "By Carol", "x")
    with pytest.raises(Forbidden):
        world.core.write(world.actor(DAVE), "By Dave", "x")
    with pytest.raises(InsufficientScope):
        world.core.write(world.actor(ALICE, scopes=frozenset({"wiki:read"})), "X", "x")
    assert world.core.read(world.actor(CAROL), "By Bob")["content"] == "editor wrote this\n"
    world.set_wiki("notes", payment_status="lapsed")
    with pytest.raises(ReadOnly):
        world.core.write(world.actor(ALICE), "Late", "x")
    assert world.core.read(world.actor(ALICE), "Home")["path"] == "Home"


def test_tier_limits(world: World) -> None:
    world.core.tiers["tiny"] = world.core.tiers["free"].__class__(
        "tiny", wikis_per_user=1, pages_per_wiki=2, bytes_per_wiki=2000, attachment_bytes=100, git_push=False
    )
    world.set_wiki("notes", tier="tiny")
    a = world.actor(ALICE)
    world.core.write(a, "Second", "x\n")
    with pytest.raises(LimitExceeded) as pages:
        world.core.write(a, "Third", "x\n")
    assert pages.value.code == "too_many_pages"
    with pytest.raises(LimitExceeded) as big:
        world.core.upload(a, "Home", "big.bin", b"x" * 101)
    assert big.value.code == "attachment_too_large"
    with pytest.raises(LimitExceeded) as size:
        world.core.edit(a, "Second", Edit(op="append", content="y" * 3000))
    assert size.value.code == "wiki_too_large"
    world.core.delete(a, "Second")  # shrinking is always allowed
    assert git(world, "status", "--porcelain") == ""


def test_notice_and_usage_after_write(world: World) -> None:
    world.redis.delete(STREAM)
    result = world.core.write(world.actor(ALICE, source="rest"), "Noted", "x\n")
    entries = world.redis.xrange(STREAM)
    assert len(entries) == 1
    fields = entries[0][1]
    assert fields["wiki"] == "notes"
    assert fields["source"] == "rest"
    assert fields["commit"] == result["commit"]
    assert fields["paths"] == "Noted.md"
    with world.db() as db:
        wiki = db.get(Wiki, "notes")
        assert wiki is not None
        assert wiki.page_count == 2
        assert wiki.bytes == len(b"x\n") + len(b"# Home\n\nWelcome. See [[Setup Guide]].\n")


def test_concurrent_writers_in_threads(world: World) -> None:
    """Threads racing read-modify-write on one page: each write either lands or is a conflict, none is lost."""
    a = world.actor(ALICE)
    world.core.write(a, "Counter", "")
    landed: list[str] = []
    conflicts: list[str] = []

    def worker(n: int) -> None:
        for i in range(5):
            page = world.core.read(a, "Counter")
            line = f"{n}-{i}\n"
            try:
                world.core.write(a, "Counter", page["content"] + line, base_revision=page["revision"])
                landed.append(line)
            except StaleRevision:
                conflicts.append(line)
            world.core.edit(a, "Counter", Edit(op="append", content=f"e{n}-{i}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    text = world.core.read(a, "Counter")["content"]
    assert all(line in text for line in landed)
    assert all(f"e{n}-{i}\n" in text for n in range(6) for i in range(5))
    assert len(landed) + len(conflicts) == 30
    assert landed
    assert git(world, "status", "--porcelain") == ""
    log = git(world, "log", "--format=%H", "--", "Counter.md").split()
    assert len(log) == 1 + len(landed) + 30
    subprocess.run(["git", "-C", str(world.repo()), "fsck", "--strict"], check=True, capture_output=True)
    assert json.dumps(text)  # the page is intact text
