"""Every MCP tool through the official ``mcp`` SDK client, against the real app under uvicorn on 127.0.0.1,
authenticated with personal access tokens; the happy path and the failures an agent must understand."""

from __future__ import annotations

import asyncio
import base64
import importlib.metadata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastmcp
import pytest
import redis

import wikibot_shared
from services.mcp.tests.conftest import ALICE, BOB, CAROL, DAVE, World, make_world
from services.mcp.tests.mcp_clients import error_text, fast, payload, sdk
from services.mcp.tests.servers import ContractEmbedder, running, uvicorn_thread
from wikibot_mcp.main import create_app

EXPECTED_TOOLS = {
    "read_note",
    "write_note",
    "edit_note",
    "list_notes",
    "search_notes",
    "semantic_search",
    "get_links",
    "get_history",
    "get_recent_changes",
    "rename_note",
    "delete_note",
    "find_orphaned_notes",
    "list_attachments",
    "upload_attachment",
    "download_attachment",
    "delete_attachment",
    "search",
    "fetch",
}
READ_ONLY = {
    "read_note",
    "list_notes",
    "search_notes",
    "semantic_search",
    "get_links",
    "get_history",
    "get_recent_changes",
    "find_orphaned_notes",
    "list_attachments",
    "download_attachment",
    "search",
    "fetch",
}


class Served:
    def __init__(self, world: World, base: str, embedder: ContractEmbedder) -> None:
        self.world, self.base, self.embedder = world, base, embedder

    def call(self, token: str | None, tool: str, args: dict[str, Any]) -> Any:
        async def go() -> Any:
            async with sdk(self.base, token) as client:
                return await client.call_tool(tool, args)

        return asyncio.run(go())

    def ok(self, tool: str, args: dict[str, Any], who: str = ALICE) -> dict[str, Any]:
        result = self.call(self.world.pat(who), tool, args)
        assert not result.is_error, result.content
        return payload(result)

    def fail(self, tool: str, args: dict[str, Any], who: str = ALICE) -> str:
        return error_text(self.call(self.world.pat(who), tool, args))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("mcp")
    embedder = ContractEmbedder(tmp / "wikis")
    with running(embedder) as embedder_url:
        world = make_world(tmp, redis_url, embedder_internal_url=embedder_url)
        with uvicorn_thread(create_app(world.settings)) as base:
            yield Served(world, base, embedder)
    redis.Redis.from_url(redis_url).close()


def test_tools_are_listed_with_descriptions_and_annotations(served: Served) -> None:
    async def go() -> Any:
        async with sdk(served.base, served.world.pat(ALICE)) as client:
            return (await client.list_tools()).tools

    tools = {t.name: t for t in asyncio.run(go())}
    assert set(tools) == EXPECTED_TOOLS
    for name, tool in tools.items():
        assert tool.description, name
        assert len(tool.description) > 40, name
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (name in READ_ONLY), name
        for prop in tool.input_schema.get("properties", {}).values():
            assert prop.get("description"), (name, prop)
    assert tools["delete_note"].annotations.destructive_hint is True
    assert tools["write_note"].annotations.idempotent_hint is True


def test_server_info_names_wikibot_and_its_own_version(served: Served) -> None:
    async def go() -> Any:
        async with sdk(served.base, served.world.pat(ALICE)) as client:
            return client.server_info

    info = asyncio.run(go())
    assert info.name == "Wikibot"
    assert info.version == wikibot_shared.__version__
    assert info.version == importlib.metadata.version("wikibot-mcp")
    assert info.version != fastmcp.__version__


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


def test_rename_and_delete(served: Served) -> None:
    served.ok("write_note", {"path": "Old Name", "content": "x\n"})
    served.ok("write_note", {"path": "Points", "content": "[[Old Name]]\n"})
    renamed = served.ok("rename_note", {"path": "Old Name", "new_path": "Archive/New Name"})
    assert renamed["links_updated_in"] == ["Points"]
    assert served.ok("read_note", {"path": "Points"})["content"] == "[[Archive/New Name]]\n"
    assert served.fail("rename_note", {"path": "Points", "new_path": "Home"}).startswith("[page_exists]")
    served.ok("delete_note", {"path": "Points"})
    assert served.fail("delete_note", {"path": "Points"}).startswith("[page_not_found]")


