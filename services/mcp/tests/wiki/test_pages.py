"""Page operations on real repositories (``wiki.pages``): read, write, edit, rename and delete, their refusals
and their commits."""

from __future__ import annotations

import pytest

from services.mcp.tests.support.world import ALICE, World, git
from wikibot_mcp.wiki import Edit
from wikibot_mcp.wiki.errors import (
    InvalidEdit,
    PageExists,
    PageNotFound,
    RevisionNotFound,
    RevisionRequired,
    SectionNotFound,
    StaleRevision,
)
from wikibot_shared.errors import InputError, LimitExceeded


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
    world.core.edit(a, "Doc", Edit(op="replace", content="uno", old_text="1\n"))
    world.core.edit(a, "Doc", Edit(op="append", content="end"))
    world.core.edit(a, "Doc", Edit(op="prepend", content="start"))
    world.core.edit(a, "Doc", Edit(op="replace_section", content="dos", section="Two"))
    world.core.edit(a, "Doc", Edit(op="insert_before_section", content="## Zero\n\n0", section="One"))
    world.core.edit(a, "Doc", Edit(op="insert_after_section", content="## Three\n\n3", section="Doc > Two"))
    text = world.core.read(a, "Doc")["content"]
    assert text.startswith("---\nk: v\n---\nstart\n\n# Doc")
    assert text.index("## Zero") < text.index("## One") < text.index("uno") < text.index("## Two")
    assert text.index("dos") < text.index("## Three") < text.index("3")
    with pytest.raises(InvalidEdit, match="not found"):
        world.core.edit(a, "Doc", Edit(op="replace", content="x", old_text="nothing like this"))
    with pytest.raises(InvalidEdit, match="needs 'section'"):
        world.core.edit(a, "Doc", Edit(op="replace_section", content="x"))
    with pytest.raises(StaleRevision):
        world.core.edit(a, "Doc", Edit(op="append", content="x"), base_revision="0" * 40)
    with pytest.raises(PageNotFound):
        world.core.edit(a, "Nope", Edit(op="append", content="x"))
    assert len(git(world, "log", "--format=%s", "--", "Doc.md").splitlines()) == 7


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


def test_page_size_cap(world: World) -> None:
    with pytest.raises(LimitExceeded) as err:
        world.core.write(world.actor(ALICE), "Huge", "x" * (world.core.max_page_bytes + 1))
    assert err.value.code == "page_too_large"


def test_set_front_matter_commits_and_keeps_the_body(world: World) -> None:
    a = world.actor(ALICE)
    body = "# Doc\r\n\r\n```\r\n---\r\ntags: [fake]\r\n---\r\n```\r\ntrailing   \r\n\r\n---\r\n\r\nno final newline"
    front_matter = "---\r\ntitle: Doc  # shown\r\ntags: [old]\r\n---\r\n"
    world.core.write(a, "Doc", front_matter + body)
    head = git(world, "rev-parse", "HEAD").strip()
    edit = Edit(op="set_front_matter", front_matter={"tags": ["linux", "setup"], "category": "Guides"})
    result = world.core.edit(a, "Doc", edit)
    assert result["changed"]
    assert result["op"] == "set_front_matter"
    assert git(world, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert git(world, "log", "-1", "--format=%s").strip() == "Edit Doc (set_front_matter)"
    edited = "---\r\ntitle: Doc  # shown\r\ntags: [linux, setup]\r\ncategory: Guides\r\n---\r\n" + body
    assert (world.repo() / "Doc.md").read_bytes() == edited.encode()
    page = world.core.read(a, "Doc")
    assert page["revision"] == result["revision"]
    assert page["tags"] == ["linux", "setup"]
    assert page["categories"] == ["Guides"]
    assert page["title"] == "Doc"
    assert [p["path"] for p in world.core.list(a, tag="Linux")["pages"]] == ["Doc"]
    assert [p["path"] for p in world.core.list(a, category="guides")["pages"]] == ["Doc"]
    assert world.core.list(a, tag="old")["pages"] == []

    again = world.core.edit(a, "Doc", Edit(op="set_front_matter", front_matter={"tags": ["linux", "setup"]}))
    assert again["changed"] is False
    assert again["revision"] == result["revision"]
    assert git(world, "rev-list", "--count", f"{head}..HEAD").strip() == "1"

    world.core.edit(
        a, "Doc", Edit(op="set_front_matter", front_matter={"title": None, "tags": None, "category": None})
    )
    assert (world.repo() / "Doc.md").read_bytes() == body.encode()
    assert world.core.read(a, "Doc")["tags"] == []
    assert world.core.list(a, tag="linux")["pages"] == []
    assert git(world, "status", "--porcelain") == ""


def test_set_front_matter_refusals_change_nothing(world: World) -> None:
    a = world.actor(ALICE)
    world.core.write(a, "Listy", "---\n- a\n- b\n---\nbody\n")
    head = git(world, "rev-parse", "HEAD").strip()
    with pytest.raises(InvalidEdit, match="is a list, not a mapping"):
        world.core.edit(a, "Listy", Edit(op="set_front_matter", front_matter={"tags": ["x"]}))
    assert world.core.read(a, "Listy")["content"] == "---\n- a\n- b\n---\nbody\n"
    with pytest.raises(InvalidEdit, match="needs 'front_matter'"):
        world.core.edit(a, "Listy", Edit(op="set_front_matter"))
    assert git(world, "rev-parse", "HEAD").strip() == head
    world.core.write(a, "Near", "x" * (world.core.max_page_bytes - 100))
    head = git(world, "rev-parse", "HEAD").strip()
    with pytest.raises(LimitExceeded) as err:
        world.core.edit(a, "Near", Edit(op="set_front_matter", front_matter={"summary": "y" * 200}))
    assert err.value.code == "page_too_large"
    assert git(world, "rev-parse", "HEAD").strip() == head
