"""The official ``mcp`` SDK's OAuth client against the compose stack: a transport that reaches Caddy on its
published 127.0.0.1 port whatever host the client was told (no DNS for ``*.localhost``), and token storage."""

from __future__ import annotations

import httpx2
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken


class ThroughCaddy(httpx2.AsyncBaseTransport):
    """Send every request to Caddy's published port on 127.0.0.1, keeping the Host (no DNS for *.localhost)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        host = url.host
        # The network rule: only our own published port, whatever the client was told.
        assert host == "localhost" or host.endswith(".localhost"), url
        assert url.port == self.port, url
        # A copy: the SDK sends the same request object again once it holds a token.
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
        routed = httpx2.Request(
            request.method,
            url.copy_with(host="127.0.0.1"),
            headers=[("Host", f"{host}:{url.port}"), *headers],
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self.inner.handle_async_request(routed)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Memory:
    """The SDK's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info
