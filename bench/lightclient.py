"""A lean HTTP/1.1 keep-alive client for load generation: asyncio streams and httptools' response parser.

The load generator shares the benchmark machine's cores with the server, so its own cost per request caps what
can be measured. The official ``mcp`` client (httpx2 + the SDK's session and models) costs a few ms of CPU per
call; this speaks the same Streamable HTTP JSON-RPC (the same POST bytes the SDK client sends, see
``mcp_request``) for a small fraction of that. No compression is asked for.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httptools

META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


class _Response:
    def __init__(self) -> None:
        self.body = bytearray()
        self.done = False

    def on_body(self, data: bytes) -> None:
        self.body += data

    def on_message_complete(self) -> None:
        self.done = True


class Connection:
    """One keep-alive connection; requests on it are sequential (one client = one connection). If the server
    closes it (``Connection: close``, or a drop, which fails that request), the next request reconnects."""

    def __init__(self, host: str, port: int, host_header: str, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host_header, **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Connection:
        await self._connect()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._close()

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None
        assert self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\n{self.fixed}{headers}Content-Length: {len(body)}\r\n\r\n"
        response = _Response()
        parser = httptools.HttpResponseParser(response)
        try:
            self.writer.write(head.encode("latin-1") + body)
            while not response.done:
                chunk = await self.reader.read(65536)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                parser.feed_data(chunk)
        except (OSError, httptools.HttpParserError):
            self._close()
            raise
        if not parser.should_keep_alive():
            self._close()
        return parser.get_status_code(), bytes(response.body)


def mcp_request(request_id: int, tool: str, arguments: dict[str, Any]) -> tuple[str, bytes]:
    """The extra headers and the body of a 2026-07-28 ``tools/call``, as the official client sends them."""
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": META},
    }
    headers = (
        "Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n"
        f"MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: {tool}\r\n"
    )
    return headers, json.dumps(body, separators=(",", ":")).encode()


def tool_result(status: int, body: bytes) -> dict[str, Any]:
    """The structured result of a successful call; raises on an HTTP, JSON-RPC or tool error."""
    if status != 200:
        raise AssertionError(f"HTTP {status}: {body[:300]!r}")
    message = json.loads(body)
    result = message.get("result")
    if not isinstance(result, dict) or result.get("isError"):
        raise AssertionError(f"tool error: {body[:300]!r}")
    structured = result.get("structuredContent")
    assert isinstance(structured, dict)
    return structured
