"""``/mcp``: the Streamable HTTP endpoint, behind the authentication gate.

Every request is authorized before the MCP SDK sees it (MCP authorization spec; RFC 9728 §5.1 challenge on a
401). A ``tools/call`` of a writing tool needs ``wiki:write``: a token without it gets HTTP 403
``insufficient_scope`` with a challenge naming the scope (RFC 6750 §3.1), which lets a client step up. A role
that cannot write, or a lapsed wiki, reaches the tool, which answers with actionable text instead.
``/mcp`` and ``/mcp/`` are the same endpoint (no redirect). Browsers' cookies are not credentials here.

A plain ``tools/call`` takes the fast path (``mcp_fast``): authorization, argument validation and the tool run
in one worker thread, the response shaped as the SDK would. Everything else goes to the SDK's transport.
Authorization is decided afresh for every request either way: nothing about a token or a role is kept.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wikibot_shared import acl
from wikibot_shared.errors import Forbidden, InsufficientScope, LimitExceeded, WikibotError
from wikibot_shared.web import error_parts

from .actors import Actors
from .mcp_fast import FastPath, ToolCall
from .tools import CURRENT_ACCESS, WRITE_TOOLS

# The MCP SDK refuses larger request bodies itself; say so in words, with the way around it.
MAX_MCP_BODY = DEFAULT_MAX_REQUEST_BODY_SIZE

log = logging.getLogger("wikibot.mcp")


class BodyTooLarge(LimitExceeded):
    code = "request_too_large"


def _needs_write(body: bytes) -> bool:
    try:
        payload: Any = json.loads(body)
    except ValueError:
        return False
    messages = payload if isinstance(payload, list) else [payload]
    for message in messages:
        if isinstance(message, dict) and message.get("method") == "tools/call":
            params = message.get("params")
            if isinstance(params, dict) and params.get("name") in WRITE_TOOLS:
                return True
    return False


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(
                f"MCP requests are limited to {limit} bytes; upload larger attachments with "
                "PUT /api/v1/attachments/{page}/{filename} or git push"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_json(send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class McpEndpoint:
    def __init__(
        self,
        app: ASGIApp,
        actors: Actors,
        *,
        fast: FastPath | None = None,
        path: str = "/mcp",
        max_body: int = MAX_MCP_BODY,
    ) -> None:
        self.app = app
        self.actors = actors
        self.fast = fast
        self.path = path
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._serve({**scope, "path": self.path, "raw_path": self.path.encode()}, receive, tracked)
        except Exception:
            # What the rest of the service's catch-all handler does: logged, a JSON 500, never a trace.
            log.exception("unhandled error on /mcp")
            if started:
                raise
            body = {"error": "internal_error", "message": "something went wrong"}
            await JSONResponse(body, status_code=500)(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        try:
            body = await _read_body(receive, self.max_body)
            call = self.fast.route(scope, headers, body) if self.fast is not None else None
            if call is not None:
                access, response = await anyio.to_thread.run_sync(self._run_fast, headers, call)
                if response is not None:
                    await _send_json(send, response)
                    self.fast.answered += 1  # type: ignore[union-attr]
                    return
                # The arguments did not validate and nothing ran: the SDK words that error, under the
                # authorization already decided for this call.
                scope["wikibot.access"] = access
            else:
                write = scope["method"] == "POST" and _needs_write(body)
                action = acl.Action.WRITE if write else acl.Action.READ
                scope["wikibot.access"] = await anyio.to_thread.run_sync(self._authorize, headers, action)
        except WikibotError as exc:
            status, extra, payload = error_parts(exc)
            await JSONResponse(payload, status_code=status, headers=extra)(scope, receive, send)
            return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _run_fast(self, headers: Headers, call: ToolCall) -> tuple[Any, bytes | None]:
        """The call's authorization, and its response (``None`` when the arguments did not validate)."""
        action = acl.Action.WRITE if call.tool.tool.name in WRITE_TOOLS else acl.Action.READ
        access = self._authorize(headers, action)
        token = CURRENT_ACCESS.set(access)
        try:
            return access, self.fast.run(call) if self.fast is not None else None
        finally:
            CURRENT_ACCESS.reset(token)

    def _authorize(self, headers: Headers, action: acl.Action) -> Any:
        host = headers.get("host")
        try:
            return self.actors.authorize(host, headers, {}, action)
        except InsufficientScope:
            raise
        except Forbidden:
            if action is acl.Action.READ:
                raise
            # The role or a lapsed wiki forbids writing: let the tool explain that in words.
            return self.actors.authorize(host, headers, {}, acl.Action.READ)
