"""The ``tools/call`` fast path answers exactly as the MCP SDK's own transport does.

Two instances of the real app serve the same world over real HTTP: one with the fast path, one without
(``MCP_FAST_PATH=false``). The same raw requests — both protocol eras, every reading tool, domain errors, bad
arguments, odd envelopes, missing and insufficient credentials — go to both; status, content type and the
JSON-RPC body must be identical, and the fast path must have answered the plain calls itself (and left the rest
to the SDK). Writes are compared by shape (their commits differ) and checked on disk. The official SDK client in
both modes runs against the fast instance too.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import httpx2
import pytest
import redis
from fastmcp import FastMCP
from fastmcp.server.middleware.logging import LoggingMiddleware
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import Field
from starlette.datastructures import Headers as StarletteHeaders

from services.mcp.tests.support.clients import HOST, fast, payload
from services.mcp.tests.support.servers import ContractEmbedder, running, uvicorn_thread
from services.mcp.tests.support.world import ALICE, BOB, CAROL, World, make_world
from wikibot_mcp.direct_calls import DirectCalls, ToolCall
from wikibot_mcp.main import create_app

MODERN = "2026-07-28"
HANDSHAKE = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", None]
Headers = dict[str, str] | list[tuple[str, str]]
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


@dataclass
class Pair:
    world: World
    fast_base: str
    sdk_base: str
    fast_app: Any

    @property
    def answered(self) -> int:
        return int(self.fast_app.state.direct_calls.answered)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("fast")
    embedder = ContractEmbedder(tmp / "wikis")
    with running(embedder) as embedder_url:
        world = make_world(tmp, redis_url, embedder_internal_url=embedder_url)
        alice = world.actor(ALICE)
        world.core.write(
            alice, "Setup Guide", "---\ntags: [ops]\n---\n# Setup Guide\n\n## Linux\n\napt ünïcode\n"
        )
        world.core.write(alice, "Team/Onboarding", "# Onboarding\n\nSee [[Setup Guide]] and [[Missing]].\n")
        world.core.upload(alice, "Setup Guide", "notes.txt", b"hello", overwrite=False, message=None)
        fast_app = create_app(world.settings)
        sdk_app = create_app(world.settings.model_copy(update={"fast_path": False}))
        assert sdk_app.state.direct_calls is None
        with uvicorn_thread(fast_app) as fast_base, uvicorn_thread(sdk_app) as sdk_base:
            yield Pair(world, fast_base, sdk_base, fast_app)
    redis.Redis.from_url(redis_url).close()


def headers(token: str | None, version: str | None, tool: str | None = None, **extra: str) -> dict[str, str]:
    out = {"Host": HOST, "Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token:
        out["Authorization"] = f"Bearer {token}"
    if version:
        out["MCP-Protocol-Version"] = version
    if version == MODERN:
        out["Mcp-Method"] = "tools/call"
        if tool:
            out["Mcp-Name"] = tool
    return {**out, **extra}


def call_body(tool: str, arguments: Any, version: str | None, request_id: Any = 7) -> dict[str, Any]:
    params: dict[str, Any] = {"name": tool}
    if arguments is not None:
        params["arguments"] = arguments
    if version == MODERN:
        params["_meta"] = META
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def exchange(base: str, body: Any, hdrs: Headers) -> tuple[int, str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.post(base + "/mcp", content=raw, headers=hdrs, timeout=30)
    kind = response.headers.get("content-type", "")
    try:
        parsed = response.json()
    except ValueError:
        parsed = response.text
    return response.status_code, kind, parsed


def same(pair: Pair, body: Any, hdrs: Headers, *, taken: bool) -> Any:
    """Send to both instances; assert identical answers and whether the fast path answered. Returns the body."""
    before = pair.answered
    fast_answer = exchange(pair.fast_base, body, hdrs)
    answered = pair.answered - before
    sdk_answer = exchange(pair.sdk_base, body, hdrs)
    assert fast_answer == sdk_answer
    assert answered == (1 if taken else 0), (body, hdrs)
    return fast_answer[2]


READS: list[tuple[str, dict[str, Any]]] = [
    ("read_note", {"path": "Setup Guide"}),
    ("read_note", {"path": "Setup Guide", "section": "Linux"}),
    ("read_note", {"path": "Setup Guide.md"}),
    ("read_note", {"path": "No Such Page"}),
    ("read_note", {"path": "../etc/passwd"}),
    ("read_note", {"path": "Setup Guide", "section": "Windows"}),
    ("read_note", {"path": "Setup Guide", "revision": "deadbeef"}),
    ("list_notes", {}),
    ("list_notes", {"prefix": "Team/", "limit": 1}),
    ("list_notes", {"tag": "ops"}),
    ("list_notes", {"updated_since": "not a date"}),
    ("get_links", {"path": "Team/Onboarding"}),
    ("get_history", {"path": "Setup Guide"}),
    ("get_recent_changes", {"limit": 2}),
    ("find_orphaned_notes", {}),
    ("list_attachments", {"path": "Setup Guide"}),
    ("download_attachment", {"path": "Setup Guide", "filename": "notes.txt"}),
    ("download_attachment", {"path": "Setup Guide", "filename": "nope.txt"}),
    ("search_notes", {"query": "linux"}),
    ("semantic_search", {"query": "how to set up linux", "n": 2}),
    ("search", {"query": "onboarding"}),
    ("fetch", {"id": "Team/Onboarding"}),
]


@pytest.mark.parametrize("version", [MODERN, *HANDSHAKE])
def test_every_reading_tool_answers_as_the_sdk_does(pair: Pair, version: str | None) -> None:
    token = pair.world.pat(ALICE)
    for tool, arguments in READS:
        body = same(pair, call_body(tool, arguments, version), headers(token, version, tool), taken=True)
        assert body["id"] == 7
        assert "result" in body, (tool, body)
    page = same(
        pair,
        call_body("read_note", {"path": "Setup Guide"}, version),
        headers(token, version, "read_note"),
        taken=True,
    )
    assert page["result"]["isError"] is False
    if version == MODERN:
        assert page["result"]["resultType"] == "complete"
        assert page["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "Wikibot"
    assert "ünïcode" in page["result"]["structuredContent"]["content"]
    missing = same(
        pair,
        call_body("read_note", {"path": "Nope"}, version),
        headers(token, version, "read_note"),
        taken=True,
    )
    assert missing["result"]["isError"] is True
    assert missing["result"]["content"][0]["text"].startswith("[page_not_found]")


@pytest.mark.parametrize("version", [MODERN, "2025-11-25"])
def test_bad_arguments_and_odd_requests_are_left_to_the_sdk(pair: Pair, version: str | None) -> None:
    token = pair.world.pat(ALICE)
    h = headers(token, version, "read_note")
    for arguments in [{}, {"path": 5}, {"path": "Home", "bogus": 1}, {"path": "Home", "section": ["a"]}, "x"]:
        same(pair, call_body("read_note", arguments, version), h, taken=False)
    same(
        pair,
        call_body("list_notes", {"limit": 0}, version),
        headers(token, version, "list_notes"),
        taken=False,
    )
    same(pair, call_body("no_such_tool", {}, version), headers(token, version, "no_such_tool"), taken=False)
    # accepted as the SDK accepts them: string ids, no arguments, lax coercion of "3"
    same(
        pair,
        call_body("list_notes", None, version, request_id="abc"),
        headers(token, version, "list_notes"),
        taken=True,
    )
    same(
        pair,
        call_body("list_notes", {"limit": "3"}, version),
        headers(token, version, "list_notes"),
        taken=True,
    )
    with_extension = call_body("read_note", {"path": "Home"}, version)
    with_extension["params"]["_meta"] = {
        **with_extension["params"].get("_meta", {}),
        "fastmcp": {"version": "9"},
    }
    same(pair, with_extension, h, taken=False)
    with_field = call_body("read_note", {"path": "Home"}, version)
    with_field["params"]["requestState"] = "x"
    same(pair, with_field, h, taken=False)
    notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    same(pair, notification, h, taken=False)
    same(pair, [call_body("read_note", {"path": "Home"}, version)], h, taken=False)
    same(pair, b"{not json", h, taken=False)
    same(pair, call_body("read_note", {"path": "Home"}, version), {**h, "Accept": "text/html"}, taken=False)
    same(
        pair,
        call_body("read_note", {"path": "Home"}, version),
        {**h, "Content-Type": "text/plain"},
        taken=False,
    )
    list_tools = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/list",
        "params": call_body("x", None, version)["params"],
    }
    list_tools["params"].pop("name")
    same(pair, list_tools, {**h, "Mcp-Method": "tools/list"} if version == MODERN else h, taken=False)


def test_modern_envelope_checks_match(pair: Pair) -> None:
    token = pair.world.pat(ALICE)
    body = call_body("read_note", {"path": "Home"}, MODERN)
    h = headers(token, MODERN, "read_note")
    same(pair, body, {**h, "Mcp-Name": "list_notes"}, taken=False)
    same(pair, body, {k: v for k, v in h.items() if k != "Mcp-Name"}, taken=False)
    # an Mcp-Param header the tool's schema does not declare is ignored by the SDK too
    same(pair, body, {**h, "Mcp-Param-Path": "Home"}, taken=True)
    same(pair, body, {**h, "Mcp-Method": "tools/list"}, taken=False)
    same(pair, body, [*h.items(), ("Mcp-Name", "read_note")], taken=False)
    without_meta = call_body("read_note", {"path": "Home"}, None)
    same(pair, without_meta, h, taken=False)
    same(pair, body, {**h, "MCP-Protocol-Version": "2099-01-01"}, taken=False)


def test_authorization_is_the_same_on_both_paths(pair: Pair) -> None:
    world = pair.world
    for version in [MODERN, "2025-11-25"]:
        read = call_body("read_note", {"path": "Home"}, version)
        write = call_body("write_note", {"path": "Denied", "content": "x"}, version)
        unauthenticated = same(pair, read, headers(None, version, "read_note"), taken=False)
        assert unauthenticated["error"] == "unauthenticated"
        bad = same(pair, read, headers("wbp_not-a-token", version, "read_note"), taken=False)
        assert bad["error"] == "invalid_token"
        read_only = world.pat(BOB, scopes="wiki:read")
        scope = same(pair, write, headers(read_only, version, "write_note"), taken=False)
        assert scope["error"] == "insufficient_scope"
        viewer = same(pair, write, headers(world.pat(CAROL), version, "write_note"), taken=True)
        assert viewer["result"]["content"][0]["text"].startswith("[role_forbids]")
        other_wiki = world.pat(ALICE, slug="other")
        same(pair, read, headers(other_wiki, version, "read_note"), taken=False)
    assert not (world.repo() / "Denied.md").exists()


def test_writes_through_the_fast_path_commit_like_the_sdk_path(pair: Pair) -> None:
    token = pair.world.pat(BOB)
    results = {}
    for name, base in [("fast", pair.fast_base), ("sdk", pair.sdk_base)]:
        h = headers(token, MODERN, "write_note")
        before = pair.answered
        status, kind, body = exchange(
            base, call_body("write_note", {"path": f"W/{name}", "content": "# W\n"}, MODERN), h
        )
        assert (status, kind) == (200, "application/json")
        assert pair.answered == before + (1 if name == "fast" else 0)
        results[name] = body["result"]
    assert results["fast"].keys() == results["sdk"].keys()
    assert results["fast"]["structuredContent"].keys() == results["sdk"]["structuredContent"].keys()
    assert results["fast"]["structuredContent"]["created"] is True
    assert (pair.world.repo() / "W" / "fast.md").read_text() == "# W\n"

    def author(path: str) -> str:
        out = subprocess.run(
            ["git", "-C", str(pair.world.repo()), "log", "-1", "--format=%an <%ae>", "--", path],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    assert author("W/fast.md") == author("W/sdk.md")
    assert "bob.test" in author("W/fast.md")


def test_official_clients_in_both_eras(pair: Pair) -> None:
    token = pair.world.pat(ALICE)

    async def go(mode: str) -> tuple[dict[str, Any], str]:
        http = httpx2.AsyncClient(headers={"Host": HOST, "Authorization": f"Bearer {token}"}, timeout=30)
        async with (
            http,
            Client(streamable_http_client(pair.fast_base + "/mcp", http_client=http), mode=mode) as c,
        ):
            page = payload(await c.call_tool("read_note", {"path": "Setup Guide", "section": "Linux"}))
            missing = await c.call_tool("read_note", {"path": "Nope"})
            assert missing.is_error
            return page, str(missing.content[0].text)  # type: ignore[union-attr]

    async def via_fastmcp() -> dict[str, Any]:
        async with fast(pair.fast_base, token) as client:
            return payload(await client.call_tool("read_note", {"path": "Setup Guide"}))

    for mode in ["auto", "legacy"]:
        before = pair.answered
        page, missing = asyncio.run(go(mode))
        assert page["content"].startswith("## Linux")
        assert missing.startswith("[page_not_found]")
        assert pair.answered == before + 2, mode
    assert asyncio.run(via_fastmcp())["title"] == "Setup Guide"


def _modern_request(fast_path: DirectCalls, arguments: dict[str, Any], **extra: str) -> ToolCall | None:
    body = json.dumps(call_body("pick", arguments, MODERN)).encode()
    hdrs = {k.lower(): v for k, v in headers("t", MODERN, "pick", **extra).items()}
    scope = {"type": "http", "method": "POST", "headers": [(k.encode(), v.encode()) for k, v in hdrs.items()]}
    return fast_path.route(scope, StarletteHeaders(scope=scope), body)


def test_declared_param_headers_are_checked_as_the_sdk_checks_them() -> None:
    server = FastMCP("t")

    @server.tool
    def pick(
        region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})], n: int = 1
    ) -> dict[str, Any]:
        """Pick a region."""
        return {"region": region, "n": n}

    fast_path = DirectCalls(server, json_response=True, dns_rebinding_protection=False)
    asyncio.run(fast_path.prepare())
    assert fast_path.tools["pick"].declares_param_headers
    call = _modern_request(fast_path, {"region": "eu"}, **{"Mcp-Param-Region": "eu"})
    assert call is not None
    answer = json.loads(fast_path.run(call) or b"")
    assert answer["result"]["structuredContent"] == {"region": "eu", "n": 1}
    assert _modern_request(fast_path, {"region": "eu"}, **{"Mcp-Param-Region": "us"}) is None
    assert _modern_request(fast_path, {"region": "eu"}) is None
    assert _modern_request(fast_path, {"n": 2}, **{"Mcp-Param-Region": "eu"}) is None


def test_the_fast_path_stands_aside_for_servers_it_does_not_mirror() -> None:
    server = FastMCP("t")
    server.add_middleware(LoggingMiddleware())
    assert not DirectCalls(server, json_response=True, dns_rebinding_protection=False).enabled
    assert not DirectCalls(FastMCP("t"), json_response=False, dns_rebinding_protection=False).enabled
    assert not DirectCalls(FastMCP("t"), json_response=True, dns_rebinding_protection=True).enabled
    assert DirectCalls(FastMCP("t"), json_response=True, dns_rebinding_protection=False).enabled


@pytest.mark.parametrize("version", [MODERN, "2025-11-25"])
def test_resources_prompts_and_completions_are_left_to_the_sdk(pair: Pair, version: str | None) -> None:
    """The fast path is for ``tools/call`` alone: with resource templates, prompts and a completion handler on the
    server it stays on (``_plain_server``), and their requests are the SDK's, answered alike on both instances."""
    assert pair.fast_app.state.direct_calls.enabled
    token = pair.world.pat(ALICE)
    complete = {
        "ref": {"type": "ref/resource", "uri": "wiki://page/{path*}"},
        "argument": {"name": "path", "value": "se"},
    }
    requests: list[tuple[str, dict[str, Any], str | None]] = [
        ("resources/list", {}, None),
        ("resources/templates/list", {}, None),
        ("resources/read", {"uri": "wiki://page/Setup%20Guide"}, "wiki://page/Setup%20Guide"),
        ("resources/read", {"uri": "wiki://page/Nope"}, "wiki://page/Nope"),
        ("prompts/list", {}, None),
        ("prompts/get", {"name": "record_note", "arguments": {"topic": "setup"}}, "record_note"),
        ("completion/complete", complete, None),
    ]
    for method, params, name in requests:
        body = {"jsonrpc": "2.0", "id": 3, "method": method, "params": params}
        if version == MODERN:
            body["params"] = {**params, "_meta": META}
        routing = {"Mcp-Method": method, **({"Mcp-Name": name} if name else {})} if version == MODERN else {}
        h = {k: v for k, v in headers(token, version).items() if k != "Mcp-Method"}
        answer = same(pair, body, {**h, **routing}, taken=False)
        assert ("error" in answer) == (params.get("uri") == "wiki://page/Nope"), (method, answer)
