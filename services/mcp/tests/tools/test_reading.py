"""The reading tools (``read_note``, ``list_notes``, ``search_notes``, ``semantic_search``) through the official
``mcp`` SDK client: actionable refusals, and the searches over the embedder's contract (with the ChatGPT pair)."""

from __future__ import annotations

from services.mcp.tests.support.served import Served
from services.mcp.tests.support.world import ALICE


def test_not_found_and_bad_input_are_actionable(served: Served) -> None:
    missing = served.fail("read_note", {"path": "No Such Page"})
    assert missing.startswith("[page_not_found]")
    assert "list_notes" in missing
    assert "search_notes" in missing
    assert served.fail("read_note", {"path": "../secret"}).startswith("[invalid_path]")
    assert served.fail("read_note", {"path": "Home", "section": "Nope"}).startswith("[section_not_found]")
    assert "get_history" in served.fail("read_note", {"path": "Home", "revision": "deadbeef"})
    bad_op = served.call(served.world.pat(ALICE), "edit_note", {"path": "Home", "operation": "explode"})
    assert bad_op.is_error
    assert "Traceback" not in bad_op.content[0].text
    assert served.fail(
        "edit_note", {"path": "Home", "operation": "replace", "old_text": "zzz", "content": "y"}
    ).startswith("[invalid_edit]")


def test_search_tools_use_the_embedder_contract(served: Served) -> None:
    served.ok("write_note", {"path": "Deploy", "content": "# Deploy\n\nWe deploy with kubectl rollout.\n"})
    served.embedder.requests.clear()
    found = served.ok("search_notes", {"query": "kubectl rollout", "limit": 3})
    assert found["results"][0]["path"] == "Deploy"
    assert found["mode"] == "fulltext"
    assert served.embedder.requests[-1][2] == {
        "wiki": "notes",
        "query": "kubectl rollout",
        "mode": "fulltext",
        "k": 3,
        "max_chunks_per_page": 3,
    }
    sem = served.ok("semantic_search", {"query": "how do we deploy", "n": 2, "max_chunks_per_page": 1})
    assert sem["mode"] == "semantic"
    assert len(sem["results"][0]["matches"]) == 1
    chatgpt = served.ok("search", {"query": "kubectl"})
    assert chatgpt["results"][0] == {
        "id": "Deploy",
        "title": "Deploy",
        "url": "http://notes.localhost:8080/Deploy",
    }
    fetched = served.ok("fetch", {"id": "Deploy"})
    assert fetched["text"].startswith("# Deploy")
    assert fetched["url"].endswith("/Deploy")
    assert fetched["metadata"]["revision"]
    served.embedder.down = True
    try:
        assert served.fail("search_notes", {"query": "kubectl"}).startswith("[search_unavailable]")
    finally:
        served.embedder.down = False
