"""Each tool's declaration, seen by a client: the listed tools with their descriptions and annotations, the
step-up a writing tool asks of a read-only token, and the server's name and version."""

from __future__ import annotations

import asyncio
import importlib.metadata
from typing import Any

import fastmcp

import wikibot_shared
from services.mcp.tests.support.clients import sdk
from services.mcp.tests.support.served import EXPECTED_TOOLS, Served
from services.mcp.tests.support.world import ALICE


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
        for prop in tool.input_schema.get("properties", {}).values():
            assert prop.get("description"), (name, prop)
    assert tools["delete_note"].annotations.destructive_hint is True
    assert tools["write_note"].annotations.idempotent_hint is True


def test_every_tool_has_a_title_and_the_icon_of_its_kind(served: Served) -> None:
    async def go() -> Any:
        async with sdk(served.base, served.world.pat(ALICE)) as client:
            return (await client.list_tools()).tools, client.server_info

    tools, server = asyncio.run(go())
    base = f"{served.world.settings.platform_url}/app/static/icons"
    titles = set()
    for tool in tools:
        assert tool.title, tool.name
        assert tool.title[0].isupper(), tool.name
        titles.add(tool.title)
        kind = (
            "read"
            if tool.annotations.read_only_hint
            else "destructive"
            if tool.annotations.destructive_hint and not tool.annotations.idempotent_hint
            else "write"
        )
        assert [(i.src, i.mime_type) for i in tool.icons or ()] == [
            (f"{base}/{kind}.svg", "image/svg+xml")
        ], tool.name
    assert len(titles) == len(tools)  # no two tools look alike in a client's list
    assert [i.src for i in server.icons or ()] == [f"{base}/wikibot.svg"]


def test_a_tools_declaration_decides_its_annotations_and_its_step_up(served: Served) -> None:
    """Declared once: a tool that says it only reads runs on a read-only token; any other tool is a write and a
    read-only token gets the HTTP step-up challenge, before anything runs (so no arguments are needed)."""
    import httpx

    async def go() -> Any:
        async with sdk(served.base, served.world.pat(ALICE)) as client:
            return (await client.list_tools()).tools

    read_only = served.world.pat(ALICE, scopes="wiki:read")
    headers = {
        "Host": "notes.localhost:8080",
        "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {read_only}",
    }
    kinds = {}
    for tool in asyncio.run(go()):
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": tool.name, "arguments": {}},
        }
        answer = httpx.post(served.base + "/mcp", json=call, headers=headers)
        if tool.annotations.read_only_hint:
            assert answer.status_code == 200, (tool.name, answer.text)
            assert tool.annotations.destructive_hint is False
        else:
            assert answer.status_code == 403, (tool.name, answer.text)
            assert answer.json()["error"] == "insufficient_scope"
            assert 'scope="wiki:write"' in answer.headers["www-authenticate"]
        kinds[tool.name] = tool.annotations.read_only_hint
    assert {name for name, read_only in kinds.items() if not read_only} == {
        "write_note",
        "edit_note",
        "rename_note",
        "delete_note",
        "upload_attachment",
        "delete_attachment",
        "restore_note",
    }


def test_server_info_names_wikibot_and_its_own_version(served: Served) -> None:
    async def go() -> Any:
        async with sdk(served.base, served.world.pat(ALICE)) as client:
            return client.server_info

    info = asyncio.run(go())
    assert info.name == "Wikibot"
    assert info.version == wikibot_shared.__version__
    assert info.version == importlib.metadata.version("wikibot-mcp")
    assert info.version != fastmcp.__version__