def test_attachments(served: Served) -> None:
    served.ok("write_note", {"path": "Files", "content": "files\n"})
    data = bytes(range(256))
    up = served.ok(
        "upload_attachment",
        {"path": "Files", "filename": "b.bin", "content_base64": base64.b64encode(data).decode()},
    )
    assert up["size"] == 256
    assert up["url"].endswith("/Files/a/b.bin")
    assert served.ok("list_attachments", {"path": "Files"})["attachments"][0]["filename"] == "b.bin"
    down = served.ok("download_attachment", {"path": "Files", "filename": "b.bin"})
    assert base64.b64decode(down["content_base64"]) == data
    assert served.fail(
        "upload_attachment", {"path": "Files", "filename": "b.bin", "content_base64": "AA=="}
    ).startswith("[page_exists]")
    assert served.fail(
        "upload_attachment", {"path": "Files", "filename": "c.bin", "content_base64": "!!"}
    ).startswith("[invalid_base64]")
    assert served.fail(
        "upload_attachment", {"path": "Files", "filename": "../x", "content_base64": "AA=="}
    ).startswith("[invalid_path]")
    served.world.set_wiki("notes", tier="tiny")
    try:
        big = base64.b64encode(b"x" * 1001).decode()
        too_big = served.fail(
            "upload_attachment", {"path": "Files", "filename": "big.bin", "content_base64": big}
        )
        assert too_big.startswith("[attachment_too_large]")
        assert "1000" in too_big
    finally:
        served.world.set_wiki("notes", tier="free")
    served.ok("delete_attachment", {"path": "Files", "filename": "b.bin"})
    assert served.fail("download_attachment", {"path": "Files", "filename": "b.bin"}).startswith(
        "[attachment_not_found]"
    )


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


def test_fastmcp_client_too(served: Served) -> None:
    async def go() -> tuple[Any, Any, Any]:
        async with fast(served.base, served.world.pat(BOB)) as client:
            tools = await client.list_tools()
            wrote = await client.call_tool("write_note", {"path": "Via FastMCP", "content": "hello\n"})
            read = await client.call_tool("read_note", {"path": "Via FastMCP"})
            return tools, wrote, read

    tools, wrote, read = asyncio.run(go())
    assert {t.name for t in tools} == EXPECTED_TOOLS
    assert wrote.data["created"] is True
    assert read.data["content"] == "hello\n"


