"""The hot path of ``/mcp``: a ``tools/call`` answered without the MCP SDK's per-request machinery.

Profiled, a ``read_note`` through FastMCP's stateless Streamable HTTP spent ~1 % of its CPU in the tool: the rest
was a whole ``tools/list`` run on every call (the 2026-07-28 ``Mcp-Param`` check asks the server for the called
tool's schema), the per-request runner, context and middleware objects, and a second thread hop. Here the same
request is checked with the SDK's own functions, the tool (FastMCP's registry: one source of truth for names,
schemas, docstrings, annotations) is validated and called with FastMCP's own type adapter in the one worker thread
that also authorized the request, and the result is shaped with the SDK's own per-version serializer.

Only a request this path can answer exactly as the SDK would is taken: a single JSON-RPC ``tools/call`` of a
registered tool, well-formed for its protocol era (2026-07-28 single exchange, or a handshake-era stateless
POST), with nothing the SDK would act on beyond name, arguments and the protocol ``_meta``. Anything else —
other methods, notifications, malformed envelopes, arguments that fail validation, extension fields — returns
``None`` and goes to the SDK unchanged, which answers it (and its errors) itself. The equivalence is tested by
sending the same requests to both paths (``tests/test_direct_calls.py``).
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mcp_types
import pydantic_core
from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.middleware.dereference import DereferenceRefsMiddleware
from fastmcp.tools.function_tool import FunctionTool
from fastmcp.utilities.types import get_cached_typeadapter
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.inbound import (
    MCP_PARAM_HEADER_PREFIX,
    MCP_PROTOCOL_VERSION_HEADER,
    X_MCP_HEADER_KEY,
    InboundModernRoute,
    classify_inbound_request,
    find_duplicated_routing_header,
    validate_mcp_param_headers,
)
from mcp_types import DEFAULT_NEGOTIATED_VERSION, JSONRPCRequest, JSONRPCResponse
from mcp_types import methods as spec
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import Headers

log = logging.getLogger("wikibot.mcp.fast")

SERVER_INFO_META_KEY = "io.modelcontextprotocol/serverInfo"
# The envelope keys the SDK reads for a tools/call; any other _meta key (a FastMCP component version, a trace
# parent, an extension's) might change what the SDK does, so such a request takes the SDK path.
PLAIN_META_KEYS = frozenset(
    {
        mcp_types.PROTOCOL_VERSION_META_KEY,
        mcp_types.CLIENT_INFO_META_KEY,
        mcp_types.CLIENT_CAPABILITIES_META_KEY,
        "progressToken",  # our tools report no progress
    }
)
PLAIN_PARAMS = frozenset({"name", "arguments", "_meta"})


@dataclass(frozen=True)
class DirectTool:
    tool: FunctionTool
    adapter: TypeAdapter[Any]
    input_schema: Mapping[str, Any]
    # Without an x-mcp-header annotation anywhere in the schema, the Mcp-Param check can only pass.
    declares_param_headers: bool


@dataclass(frozen=True)
class ToolCall:
    """A ``tools/call`` the fast path will answer once the caller is authorized."""

    request_id: str | int
    version: str
    modern: bool
    tool: DirectTool
    arguments: dict[str, Any]


class DirectCalls:
    def __init__(self, server: FastMCP, *, json_response: bool, dns_rebinding_protection: bool) -> None:
        self.server = server
        self.tools: dict[str, DirectTool] = {}
        self.answered = 0  # calls answered here (per worker); the rest went to the SDK
        # The SDK path must be the one that answers if the server is set up in a way this module does not mirror.
        self.enabled = json_response and not dns_rebinding_protection and self._plain_server()

    def _plain_server(self) -> bool:
        low = self.server._mcp_server
        plain = (
            all(isinstance(m, DereferenceRefsMiddleware) for m in self.server.middleware)
            and not self.server.strict_input_validation
            and "tools/call" not in low.cache_hints
        )
        if not plain:
            log.warning("MCP fast path off: the server has middleware, strict validation or cache hints")
        return plain

    async def prepare(self) -> None:
        """Read the registry once the server is up; also give the SDK path the schema lookup it lacks."""
        listed = await self.server.list_tools()  # through FastMCP's middleware: the schemas tools/list sends
        schemas = {tool.name: tool.to_mcp_tool(name=tool.name).input_schema for tool in listed}
        self.server._mcp_server.get_tool_input_schema = schemas.get
        for tool in listed:
            if (
                isinstance(tool, FunctionTool)
                and not inspect.iscoroutinefunction(tool.fn)
                and tool.timeout is None
                and tool.run_in_thread
                and tool.task_config.mode == "forbidden"
            ):
                schema = schemas[tool.name]
                declares = X_MCP_HEADER_KEY in json.dumps(schema)
                self.tools[tool.name] = DirectTool(tool, get_cached_typeadapter(tool.fn), schema, declares)

    # -- on the event loop: is this a request we answer exactly as the SDK would? --------------------------
    def route(self, scope: Mapping[str, Any], headers: Headers, body: bytes) -> ToolCall | None:
        if not self.enabled or scope["method"] != "POST":
            return None
        version = headers.get(MCP_PROTOCOL_VERSION_HEADER)
        if version in MODERN_PROTOCOL_VERSIONS:
            return self._modern(headers, body)
        if version is None or version in HANDSHAKE_PROTOCOL_VERSIONS:
            return self._handshake_era(headers, body, version or DEFAULT_NEGOTIATED_VERSION)
        return None  # unknown versions: the SDK's classifier words the rejection

    def _modern(self, headers: Headers, body: bytes) -> ToolCall | None:
        # mcp.server._streamable_http_modern.handle_modern_request, step by step.
        if not _json_content_type(headers) or not _accepts_json(headers):
            return None
        try:
            decoded = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(decoded, dict) or "id" not in decoded or decoded.get("method") != "tools/call":
            return None
        try:
            request = JSONRPCRequest.model_validate(decoded)
        except ValidationError:
            return None
        if find_duplicated_routing_header(headers.items()) is not None:
            return None
        verdict = classify_inbound_request(decoded, headers=dict(headers))
        if not isinstance(verdict, InboundModernRoute):
            return None
        call = self._call(request, verdict.protocol_version, modern=True)
        if call is None:
            return None
        if call.tool.declares_param_headers:
            has_param_headers = any(key.startswith(_PARAM_PREFIX) for key in headers)
            if (call.arguments or has_param_headers) and validate_mcp_param_headers(
                call.tool.input_schema, call.arguments, headers
            ) is not None:
                return None
        return call

    def _handshake_era(self, headers: Headers, body: bytes, version: str) -> ToolCall | None:
        # mcp.server.streamable_http.StreamableHTTPServerTransport._handle_post_request, stateless JSON mode.
        if not _json_content_type(headers) or not _accepts_json(headers) or MCP_SESSION_ID_HEADER in headers:
            return None
        content_types = [part.strip() for part in headers.get("content-type", "").split(";")[0].split(",")]
        if "application/json" not in content_types:
            return None
        try:
            decoded = pydantic_core.from_json(body)
        except ValueError:
            return None
        if not isinstance(decoded, dict) or "id" not in decoded or decoded.get("method") != "tools/call":
            return None
        try:
            request = JSONRPCRequest.model_validate(decoded, by_name=False)
        except ValidationError:
            return None
        return self._call(request, version, modern=False)

    def _call(self, request: JSONRPCRequest, version: str, *, modern: bool) -> ToolCall | None:
        # mcp.server.runner.ServerRunner._on_request and FastMCP's tools/call handler, for a plain call.
        params = request.params
        if not isinstance(params, dict) or not PLAIN_PARAMS.issuperset(params):
            return None
        meta = params.get("_meta")
        if meta is not None and (not isinstance(meta, dict) or not PLAIN_META_KEYS.issuperset(meta)):
            return None
        try:
            spec.validate_client_request("tools/call", version, params)
        except (KeyError, ValidationError):
            return None
        tool = self.tools.get(params["name"]) if isinstance(params.get("name"), str) else None
        arguments = params.get("arguments") or {}
        if tool is None or not isinstance(arguments, dict):
            return None
        return ToolCall(request.id, version, modern, tool, arguments)

    # -- in the worker thread, after authorization -----------------------------------------------------------
    def run(self, call: ToolCall) -> bytes | None:
        """The JSON-RPC response, or ``None`` if the arguments are invalid (the SDK then words the error).

        The body never raises a pydantic error (every tool maps its errors to ``ToolError``), so one from the
        adapter is about the arguments and nothing has run."""
        try:
            value = call.tool.adapter.validate_python(call.arguments)
        except ValidationError:
            return None
        except ToolError as exc:
            result = mcp_types.CallToolResult(
                content=[mcp_types.TextContent(type="text", text=str(exc))], is_error=True
            )
        else:
            converted = call.tool.tool.convert_result(value).to_mcp_result()
            result = _call_tool_result(converted)
        return self._response(call, result)

    def _response(self, call: ToolCall, result: mcp_types.CallToolResult) -> bytes:
        # mcp.server.runner.ServerRunner._serialize (no cache hint for tools/call: checked in __init__).
        dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        wire = spec.serialize_server_result("tools/call", call.version, dumped)
        if call.modern:
            if wire.get("resultType") is None:
                wire["resultType"] = "complete"
            meta = wire.get("_meta")
            if meta is None:
                wire["_meta"] = {SERVER_INFO_META_KEY: self.server._mcp_server.server_info_stamp}
            elif isinstance(meta, dict) and meta.get(SERVER_INFO_META_KEY) is None:
                wire["_meta"] = {**meta, SERVER_INFO_META_KEY: self.server._mcp_server.server_info_stamp}
            # _streamable_http_modern._write
            message = {"jsonrpc": "2.0", "id": call.request_id, "result": wire}
            return json.dumps(message, separators=(",", ":")).encode()
        # The handshake-era transport's _create_json_response
        response = JSONRPCResponse(jsonrpc="2.0", id=call.request_id, result=wire)
        return response.model_dump_json(by_alias=True, exclude_unset=True).encode()


_PARAM_PREFIX = MCP_PARAM_HEADER_PREFIX.lower()


def _json_content_type(headers: Headers) -> bool:
    # mcp.server.transport_security.TransportSecurityMiddleware._validate_content_type
    content_type = headers.get("content-type")
    return content_type is not None and content_type.lower().startswith("application/json")


def _accepts_json(headers: Headers) -> bool:
    # mcp.server.streamable_http.check_accept_headers, the JSON half (JSON responses need only that)
    accepted = [t.strip().split(";")[0].strip().lower() for t in headers.get("accept", "").split(",")]
    return any(t in ("*/*", "application/json", "application/*") for t in accepted)


def _call_tool_result(converted: Any) -> mcp_types.CallToolResult:
    # fastmcp.server.mixins.mcp_operations._normalize_call_tool_result
    if isinstance(converted, mcp_types.CallToolResult):
        return converted
    if isinstance(converted, tuple):
        content, structured = converted
        return mcp_types.CallToolResult(content=content, structured_content=structured)
    return mcp_types.CallToolResult(content=list(converted))
