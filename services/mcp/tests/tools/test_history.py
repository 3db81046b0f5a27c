"""Links and history tools (``get_links``, ``get_history``, ``get_recent_changes``, ``find_orphaned_notes``)
through the official ``mcp`` SDK client."""

from __future__ import annotations

from services.mcp.tests.support.served import Served


def test_list_links_history_changes_orphans(served: Served) -> None:
    served.ok(
        "write_note",
        {"path": "Graph/A", "content": "---\ntags: [graph]\n---\n[[Graph/B]] [[Graph/Missing]]\n"},
    )
    served.ok("write_note", {"path": "Graph/B", "content": "b\n"})
    listed = served.ok("list_notes", {"prefix": "Graph/", "limit": 1})
    assert listed["total"] == 2
    assert listed["pages"][0]["path"] == "Graph/A"
    assert listed["next_cursor"] == "Graph/A"
    assert served.ok("list_notes", {"tag": "graph"})["pages"][0]["path"] == "Graph/A"
    links = served.ok("get_links", {"path": "Graph/A"})
    assert links["links_to"] == ["Graph/B"]
    assert links["missing"] == ["Graph/Missing"]
    assert served.ok("get_links", {"path": "Graph/B"})["linked_from"] == ["Graph/A"]
    assert "Graph/A" in served.ok("find_orphaned_notes", {})["orphans"]
    changes = served.ok("get_recent_changes", {"limit": 2})["changes"]
    assert changes[0]["pages"][0]["path"] == "Graph/B"
    assert changes[0]["author"] == "alice.test"
    assert served.ok("get_history", {"path": "Graph/B"})["history"][0]["message"] == "Create Graph/B"
