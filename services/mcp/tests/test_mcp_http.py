"""``/mcp`` over real HTTP against the real app under uvicorn: the authentication gate and its challenges, the body
limit, the protected-resource metadata, another client (FastMCP's), and the request id carried to the embedder."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from services.mcp.tests.support.clients import fast
from services.mcp.tests.support.served import EXPECTED_TOOLS, Served
from services.mcp.tests.support.world import ALICE, BOB, DAVE


def test_fastmcp_client_too(served: Served) -> None:
    async def go() -> tuple[Any, Any, Any]:
        async with fast(served.base, served.world.pat(BOB)) as client:
            tools = await client.list_tools()
            wrote = await client.call_tool("write_note", {"path": "Via FastMCP", "content": "hello\n"})
            read = await client.call_tool("read_note", {"path": "Via FastMCP"})
            return tools, wrote, read

    tools, wrote, read = asyncio.run(go())
    assert {t.name for t in tools} == EXPECTED_TOOLS
    # FastMCP's client builds typed objects from the declared output schemas
    assert wrote.data.created is True
    assert wrote.data.commit == wrote.structured_content["commit"]
    assert read.data.content == "hello\n"
    assert read.data.revision == wrote.data.revision


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
    assert 'scope="wiki:read wiki:write"' in challenge  # what an agent connecting needs: one consent
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
