"""Helpers: talk to the service through the official ``mcp`` SDK client and through FastMCP's client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from fastmcp import Client as FastMCPClient
from fastmcp.client.transports import StreamableHttpTransport
from mcp import Client as SdkClient
from mcp.client.streamable_http import streamable_http_client

HOST = "notes.localhost:8080"


def headers(token: str | None, host: str = HOST) -> dict[str, str]:
    out = {"Host": host}
    if token:
        out["Authorization"] = f"Bearer {token}"
    return out


@asynccontextmanager
async def sdk(base: str, token: str | None, host: str = HOST, path: str = "/mcp") -> AsyncIterator[SdkClient]:
    http = httpx2.AsyncClient(headers=headers(token, host), timeout=60)
    async with http, SdkClient(streamable_http_client(base + path, http_client=http)) as client:
        yield client


@asynccontextmanager
async def fast(base: str, token: str | None, host: str = HOST) -> AsyncIterator[FastMCPClient[Any]]:
    async with FastMCPClient(StreamableHttpTransport(base + "/mcp", headers=headers(token, host))) as client:
        yield client


def payload(result: Any) -> dict[str, Any]:
    """The JSON a tool returned (structured content, or its text)."""
    structured = getattr(result, "structured_content", None)
    if structured is not None:
        return structured  # type: ignore[no-any-return]
    return json.loads(result.content[0].text)  # type: ignore[no-any-return]


def error_text(result: Any) -> str:
    assert result.is_error, result
    return str(result.content[0].text)
