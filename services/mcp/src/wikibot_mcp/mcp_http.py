"""``/mcp``: the Streamable HTTP endpoint, behind the authentication gate.

Every request is authorized before the MCP SDK sees it (MCP authorization spec; RFC 9728 §5.1 challenge on a
401), and counted against its credential's rate limits (``limits``: 429 with ``Retry-After``, a JSON-RPC error
body like a 503's, so the SDKs show when to retry). A ``tools/call`` of a writing tool needs ``wiki:write``: a token without it gets HTTP 403
``insufficient_scope`` with a challenge naming the scope (RFC 6750 §3.1), which lets a client step up. A role
that cannot write, or a lapsed wiki, reaches the tool, which answers with actionable text instead.
``/mcp`` and ``/mcp/`` are the same endpoint (no redirect). Browsers' cookies are not credentials here.

A plain ``tools/call`` takes the fast path (``direct_calls``): authorization, argument validation and the tool run
in one worker thread, the response shaped as the SDK would. Everything else goes to the SDK's transport.
Authorization is decided once for every request, either way (``Verifier.authorize``; nothing about a token or a
role is kept between requests), and handed to the tools in ``actors.CURRENT_ACCESS``. Which tools write is read
from the tool registry: a tool that does not declare itself read-only is authorized as a write.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
from fastmcp import FastMCP
from fastmcp.tools import Tool
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wikibot_shared import acl
from wikibot_shared.errors import LimitExceeded, RateLimited, Unavailable, WikibotError
from wikibot_shared.outage import unavailable
from wikibot_shared.verify import Access
from wikibot_shared.web import error_parts, read_body, scope_address

from .actors import CURRENT_ACCESS, Actors
from .direct_calls import DirectCalls, ToolCall

# The MCP SDK refuses larger request bodies itself; say so in words, with the way around it.
MAX_MCP_BODY = DEFAULT_MAX_REQUEST_BODY_SIZE

log = logging.getLogger("wikibot.mcp")


class BodyTooLarge(LimitExceeded):
    code = "request_too_large"


def action_of(tool: Tool) -> acl.Action:
    """The action a registered tool is authorized for: read only if it declares itself read-only."""
    read_only = tool.annotations is not None and tool.annotations.read_only_hint is True
    return acl.Action.READ if read_only else acl.Action.WRITE


def _called_tools(body: bytes) -> list[str]:
    """The tool names of the ``tools/call`` messages in a request body (none if it is not JSON)."""
    try:
        payload: Any = json.loads(body)
    except ValueError:
        return []
    names = []
    for message in payload if isinstance(payload, list) else [payload]:
        if isinstance(message, dict) and message.get("method") == "tools/call":
            params = message.get("params")
            if isinstance(params, dict) and isinstance(params.get("name"), str):
                names.append(params["name"])
    return names


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"MCP requests are limited to {limit} bytes; upload larger attachments with "
        "PUT /api/v1/attachments/{page}/{filename} or git push"
    )


def _jsonrpc_error(payload: dict[str, Any]) -> dict[str, Any]:
    """A refusal as a JSON-RPC error (the shape Caddy's own 502/503/504 on ``/mcp`` has): the SDKs show its
    message ("… try again in 12 s") instead of a bare "Server returned an error response"."""
    return {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32000, "message": payload["message"], "data": payload},
    }


async def _refuse(exc: WikibotError, scope: Scope, receive: Receive, send: Send) -> None:
    """``exc`` as HTTP: its status and headers (``Retry-After``, the 401/403 challenge); a busy or missing
    dependency or a rate limit as a JSON-RPC error, the rest (authentication, size) as the API's JSON."""
    status, extra, payload = error_parts(exc)
    body = _jsonrpc_error(payload) if isinstance(exc, RateLimited | Unavailable) else payload
    await JSONResponse(body, status_code=status, headers=extra)(scope, receive, send)


async def _send_json(send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class McpEndpoint:
    def __init__(
        self,
        app: ASGIApp,
        actors: Actors,
        server: FastMCP,
        *,
        fast: DirectCalls | None = None,
        path: str = "/mcp",
        max_body: int = MAX_MCP_BODY,
    ) -> None:
        self.app = app
        self.actors = actors
        self.server = server
        self.fast = fast
        self.path = path
        self.max_body = max_body
        self.actions: dict[str, acl.Action] = {}

    async def prepare(self) -> None:
        """Read the tool registry once the server is up (and let the fast path read it too)."""
        self.actions = {tool.name: action_of(tool) for tool in await self.server.list_tools()}
        if self.fast is not None:
            await self.fast.prepare()

    def _action(self, scope: Scope, body: bytes) -> acl.Action:
        if scope["method"] != "POST":
            return acl.Action.READ
        # unknown names stay READ: the SDK answers them with its own "unknown tool" error
        called = [self.actions.get(name, acl.Action.READ) for name in _called_tools(body)]
        return acl.Action.WRITE if acl.Action.WRITE in called else acl.Action.READ

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._serve({**scope, "path": self.path, "raw_path": self.path.encode()}, receive, tracked)
        except Exception as exc:
            # What the rest of the service's catch-all handler does: a dependency not answering is a 503 with
            # Retry-After; anything else is logged, a JSON 500, never a trace.
            down = unavailable(exc)
            if down is None:
                log.exception("unhandled error on /mcp")
            if started:
                raise
            if down is not None:
                log.warning("dependency unavailable on /mcp", extra={"error": type(exc).__name__})
                await _refuse(down, scope, receive, send)
                return
            payload = {"error": "internal_error", "message": "something went wrong"}
            await JSONResponse(_jsonrpc_error(payload), status_code=500)(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        try:
            body = await read_body(receive, self.max_body, _too_large)
            call = self.fast.route(scope, headers, body) if self.fast is not None else None
            address = scope_address(scope, headers)
            if call is not None:
                access, response = await anyio.to_thread.run_sync(self._run_fast, headers, address, call)
                if response is not None:
                    await _send_json(send, response)
                    self.fast.answered += 1  # type: ignore[union-attr]
                    return
                # The arguments did not validate and nothing ran: the SDK words that error, under the
                # authorization already decided for this call.
            else:
                action = self._action(scope, body)
                access = await anyio.to_thread.run_sync(self._authorize, headers, address, action)
        except WikibotError as exc:
            await _refuse(exc, scope, receive, send)
            return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        # The SDK runs the tools in tasks and threads it starts from here: they inherit this context.
        token = CURRENT_ACCESS.set(access)
        try:
            await self.app(scope, replay, send)
        finally:
            CURRENT_ACCESS.reset(token)

    def _run_fast(self, headers: Headers, address: str, call: ToolCall) -> tuple[Access, bytes | None]:
        """The call's authorization, and its response (``None`` when the arguments did not validate)."""
        access = self._authorize(headers, address, self.actions.get(call.tool.tool.name, acl.Action.WRITE))
        token = CURRENT_ACCESS.set(access)
        try:
            return access, self.fast.run(call) if self.fast is not None else None
        finally:
            CURRENT_ACCESS.reset(token)

    def _authorize(self, headers: Headers, address: str, action: acl.Action) -> Access:
        # A role that cannot write, or a lapsed wiki, reaches the tool, which explains it in words.
        host = headers.get("host")
        return self.actors.authorize(host, headers, {}, action, address=address, word_refusals=True)
