"""The writing tools (``write_note``, ``edit_note``, ``rename_note``, ``delete_note``) through the official
``mcp`` SDK client: the revision cycle, renames and deletes, and what roles and a lapsed wiki allow."""

from __future__ import annotations

from services.mcp.tests.support.served import Served
from services.mcp.tests.support.world import BOB, CAROL


def test_write_read_edit_cycle(served: Served) -> None:
    created = served.ok("write_note", {"path": "Cycle", "content": "# Cycle\n\n## A\n\none\n"})
    assert created["created"] is True
    page = served.ok("read_note", {"path": "Cycle"})
    assert page["revision"] == created["revision"]
    assert page["sections"] == ["Cycle", "Cycle > A"]
    assert served.ok("read_note", {"path": "Cycle", "section": "A"})["content"] == "## A\n\none\n"
    stale = served.fail("write_note", {"path": "Cycle", "content": "x"})
    assert stale.startswith("[revision_required]")
    assert "read_note" in stale
    served.ok("edit_note", {"path": "Cycle", "operation": "replace", "old_text": "one", "content": "uno"})
    conflict = served.fail("write_note", {"path": "Cycle", "content": "x", "base_revision": page["revision"]})
    assert conflict.startswith("[stale_revision]")
    assert "read_note again" in conflict
    fresh = served.ok("read_note", {"path": "Cycle"})
    served.ok("write_note", {"path": "Cycle", "content": "# New\n", "base_revision": fresh["revision"]})
    assert served.ok("read_note", {"path": "Cycle"})["content"] == "# New\n"
    old = served.ok("get_history", {"path": "Cycle"})["history"][-1]["commit"]
    assert "one" in served.ok("read_note", {"path": "Cycle", "revision": old})["content"]
    for op, extra in [("append", {}), ("prepend", {}), ("insert_after_section", {"section": "New"})]:
        served.ok("edit_note", {"path": "Cycle", "operation": op, "content": op, **extra})
    text = served.ok("read_note", {"path": "Cycle"})["content"]
    assert text.startswith("prepend")
    assert "append" in text
    assert "insert_after_section" in text


def test_rename_and_delete(served: Served) -> None:
    served.ok("write_note", {"path": "Old Name", "content": "x\n"})
    served.ok("write_note", {"path": "Points", "content": "[[Old Name]]\n"})
    renamed = served.ok("rename_note", {"path": "Old Name", "new_path": "Archive/New Name"})
    assert renamed["links_updated_in"] == ["Points"]
    assert served.ok("read_note", {"path": "Points"})["content"] == "[[Archive/New Name]]\n"
    assert served.fail("rename_note", {"path": "Points", "new_path": "Home"}).startswith("[page_exists]")
    served.ok("delete_note", {"path": "Points"})
    assert served.fail("delete_note", {"path": "Points"}).startswith("[page_not_found]")


def test_roles_through_mcp(served: Served) -> None:
    served.ok("write_note", {"path": "Bob Was Here", "content": "b\n"}, who=BOB)
    assert served.ok("read_note", {"path": "Bob Was Here"}, who=CAROL)["content"] == "b\n"
    viewer = served.fail("write_note", {"path": "Carol", "content": "c"}, who=CAROL)
    assert viewer.startswith("[role_forbids]")
    assert "viewer" in viewer
    served.world.set_wiki("notes", payment_status="lapsed")
    try:
        lapsed = served.fail("edit_note", {"path": "Home", "operation": "append", "content": "x"})
        assert lapsed.startswith("[wiki_read_only]")
        assert served.ok("read_note", {"path": "Home"})["path"] == "Home"
    finally:
        served.world.set_wiki("notes", payment_status="active")
