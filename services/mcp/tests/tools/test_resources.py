"""Pages and attachments as MCP resources, through the official ``mcp`` SDK client and FastMCP's client: the
listing a page at a time with the spec's cursor, reads (text and blob, with their MIME types), the templates,
the refusals in words, who may read, and no subscriptions on a stateless server."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from mcp import Client, MCPError
from mcp_types import INVALID_PARAMS

from services.mcp.tests.support.clients import fast, sdk
from services.mcp.tests.support.served import Served
from services.mcp.tests.support.world import ALICE, CAROL, DAVE
from tests.support import tssdk
from wikibot_mcp.tools.resources import ATTACHMENT_TEMPLATE, PAGE_SIZE, PAGE_TEMPLATE

T = TypeVar("T")
BIG = "big"
BIG_HOST = "big.localhost:8080"
TOPICS = 2 * PAGE_SIZE + 30
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def run(
    served: Served, go: Callable[[Client], Awaitable[T]], token: str | None = None, host: str | None = None
) -> T:
    async def main() -> T:
        async with sdk(
            served.base, token or served.world.pat(ALICE), **({"host": host} if host else {})
        ) as c:
            return await go(c)

    return asyncio.run(main())


@pytest.fixture(scope="module")
def big(served: Served) -> dict[str, str]:
    """A wiki of its own with more resources than two answers hold: its text files, by path."""
    files = {f"Topic {i:03d}.md": f"# Topic {i}\n\nSee [[Topic {i + 1:03d}]].\n" for i in range(TOPICS)}
    files["Team/Setup Guide.md"] = "# Setup Guide\n\nünïcode and spaces\n"
    files["Team/Setup Guide/readme.txt"] = "attached text\n"
    files["loose.txt"] = "beside no page: not an attachment\n"
    served.world.add_wiki(BIG, files=files)
    served.world.core.upload(served.world.actor(ALICE, BIG), "Team/Setup Guide", "diagram.png", PNG)
    return files


def test_every_page_and_attachment_is_listed_once_following_the_cursor(
    served: Served, big: dict[str, str]
) -> None:
    token = served.world.pat(ALICE, BIG)

    async def walk(client: Client) -> list[list[Any]]:
        answers, cursor = [], None
        while True:
            listed = await client.list_resources(cursor=cursor)
            answers.append(listed.resources)
            cursor = listed.next_cursor
            if cursor is None:
                return answers

    answers = run(served, walk, token, BIG_HOST)
    assert len(answers) == 3
    assert [len(a) for a in answers[:2]] == [PAGE_SIZE, PAGE_SIZE]
    uris = [r.uri for answer in answers for r in answer]
    assert len(uris) == len(set(uris))
    pages = {f"wiki://page/Topic%20{i:03d}" for i in range(TOPICS)}
    attachments = {
        "wiki://attachment/Team/Setup%20Guide/readme.txt",
        "wiki://attachment/Team/Setup%20Guide/diagram.png",
    }
    assert set(uris) == pages | attachments | {"wiki://page/Home", "wiki://page/Team/Setup%20Guide"}
    by_uri = {r.uri: r for answer in answers for r in answer}
    guide = by_uri["wiki://page/Team/Setup%20Guide"]
    assert (guide.name, guide.title, guide.mime_type) == ("Team/Setup Guide", "Setup Guide", "text/markdown")
    assert guide.size == len(big["Team/Setup Guide.md"].encode())
    read = served.world.core.read(served.world.actor(ALICE, BIG), "Team/Setup Guide")
    assert guide.meta == {"revision": read["revision"]}  # what read_note calls it
    assert guide.annotations is not None
    assert guide.annotations.last_modified
    png = by_uri["wiki://attachment/Team/Setup%20Guide/diagram.png"]
    assert (png.name, png.title, png.mime_type, png.size) == (
        "Team/Setup Guide/diagram.png",
        "diagram.png",
        "image/png",
        len(PNG),
    )
    assert by_uri["wiki://attachment/Team/Setup%20Guide/readme.txt"].mime_type == "text/plain"

    async def with_fastmcp() -> list[Any]:
        async with fast(served.base, token, BIG_HOST) as client:
            return await client.list_resources()  # follows the cursors itself

    assert [str(r.uri) for r in asyncio.run(with_fastmcp())] == uris


def test_the_cursor_holds_while_pages_come_and_go(served: Served) -> None:
    """A cursor names the last resource sent: pages created or deleted between calls neither repeat nor skip
    the others (pagination spec: stable cursors)."""
    served.world.add_wiki("moving", files={f"P {i:03d}.md": f"# P {i}\n" for i in range(PAGE_SIZE + 50)})
    token, host = served.world.pat(ALICE, "moving"), "moving.localhost:8080"
    alice = served.world.actor(ALICE, "moving")

    async def walk(client: Client) -> list[str]:
        first = await client.list_resources()
        served.world.core.write(alice, "A first", "# A\n")  # before the cursor: not this walk's
        served.world.core.delete(alice, "P 000")  # already sent
        served.world.core.write(alice, "Z last", "# Z\n")  # after it: listed
        rest = await client.list_resources(cursor=first.next_cursor)
        assert rest.next_cursor is None
        return [r.uri for r in [*first.resources, *rest.resources]]

    uris = run(served, walk, token, host)
    assert len(uris) == len(set(uris)) == PAGE_SIZE + 50 + 2  # the pages, Home and "Z last"
    assert uris[-1] == "wiki://page/Z%20last"
    assert "wiki://page/A%20first" not in uris


def test_a_page_reads_as_its_markdown(served: Served) -> None:
    text = "---\ntags: [ops]\n---\n# Runbook\n\nRestart with `systemctl restart wiki` — ünïcode.\n"
    wrote = served.ok("write_note", {"path": "Ops/Run Book", "content": text})

    async def go(client: Client) -> Any:
        return await client.read_resource("wiki://page/Ops/Run%20Book")

    (content,) = run(served, go).contents
    assert content.uri == "wiki://page/Ops/Run%20Book"
    assert content.mime_type == "text/markdown"
    assert content.text == text
    assert content.meta == {
        "revision": wrote["revision"],
        "url": "http://notes.localhost:8080/Ops/Run%20Book",
    }

    async def with_fastmcp() -> Any:
        async with fast(served.base, served.world.pat(ALICE)) as client:
            return await client.read_resource("wiki://page/Ops/Run%20Book")

    assert asyncio.run(with_fastmcp())[0].text == text


def test_an_attachment_reads_as_its_bytes_and_type(served: Served) -> None:
    served.ok("write_note", {"path": "Files", "content": "# Files\n"})
    encoded = base64.b64encode(PNG).decode()
    served.ok("upload_attachment", {"path": "Files", "filename": "logo.png", "content_base64": encoded})
    served.ok("upload_attachment", {"path": "Files", "filename": "notes.txt", "content_base64": "aGk="})

    async def go(client: Client) -> Any:
        return [
            (await client.read_resource(uri)).contents[0]
            for uri in ("wiki://attachment/Files/logo.png", "wiki://attachment/Files/notes.txt")
        ]

    png, txt = run(served, go)
    assert png.mime_type == "image/png"
    assert base64.b64decode(png.blob) == PNG
    assert txt.mime_type == "text/plain"
    assert base64.b64decode(txt.blob) == b"hi"


def test_the_templates_are_listed(served: Served) -> None:
    async def go(client: Client) -> Any:
        return (await client.list_resource_templates()).resource_templates

    templates = {t.uri_template: t for t in run(served, go)}
    assert set(templates) == {PAGE_TEMPLATE, ATTACHMENT_TEMPLATE}
    assert templates[PAGE_TEMPLATE].mime_type == "text/markdown"
    assert templates[PAGE_TEMPLATE].title == "Wiki page"
    for template in templates.values():
        assert template.description
        assert len(template.description) > 40


def test_refusals_are_errors_in_words(served: Served) -> None:
    async def error_of(call: Callable[[Client], Awaitable[Any]]) -> MCPError:
        async with sdk(served.base, served.world.pat(ALICE)) as client:
            with pytest.raises(MCPError) as caught:
                await call(client)
            return caught.value

    def refused(call: Callable[[Client], Awaitable[Any]]) -> MCPError:
        error = asyncio.run(error_of(call))
        assert "Traceback" not in error.message
        return error

    missing = refused(lambda c: c.read_resource("wiki://page/No%20Such%20Page"))
    assert missing.code == INVALID_PARAMS
    assert missing.message.startswith("[page_not_found]")
    assert "list_notes" in missing.message
    assert refused(lambda c: c.read_resource("wiki://page/../Home")).message.startswith("[invalid_path]")
    attachment = refused(lambda c: c.read_resource("wiki://attachment/Home/nope.png"))
    assert (attachment.code, attachment.message.split("]")[0]) == (INVALID_PARAMS, "[attachment_not_found")
    assert "list_attachments" in attachment.message
    cursor = refused(lambda c: c.list_resources(cursor="not a cursor!"))
    assert (cursor.code, cursor.message.split("]")[0]) == (INVALID_PARAMS, "[invalid_cursor")
    assert refused(lambda c: c.read_resource("https://example.com/Home")).code == INVALID_PARAMS


def test_only_this_wikis_readers_may_list_and_read(served: Served) -> None:
    url = served.base + "/mcp"
    h = {"Host": "notes.localhost:8080", "Accept": "application/json, text/event-stream"}
    for method, params in [
        ("resources/list", {}),
        ("resources/read", {"uri": "wiki://page/Home"}),
        ("resources/templates/list", {}),
    ]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        anonymous = httpx.post(url, json=body, headers=h)
        assert anonymous.status_code == 401, method
        assert anonymous.headers["www-authenticate"].startswith("Bearer ")
        other = served.world.pat(DAVE, "other")
        elsewhere = httpx.post(url, json=body, headers={**h, "Authorization": f"Bearer {other}"})
        assert elsewhere.status_code == 401, method
        assert "another wiki" in elsewhere.json()["message"]

    async def go(client: Client) -> tuple[int, str | None]:
        listed = await client.list_resources()
        read = await client.read_resource("wiki://page/Home")
        return len(listed.resources), read.contents[0].text  # type: ignore[union-attr]

    for token in (
        served.world.pat(CAROL),
        served.world.pat(ALICE, scopes="wiki:read"),
    ):  # viewer; read-only token
        count, home = run(served, go, token)
        assert count >= 1
        assert home is not None
        assert home.startswith("# Home")


def test_no_subscriptions_on_a_stateless_server(served: Served) -> None:
    """Any worker answers any request and there is no session to notify: ``subscribe`` is not offered, in either
    protocol era, and ``resources/subscribe`` is an unknown method."""

    async def go(client: Client) -> Any:
        return client.server_capabilities

    modern = run(served, go)
    assert modern.resources is not None
    assert not modern.resources.subscribe
    url = served.base + "/mcp"
    h = {
        "Host": "notes.localhost:8080",
        "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {served.world.pat(ALICE)}",
        "MCP-Protocol-Version": "2025-06-18",
    }
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    init = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}, headers=h
    )
    assert init.json()["result"]["capabilities"]["resources"].get("subscribe") in (None, False)
    body = {"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe", "params": {"uri": "wiki://page/Home"}}
    assert httpx.post(url, json=body, headers=h).json()["error"]["code"] == -32601  # Method not found


def test_the_typescript_sdk_lists_reads_and_completes(served: Served, big: dict[str, str]) -> None:
    """The official TypeScript SDK (1.32.2, as hosts such as Claude Code use it) against the same server."""
    url = f"http://{BIG}.localhost:{served.base.rsplit(':', 1)[1]}/mcp"
    seen = tssdk.run_script(
        Path(__file__).parent / "node" / "resources.mjs", url, served.world.pat(ALICE, BIG)
    )
    assert seen["answers"] == 3
    assert len(seen["uris"]) == len(set(seen["uris"])) == TOPICS + 4
    assert "wiki://attachment/Team/Setup%20Guide/diagram.png" in seen["uris"]
    assert set(seen["templates"]) == {PAGE_TEMPLATE, ATTACHMENT_TEMPLATE}
    assert seen["page"]["mimeType"] == "text/markdown"
    assert seen["page"]["text"] == big["Team/Setup Guide.md"]
    assert seen["png"]["mimeType"] == "image/png"
    assert base64.b64decode(seen["png"]["blob"]) == PNG
    assert seen["completion"]["values"] == [f"Topic {i:03d}" for i in range(100, 200)]
    assert seen["missing"]["code"] == INVALID_PARAMS
    assert "[page_not_found]" in seen["missing"]["message"]
