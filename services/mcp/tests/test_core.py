"""The wiki core on real repositories: every operation, its refusals, commits, notices and usage."""

from __future__ import annotations

import json
import subprocess
import threading

import pytest

from services.mcp.tests.conftest import ALICE, BOB, CAROL, DAVE, World
from wikibot_mcp.wiki import Edit
from wikibot_mcp.wiki.errors import (
    AttachmentNotFound,
    InvalidEdit,
    PageExists,
    PageNotFound,
    RevisionNotFound,
    RevisionRequired,
    SectionNotFound,
    StaleRevision,
)
from wikibot_shared.errors import Forbidden, InputError, InsufficientScope, LimitExceeded, ReadOnly
from wikibot_shared.models import Wiki
from wikibot_shared.queue import STREAM


def git(world: World, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(world.repo()), *args], capture_output=True, text=True, check=True
    ).stdout


def test_write_read_replace_with_revision(world: World) -> None:
    a = world.actor(ALICE)
    created = world.core.write(a, "Setup Guide", "# Setup Guide\n\nv1\n")
    assert created["created"]
    assert created["changed"]
    page = world.core.read(a, "Setup Guide")
    assert page["content"] == "# Setup Guide\n\nv1\n"
    assert page["revision"] == created["revision"]
    assert page["last_commit"] == created["commit"]
    with pytest.raises(RevisionRequired) as required:
        world.core.write(a, "Setup Guide", "v2")
    assert page["revision"] in required.value.message
    replaced = world.core.write(a, "Setup Guide", "# v2\n", base_revision=page["revision"])
    with pytest.raises(StaleRevision) as stale:
        world.core.write(a, "Setup Guide", "# v3\n", base_revision=page["revision"])
    assert "read it again" in stale.value.message
    assert world.core.read(a, "Setup Guide")["content"] == "# v2\n"
    old = world.core.read(a, "Setup Guide", revision=created["commit"])
    assert old["content"] == "# Setup Guide\n\nv1\n"
    assert old["at_commit"] == created["commit"]
    same = world.core.write(a, "Setup Guide", "# v2\n", base_revision=replaced["revision"])
    assert same["changed"] is False
    assert git(world, "status", "--porcelain") == ""
    assert (
        git(world, "log", "-1", "--format=%an|%ae|%s")
        == "alice.test|did:plc:alice@did.invalid|Update Setup Guide\n"
    )


def test_front_matter_kept_on_replace(world: World) -> None:
    a = world.actor(ALICE)
    first = world.core.write(a, "Tagged", "---\ntags: [a]\n---\nbody\n")
    world.core.write(a, "Tagged", "new body\n", base_revision=first["revision"])
    page = world.core.read(a, "Tagged")
    assert page["content"] == "---\ntags: [a]\n---\nnew body\n"
    assert page["tags"] == ["a"]


def test_read_failures(world: World) -> None:
    a = world.actor(ALICE)
    world.core.write(a, "Setup Guide", "# S\n## Linux\nx\n")
    with pytest.raises(PageNotFound) as missing:
        world.core.read(a, "setup guide")
    assert "did you mean 'Setup Guide'" in missing.value.message
    with pytest.raises(SectionNotFound):
        world.core.read(a, "Setup Guide", section="BSD")
    assert world.core.read(a, "Setup Guide", section="linux")["content"] == "## Linux\nx\n"
    with pytest.raises(RevisionNotFound):
        world.core.read(a, "Setup Guide", revision="--output=/tmp/x")
    with pytest.raises(RevisionNotFound):
        world.core.read(a, "Setup Guide", revision="0" * 40)
    with pytest.raises(InputError):
        world.core.read(a, "../../etc/passwd")


def test_edits(world: World) -> None:
    a = world.actor(ALICE)
    world.core.write(a, "Doc", "---\nk: v\n---\n# Doc\n\n## One\n\n1\n\n## Two\n\n2\n")
    world.core.edit(a, "Doc", Edit("replace", content="uno", old_text="1\n"))
    world.core.edit(a, "Doc", Edit("append", content="end"))
    world.core.edit(a, "Doc", Edit("prepend", content="start"))
    world.core.edit(a, "Doc", Edit("replace_section", content="dos", section="Two"))
    world.core.edit(a, "Doc", Edit("insert_before_section", content="## Zero\n\n0", section="One"))
    world.core.edit(a, "Doc", Edit("insert_after_section", content="## Three\n\n3", section="Doc > Two"))
    text = world.core.read(a, "Doc")["content"]
    assert text.startswith("---\nk: v\n---\nstart\n\n# Doc")
    assert text.index("## Zero") < text.index("## One") < text.index("uno") < text.index("## Two")
    assert text.index("dos") < text.index("## Three") < text.index("3")
    with pytest.raises(InvalidEdit, match="not found"):
        world.core.edit(a, "Doc", Edit("replace", content="x", old_text="nothing like this"))
    with pytest.raises(InvalidEdit, match="needs 'section'"):
        world.core.edit(a, "Doc", Edit("replace_section", content="x"))
    with pytest.raises(StaleRevision):
        world.core.edit(a, "Doc", Edit("append", content="x"), base_revision="0" * 40)
    with pytest.raises(PageNotFound):
        world.core.edit(a, "Nope", Edit("append", content="x"))
    assert len(git(world, "log", "--format=%s", "--", "Doc.md").splitlines()) == 7