def test_http_auth_edge(served: Served, tmp_path: Path) -> None:
    import httpx

    url = served.base + "/mcp"
    init = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    h = {"Host": "notes.localhost:8080", "Accept": "application/json, text/event-stream"}
    anon = httpx.post(url, json=init, headers=h)
    assert anon.status_code == 401
    challenge = anon.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert (
        'resource_metadata="http://notes.localhost:8080/.well-known/oauth-protected-resource/mcp"'
        in challenge
    )
    assert 'scope="wiki:read"' in challenge
    assert anon.json()["error"] == "unauthenticated"
    bad = httpx.post(url, json=init, headers={**h, "Authorization": "Bearer wbp_nope"})
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    other = httpx.post(
        url, json=init, headers={**h, "Authorization": f"Bearer {served.world.pat(DAVE, 'other')}"}
    )
    assert other.status_code == 401
    assert "another wiki" in other.json()["message"]
    stranger = httpx.post(url, json=init, headers={**h, "Authorization": f"Bearer {served.world.pat(DAVE)}"})
    assert stranger.status_code == 403
    assert stranger.json()["error"] == "no_access"
    read_only = served.world.pat(ALICE, scopes="wiki:read")
    write_call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "write_note", "arguments": {"path": "S", "content": "x"}},
    }
    scoped = httpx.post(url, json=write_call, headers={**h, "Authorization": f"Bearer {read_only}"})
    assert scoped.status_code == 403
    assert scoped.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in scoped.headers["www-authenticate"]
    assert 'scope="wiki:write"' in scoped.headers["www-authenticate"]
    huge = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "read_note", "arguments": {"path": "x" * 5_000_000}},
    }
    too_large = httpx.post(
        url, json=huge, headers={**h, "Authorization": f"Bearer {served.world.pat(ALICE)}"}
    )
    assert too_large.status_code == 413
    assert "/api/v1/attachments" in too_large.json()["message"]
    ok = httpx.post(url + "/", json=init, headers={**h, "Authorization": f"Bearer {served.world.pat(ALICE)}"})
    assert ok.status_code == 200
    assert "read_note" in ok.text
    meta = httpx.get(served.base + "/.well-known/oauth-protected-resource/mcp", headers=h)
    assert meta.json() == {
        "resource": "http://notes.localhost:8080/mcp",
        "authorization_servers": ["http://localhost:8080"],
        "scopes_supported": ["wiki:read", "wiki:write"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Notes (Wikibot)",
        "resource_documentation": "http://notes.localhost:8080/api/v1/docs",
    }
    assert httpx.get(served.base + "/.well-known/oauth-protected-resource", headers=h).json() == meta.json()
    assert (
        httpx.get(
            served.base + "/.well-known/oauth-protected-resource", headers={"Host": "ghost.localhost:8080"}
        ).status_code
        == 404
    )


def test_tool_calls_and_mcp_requests_are_counted(served: Served) -> None:
    """``wikibot_mcp_tool_calls_total{tool,outcome}`` and the request series for ``/mcp`` (docs/observability.md)."""
    from prometheus_client import REGISTRY

    def tool_calls(tool: str, outcome: str) -> float:
        labels = {"tool": tool, "outcome": outcome}
        return REGISTRY.get_sample_value("wikibot_mcp_tool_calls_total", labels) or 0.0

    def mcp_posts() -> float:
        labels = {"service": "mcp", "method": "POST", "route": "/mcp", "status": "200"}
        return REGISTRY.get_sample_value("wikibot_http_requests_total", labels) or 0.0

    before = {
        "ok": tool_calls("read_note", "ok"),
        "not_found": tool_calls("read_note", "not_found"),
        "forbidden": tool_calls("write_note", "forbidden"),
        "invalid": tool_calls("read_note", "invalid"),
        "posts": mcp_posts(),
    }
    served.ok("read_note", {"path": "Home"})
    served.fail("read_note", {"path": "No Such Page"})
    served.fail("read_note", {"path": "../secret"})
    served.fail("write_note", {"path": "Carol", "content": "c"}, who=CAROL)
    assert tool_calls("read_note", "ok") == before["ok"] + 1
    assert tool_calls("read_note", "not_found") == before["not_found"] + 1
    assert tool_calls("read_note", "invalid") == before["invalid"] + 1
    assert tool_calls("write_note", "forbidden") == before["forbidden"] + 1
    assert mcp_posts() >= before["posts"] + 4  # the SDK also initializes and lists tools


def test_the_request_id_follows_a_tool_call_to_the_embedder(served: Served) -> None:
    """One id in the mcp's and the embedder's log lines: the search call carries the caller's X-Request-Id."""
    import httpx

    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "search_notes", "arguments": {"query": "kubectl"}},
    }
    headers = {
        "Host": "notes.localhost:8080",
        "Authorization": f"Bearer {served.world.pat(ALICE)}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
        "X-Request-Id": "journey-0042",
    }
    served.embedder.request_ids.clear()
    response = httpx.post(served.base + "/mcp", json=call, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "journey-0042"
    assert served.embedder.request_ids == ["journey-0042"]
