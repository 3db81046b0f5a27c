"""OAuth through the whole stack and Caddy: the authorization server on {DOMAIN}, tokens honoured on a wiki host.

An operator creates the user and a sign-in link with ``wikibot-admin`` inside the platform container; the link
signs the user in, the API creates the wiki, and consent is submitted with an HTTP client, as a browser would. The MCP client is the official Python
``mcp`` SDK with its ``OAuthClientProvider``, given nothing but the wiki's MCP URL.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from tests.integration.stack import Stack
from tests.support.mcp_oauth import Memory, ThroughCaddy

SLUG = "oauthe2e"
DID = "did:plc:oauthe2eaaaaaaaaaaaaaaaaa"
USER = "oauthe2e"
REDIRECT = "http://127.0.0.1:53682/callback"  # never listened on: the test reads the code from the redirect
TICKET = re.compile(r'name="ticket" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def call(stack: Stack, method: str, path: str, *, slug: str | None = None, **kwargs: Any) -> httpx.Response:
    """One request through Caddy with no cookie jar: only the credentials this test sends explicitly count."""
    headers = {"Host": stack.host(slug), **kwargs.pop("headers", {})}
    url = f"http://127.0.0.1:{stack.port}{path}"
    return httpx.request(method, url, headers=headers, timeout=30.0, follow_redirects=False, **kwargs)


@pytest.fixture(scope="module")
def session(stack: Stack) -> str:
    """The wiki owner's session: an operator's ``wikibot-admin login-link``, opened; then the wiki, made over the API."""
    stack.exec(
        "platform",
        "wikibot-admin",
        "create-user",
        "--did",
        DID,
        "--handle",
        "oauthe2e.test",
        "--username",
        USER,
    )
    url = stack.exec("platform", "wikibot-admin", "login-link", USER).stdout.strip()
    parts = urlsplit(url)
    signed_in = call(stack, "GET", f"{parts.path}?{parts.query}")
    assert signed_in.status_code == 303, signed_in.text
    cookie = str(signed_in.cookies["wikibot_session"])
    created = call(
        stack,
        "POST",
        "/api/wikis",
        json={"slug": SLUG, "display_name": "OAuth E2E"},
        headers={"Authorization": f"Bearer {cookie}"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["mcp_url"] == f"http://{stack.host(SLUG)}/mcp"
    return cookie


def allow(stack: Stack, session: str, authorize_url: str, redirect: str) -> tuple[str, dict[str, str]]:
    """Play the person: open the authorization URL signed in, press Allow; the consent page and the redirect's
    parameters."""
    parts = urlsplit(authorize_url)
    assert parts.netloc == stack.host(), authorize_url
    cookie = {"Cookie": f"wikibot_session={session}"}
    page = call(stack, "GET", f"{parts.path}?{parts.query}", headers=cookie)
    assert page.status_code == 200, page.text[:500]
    ticket = TICKET.search(page.text)
    csrf = CSRF.search(page.text)
    assert ticket
    assert csrf
    form = {"ticket": ticket.group(1), "csrf_token": csrf.group(1), "decision": "allow"}
    answer = call(stack, "POST", parts.path, headers=cookie, data=form)
    assert answer.status_code == 302, answer.text[:500]
    location = answer.headers["location"]
    assert location.startswith(redirect), location
    return page.text, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _consent(stack: Stack, session: str, authorize_url: str) -> dict[str, str]:
    page, answer = allow(stack, session, authorize_url, REDIRECT)
    assert "OAuth E2E" in page
    return answer


def test_authorization_server_through_caddy(stack: Stack, session: str) -> None:
    """The AS alone, through Caddy: discovery, registration, consent, token, refresh, revoke."""
    meta = call(stack, "GET", "/.well-known/oauth-authorization-server")
    assert meta.status_code == 200, meta.text
    assert meta.headers["x-wikibot-service"] == "platform"
    metadata = meta.json()
    assert metadata["issuer"] == f"http://{stack.host()}"
    registered = call(
        stack,
        "POST",
        "/auth/oauth/register",
        json={
            "client_name": "E2E",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        },
    )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    verifier = "v" * 64
    query = _authorize_query(stack, client_id, verifier, "s1")
    signed_out = call(stack, "GET", f"/auth/oauth/authorize?{query}")
    assert signed_out.status_code == 302
    assert "/auth/login?return_to=" in signed_out.headers["location"]
    result = _consent(stack, session, f"{metadata['authorization_endpoint']}?{query}")
    assert result["state"] == "s1"
    assert result["iss"] == metadata["issuer"]
    form = _code_form(client_id, result["code"], verifier)
    tokens = call(stack, "POST", "/auth/oauth/token", data=form)
    assert tokens.status_code == 200, tokens.text
    replay = call(stack, "POST", "/auth/oauth/token", data=form)
    assert replay.json()["error"] == "invalid_grant"
    fresh = _fresh_tokens(stack, session, client_id)
    refreshed = call(
        stack,
        "POST",
        "/auth/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": fresh["refresh_token"], "client_id": client_id},
    )
    assert refreshed.status_code == 200, refreshed.text
    revoked = call(
        stack,
        "POST",
        "/auth/oauth/revoke",
        data={"token": refreshed.json()["refresh_token"], "client_id": client_id},
    )
    assert revoked.status_code == 200
    again = call(
        stack,
        "POST",
        "/auth/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refreshed.json()["refresh_token"],
            "client_id": client_id,
        },
    )
    assert again.json()["error"] == "invalid_grant"


def _authorize_query(stack: Stack, client_id: str, verifier: str, state: str) -> httpx.QueryParams:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return httpx.QueryParams(
        response_type="code",
        client_id=client_id,
        redirect_uri=REDIRECT,
        state=state,
        scope="wiki:read wiki:write offline_access",
        resource=f"http://{stack.host(SLUG)}/mcp",
        code_challenge=challenge,
        code_challenge_method="S256",
    )


def _code_form(client_id: str, code: str, verifier: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
        "code_verifier": verifier,
    }


def _fresh_tokens(stack: Stack, session: str, client_id: str) -> dict[str, Any]:
    verifier = "w" * 64
    query = _authorize_query(stack, client_id, verifier, "s2")
    result = _consent(stack, session, f"http://{stack.host()}/auth/oauth/authorize?{query}")
    response = call(stack, "POST", "/auth/oauth/token", data=_code_form(client_id, result["code"], verifier))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


# -- the official MCP SDK, given only the wiki's URL ---------------------------------------------------------------


def test_mcp_sdk_connects_with_only_the_wiki_url(stack: Stack, session: str) -> None:
    mcp_endpoint = f"http://{stack.host(SLUG)}/mcp"  # all the client is given
    storage = Memory()
    redirects: list[str] = []
    pending: dict[str, str] = {}

    async def redirect_handler(url: str) -> None:
        redirects.append(url)
        pending.update(await anyio.to_thread.run_sync(_consent, stack, session, url))

    async def callback_handler() -> AuthorizationCodeResult:
        result = AuthorizationCodeResult(
            code=pending["code"], state=pending.get("state"), iss=pending.get("iss")
        )
        pending.clear()
        return result

    provider = OAuthClientProvider(
        server_url=mcp_endpoint,
        client_metadata=OAuthClientMetadata(
            client_name="mcp SDK e2e",
            redirect_uris=[REDIRECT],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )

    async def session_run(http: httpx2.AsyncClient) -> list[str]:
        async with Client(streamable_http_client(mcp_endpoint, http_client=http)) as client:
            result = await client.call_tool("list_notes", {})
            assert not result.is_error, result
            return [str(getattr(c, "text", "")) for c in result.content]

    async def write_run(http: httpx2.AsyncClient) -> None:
        async with Client(streamable_http_client(mcp_endpoint, http_client=http)) as client:
            result = await client.call_tool("write_note", {"path": "Python SDK", "content": "# Py\n"})
            assert not result.is_error, result

    async def main() -> None:
        async with httpx2.AsyncClient(auth=provider, transport=ThroughCaddy(stack.port), timeout=60) as http:
            texts = await session_run(http)
            assert any("Home" in t for t in texts), texts
            assert len(redirects) == 1  # discovery from the 401, registration, consent, token: once
            await write_run(http)
            assert len(redirects) == 1  # and writing needs no second consent (the 401 asked for writing)
            assert storage.client is not None
            assert storage.tokens is not None
            assert storage.tokens.refresh_token
            first_refresh = storage.tokens.refresh_token
            access = storage.tokens.access_token

            provider.context.token_expiry_time = 1.0  # long expired (0 would mean "no expiry"): refresh
            await session_run(http)
            assert len(redirects) == 1  # refreshed, not re-authorized
            assert storage.tokens.refresh_token != first_refresh  # rotated
            assert storage.tokens.access_token != access

            revoke = call(
                stack,
                "POST",
                "/auth/oauth/revoke",
                data={
                    "token": storage.tokens.refresh_token,
                    "client_id": storage.client.client_id,
                    **(
                        {"client_secret": storage.client.client_secret}
                        if storage.client.client_secret
                        else {}
                    ),
                },
            )
            assert revoke.status_code == 200, revoke.text
            refused = call(
                stack,
                "POST",
                "/mcp",
                slug=SLUG,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={
                    "Authorization": f"Bearer {storage.tokens.access_token}",
                    "Accept": "application/json, text/event-stream",
                },
            )
            assert refused.status_code == 401
            assert "resource_metadata=" in refused.headers["www-authenticate"]
            await session_run(http)  # the SDK meets the 401 and goes through the flow again
            assert len(redirects) == 2

    anyio.run(main)
