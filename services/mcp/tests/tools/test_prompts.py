"""The prompts through the official ``mcp`` SDK client and FastMCP's client: listed with described arguments,
rendered as steps that name the tools and carry the arguments and what the wiki says now, refused in words."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from mcp import Client, MCPError
from mcp_types import INVALID_PARAMS

from services.mcp.tests.support.clients import fast, sdk
from services.mcp.tests.support.served import Served
from services.mcp.tests.support.world import ALICE, CAROL, DAVE

T = TypeVar("T")


def run(served: Served, go: Callable[[Client], Awaitable[T]], token: str | None = None) -> T:
    async def main() -> T:
        async with sdk(served.base, token or served.world.pat(ALICE)) as client:
            return await go(client)

    return asyncio.run(main())


def render(served: Served, name: str, arguments: dict[str, str], token: str | None = None) -> str:
    async def go(client: Client) -> str:
        (message,) = (await client.get_prompt(name, arguments)).messages
        assert message.role == "user"
        return message.content.text  # type: ignore[union-attr]

    return run(served, go, token)


def refusal(served: Served, name: str, arguments: dict[str, str]) -> MCPError:
    async def go(client: Client) -> MCPError:
        with pytest.raises(MCPError) as caught:
            await client.get_prompt(name, arguments)
        return caught.value

    error = run(served, go)
    assert "Traceback" not in error.message
    return error


def test_prompts_are_listed_with_described_arguments(served: Served) -> None:
    async def go(client: Client) -> Any:
        return (await client.list_prompts()).prompts

    prompts = {p.name: p for p in run(served, go)}
    assert set(prompts) == {"record_note", "changes_since", "fix_orphans_and_broken_links"}
    required = {name: {a.name: a.required for a in p.arguments or []} for name, p in prompts.items()}
    assert required == {
        "record_note": {"topic": True, "path": False},
        "changes_since": {"since": True, "prefix": False},
        "fix_orphans_and_broken_links": {"prefix": False},
    }
    for prompt in prompts.values():
        assert prompt.title
        assert prompt.description
        assert len(prompt.description) > 40
        for argument in prompt.arguments or []:
            assert argument.description
            assert "JSON schema" not in argument.description  # plain strings, described in words


def test_record_note_follows_the_conventions_page(served: Served) -> None:
    before = render(served, "record_note", {"topic": "the deploy freeze"})
    assert "the deploy freeze" in before
    assert 'read_note(path="Home")' in before  # no Conventions page yet
    served.ok(
        "write_note",
        {"path": "Conventions", "content": "# Conventions\n\nDecisions live under Decisions/.\n"},
    )
    text = render(served, "record_note", {"topic": "the deploy freeze", "path": "Decisions/Deploy Freeze"})
    assert 'read_note(path="Conventions")' in text
    for tool in ("search_notes", "semantic_search", "write_note", "get_links", "find_orphaned_notes"):
        assert tool in text, tool
    assert 'write_note(path="Decisions/Deploy Freeze"' in text
    existing = render(served, "record_note", {"topic": "x", "path": "Conventions"})
    assert "edit_note" in existing
    assert "base_revision" in existing
    chosen = render(served, "record_note", {"topic": "x"})
    assert "list_notes(prefix=" in chosen


def test_changes_since_names_the_date_and_the_tools(served: Served) -> None:
    text = render(served, "changes_since", {"since": "2025-01-31", "prefix": "Team/"})
    assert 'get_recent_changes(since="2025-01-31T00:00:00Z"' in text
    assert "'Team/'" in text
    for tool in ("read_note", "get_history"):
        assert tool in text, tool
    assert "change nothing" in text


def test_fix_orphans_names_them_and_the_tools(served: Served) -> None:
    served.ok("write_note", {"path": "Lonely", "content": "# Lonely\n\nSee [[Nowhere]].\n"})
    served.ok("write_note", {"path": "Team/Alone", "content": "# Alone\n"})
    text = render(served, "fix_orphans_and_broken_links", {})
    assert "Lonely" in text
    assert "Team/Alone" in text
    for tool in ("find_orphaned_notes", "get_links", "edit_note", "list_notes", "base_revision"):
        assert tool in text, tool
    assert "wait for my go-ahead" in text
    team = render(served, "fix_orphans_and_broken_links", {"prefix": "team/"})
    assert "Team/Alone" in team
    assert "Lonely" not in team

    async def with_fastmcp() -> Any:
        async with fast(served.base, served.world.pat(CAROL)) as client:  # a viewer may render prompts
            return await client.get_prompt("fix_orphans_and_broken_links", {})

    assert "Lonely" in asyncio.run(with_fastmcp()).messages[0].content.text


def test_prompt_refusals_are_in_words(served: Served) -> None:
    missing = refusal(served, "changes_since", {})
    assert missing.code == INVALID_PARAMS
    assert missing.message.startswith("[missing_argument]")
    assert "since" in missing.message
    bad_date = refusal(served, "changes_since", {"since": "yesterday"})
    assert (bad_date.code, bad_date.message.split("]")[0]) == (INVALID_PARAMS, "[invalid_time")
    bad_path = refusal(served, "record_note", {"topic": "x", "path": "../etc"})
    assert (bad_path.code, bad_path.message.split("]")[0]) == (INVALID_PARAMS, "[invalid_path")
    assert refusal(served, "no_such_prompt", {}).code == INVALID_PARAMS


def test_prompts_need_a_reader_of_this_wiki(served: Served) -> None:
    url = served.base + "/mcp"
    h = {"Host": "notes.localhost:8080", "Accept": "application/json, text/event-stream"}
    for method, params in [("prompts/list", {}), ("prompts/get", {"name": "fix_orphans_and_broken_links"})]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        assert httpx.post(url, json=body, headers=h).status_code == 401, method
        other = {**h, "Authorization": f"Bearer {served.world.pat(DAVE, 'other')}"}
        assert httpx.post(url, json=body, headers=other).status_code == 401, method
