"""An MCP agent: the official Python ``mcp`` SDK client with its ``OAuthClientProvider``, given nothing but the
wiki's MCP URL. Discovery (RFC 9728 from the 401), registration (RFC 7591), PKCE, token and refresh are the
SDK's own; the person's browser answers the consent page (``Person.consent``).

One provider and one HTTP client live as long as the agent, so tokens, the registered client and discovered
metadata carry across calls (and across a restart of the stack); each call opens its own MCP session.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata, OAuthToken
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult

from tests.integration.journey.browser import REDIRECT, Person
from tests.support.mcp_oauth import Memory, ThroughCaddy

T = TypeVar("T")


class Agent:
    def __init__(
        self, *, mcp_url: str, port: int, name: str, person: Person, expect: tuple[str, ...]
    ) -> None:
        self.mcp_url = mcp_url
        self.name = name
        self.person = person
        self.expect = expect  # what the consent page must say (client name, wiki)
        self.storage = Memory()
        self.authorizations: list[str] = []  # every authorization URL the SDK sent the person to
        self.allow_authorization = True
        self._pending: dict[str, str] = {}
        self.provider = OAuthClientProvider(
            server_url=mcp_url,
            client_metadata=OAuthClientMetadata(
                client_name=name,
                redirect_uris=[REDIRECT],  # type: ignore[list-item]
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
            ),
            storage=self.storage,
            redirect_handler=self._redirect,
            callback_handler=self._callback,
        )
        self.exchanges: list[str] = []  # the last HTTP exchanges, for failure messages
        self.http = httpx2.AsyncClient(
            auth=self.provider,
            transport=ThroughCaddy(port),
            timeout=60,
            event_hooks={"response": [self._record]},
        )

    async def _record(self, response: httpx2.Response) -> None:
        line = f"{response.request.method} {response.request.url} -> {response.status_code}"
        if response.status_code >= 400:  # never read a success: it may be an open event stream
            await response.aread()
            challenge = response.headers.get("www-authenticate", "")
            line += f" {challenge} {response.text[:300]}"
        self.exchanges = [*self.exchanges[-9:], line]

    async def _redirect(self, url: str) -> None:
        self.authorizations.append(url)
        if not self.allow_authorization:
            raise AuthorizationRefused(f"{self.name} was sent to authorize again: {url}")
        self._pending = await self.person.consent(url, expect=self.expect)

    async def _callback(self) -> AuthorizationCodeResult:
        pending, self._pending = self._pending, {}
        return AuthorizationCodeResult(
            code=pending["code"], state=pending.get("state"), iss=pending.get("iss")
        )

    @property
    def tokens(self) -> OAuthToken:
        assert self.storage.tokens is not None, f"{self.name} holds no tokens"
        return self.storage.tokens

    @property
    def client_id(self) -> str:
        assert self.storage.client is not None
        return str(self.storage.client.client_id)

    def client_auth(self) -> dict[str, str]:
        """What the token endpoint needs to know it is this client (the SDK registered it; maybe with a secret)."""
        assert self.storage.client is not None
        secret = self.storage.client.client_secret
        return {"client_id": self.client_id, **({"client_secret": secret} if secret else {})}

    def expire_access_token(self) -> None:
        """Make the SDK consider its access token expired, so its next request refreshes first."""
        self.provider.context.token_expiry_time = 1.0  # long past (0 would mean "never expires")

    async def result(self, tool: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        try:
            async with Client(streamable_http_client(self.mcp_url, http_client=self.http)) as client:
                return await client.call_tool(tool, arguments or {})
        except* MCPError as group:
            error = _first(group)
            raise AssertionError(
                f"{tool}: JSON-RPC error {error.error.code} {error.error.message!r} {error.error.data!r}; "
                "last exchanges:\n" + "\n".join(self.exchanges)
            ) from None

    async def poll(
        self,
        tool: str,
        arguments: dict[str, Any],
        accept: Callable[[dict[str, Any]], T | None],
        *,
        timeout: float,
        every: float = 0.1,
    ) -> tuple[T, float]:
        """Call ``tool`` in one session until ``accept`` takes its result; (accepted value, seconds taken)."""
        started = time.monotonic()
        last: dict[str, Any] = {}
        async with Client(streamable_http_client(self.mcp_url, http_client=self.http)) as client:
            while time.monotonic() - started < timeout:
                result = await client.call_tool(tool, arguments)
                assert not result.is_error, f"{tool} failed: {text_of(result)}"
                last = payload(result)
                value = accept(last)
                if value is not None:
                    return value, time.monotonic() - started
                await anyio.sleep(every)
        raise AssertionError(f"{tool}({arguments}) not satisfied after {timeout:.0f} s; last answer: {last}")

    async def call(self, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """A tool's JSON result; a tool error fails with the text the agent would have read."""
        result = await self.result(tool, arguments)
        assert not result.is_error, f"{tool} failed: {text_of(result)}"
        return payload(result)

    async def aclose(self) -> None:
        await self.http.aclose()


class AuthorizationRefused(Exception):
    """The SDK went back to the authorization endpoint when the test said it must not."""


def _first(group: BaseExceptionGroup[MCPError]) -> MCPError:
    found: BaseException = group
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    assert isinstance(found, MCPError)
    return found


def payload(result: CallToolResult) -> dict[str, Any]:
    if result.structured_content is not None:
        return dict(result.structured_content)
    data = json.loads(text_of(result))
    assert isinstance(data, dict), data
    return data


def text_of(result: CallToolResult) -> str:
    return "\n".join(str(getattr(c, "text", "")) for c in result.content)