def test_list_filters_and_paging(world: World) -> None:
    a = world.actor(ALICE)
    for i in range(7):
        world.core.write(
            a, f"Team/P{i}", f"---\ntags: [{'even' if i % 2 == 0 else 'odd'}]\ncategories: ops\n---\n# P{i}\n"
        )
    everything = world.core.list(a)
    assert everything["total"] == 8
    team = world.core.list(a, prefix="team/", limit=3)
    assert [p["path"] for p in team["pages"]] == ["Team/P0", "Team/P1", "Team/P2"]
    second = world.core.list(a, prefix="Team/", limit=3, cursor=team["next_cursor"])
    assert [p["path"] for p in second["pages"]] == ["Team/P3", "Team/P4", "Team/P5"]
    assert world.core.list(a, tag="even")["total"] == 4
    assert world.core.list(a, category="OPS")["total"] == 7
    assert world.core.list(a, updated_since="2999-01-01")["total"] == 0
    assert world.core.list(a, updated_since="2000-01-01T00:00:00Z")["total"] == 8
    with pytest.raises(InputError):
        world.core.list(a, updated_since="yesterday")
    with pytest.raises(InputError):
        world.core.list(a, limit=0)


def test_rename_rewrites_links_in_one_commit(world: World) -> None:
    a = world.actor(ALICE)
    world.core.write(a, "Setup Guide", "# Setup\n[[Setup Guide/Sub]]\n")
    world.core.write(a, "Setup Guide/Sub", "sub\n")
    world.core.upload(a, "Setup Guide", "shot.png", b"PNG")
    world.core.write(a, "Ref", "[[Setup Guide]] and [x](/Setup%20Guide/a/shot.png)\n")
    head = git(world, "rev-parse", "HEAD").strip()
    result = world.core.rename(a, "Setup Guide", "Guides/Setup")
    assert set(result["links_updated_in"]) == {"Home", "Ref"}
    assert git(world, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert world.core.read(a, "Ref")["content"] == "[[Guides/Setup]] and [x](/Guides/Setup/a/shot.png)\n"
    assert world.core.read(a, "Guides/Setup")["content"] == "# Setup\n[[Guides/Setup/Sub]]\n"
    assert world.core.read(a, "Guides/Setup/Sub")["content"] == "sub\n"
    assert world.core.list_attachments(a, "Guides/Setup")["attachments"][0]["filename"] == "shot.png"
    assert world.core.links(a, "Guides/Setup")["linked_from"] == ["Home", "Ref"]
    with pytest.raises(PageExists):
        world.core.rename(a, "Ref", "Home")
    with pytest.raises(InvalidEdit):
        world.core.rename(a, "Ref", "Ref/Below")
    with pytest.raises(PageNotFound):
        world.core.rename(a, "Setup Guide", "X")


def test_delete_history_changes(world: World) -> None:
    a = world.actor(ALICE)
    first = world.core.write(a, "Gone", "1\n")
    world.core.upload(a, "Gone", "f.txt", b"x")
    world.core.write(a, "Gone/Child", "child\n")
    with pytest.raises(StaleRevision):
        world.core.delete(a, "Gone", base_revision="abc")
    result = world.core.delete(a, "Gone", base_revision=first["revision"], message="cleanup")
    assert result["attachments_deleted"] == ["f.txt"]
    assert world.core.read(a, "Gone/Child")["content"] == "child\n"
    with pytest.raises(PageNotFound):
        world.core.read(a, "Gone")
    history = world.core.history(a, "Gone")["history"]
    assert [h["message"] for h in history] == ["cleanup", "Create Gone"]
    assert world.core.read(a, "Gone", revision=history[1]["commit"])["content"] == "1\n"
    changes = world.core.changes(a, limit=2)["changes"]
    assert changes[0]["message"] == "cleanup"
    assert {"path": "Gone", "change": "deleted"} in changes[0]["pages"]
    assert {"path": "Gone/f.txt", "change": "deleted"} in changes[0]["files"]
    with pytest.raises(PageNotFound):
        world.core.history(a, "Never")


def test_links_and_orphans(world: World) -> None:
    a = world.actor(ALICE)
    world.core.write(a, "Setup Guide", "[[Missing Page]] [[Home]]\n")
    world.core.write(a, "Lonely", "nobody links here\n")
    links = world.core.links(a, "Setup Guide")
    assert links == {
        "path": "Setup Guide",
        "links_to": ["Home"],
        "missing": ["Missing Page"],
        "linked_from": ["Home"],
    }
    assert world.core.orphans(a)["orphans"] == ["Lonely"]


def test_attachments(world: World) -> None:
    a = world.actor(ALICE)
    world.core.upload(a, "Home", "a.bin", b"\x00\x01")
    data, kind = world.core.read_attachment(a, "Home", "a.bin")
    assert data == b"\x00\x01"
    assert kind == "application/octet-stream"
    with pytest.raises(PageExists):
        world.core.upload(a, "Home", "a.bin", b"new")
    world.core.upload(a, "Home", "a.bin", b"new", overwrite=True)
    assert world.core.read_attachment(a, "Home", "a.bin")[0] == b"new"
    with pytest.raises(PageNotFound):
        world.core.upload(a, "Nope", "a.bin", b"x")
    world.core.delete_attachment(a, "Home", "a.bin")
    with pytest.raises(AttachmentNotFound):
        world.core.read_attachment(a, "Home", "a.bin")
    with pytest.raises(AttachmentNotFound):
        world.core.delete_attachment(a, "Home", "a.bin")


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
        world.core.edit(a, "Second", Edit("append", content="y" * 3000))
    assert size.value.code == "wiki_too_large"
    world.core.delete(a, "Second")  # shrinking is always allowed
    assert git(world, "status", "--porcelain") == ""


def test_page_size_cap(world: World) -> None:
    with pytest.raises(LimitExceeded) as err:
        world.core.write(world.actor(ALICE), "Huge", "x" * (world.core.max_page_bytes + 1))
    assert err.value.code == "page_too_large"


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
            world.core.edit(a, "Counter", Edit("append", content=f"e{n}-{i}"))

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
