"""The MCP clients people connect, as they register and send (docs/oauth.md "The MCP clients people use"):
Claude.ai's DCR body, Claude Code's client metadata document, ChatGPT's redirect URIs — each to a token."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from services.platform.tests.oauth.harness import ALICE, Harness, Pkce, use_fetch

CLAUDE_AI = "https://claude.ai/api/mcp/auth_callback"
CLAUDE_CODE_CIMD = "https://claude.ai/oauth/claude-code-client-metadata"
CHATGPT = "https://chatgpt.com/connector/oauth/cb_8f3a1"


def _code(h: Harness, client_id: str, redirect_uri: str, pkce: Pkce, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": "s1",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "resource": h.resource("notes"),
        **extra,
    }
    page = h.http.get("/auth/oauth/authorize?" + urlencode(params), headers=h.cookie(ALICE))
    assert page.status_code == 200, page.text[:300]
    done = h.answer(page)
    assert done.status_code == 302, done.text[:300]
    location = done.headers["location"]
    assert location.startswith(redirect_uri + "?"), location
    return parse_qs(urlsplit(location).query)["code"][0]


def _token(h: Harness, **form: str) -> dict[str, Any]:
    response = h.token(**form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_claude_ai_registers_with_client_secret_post_and_no_scope(h: Harness) -> None:
    # the body Claude.ai was seen to send (no scope, no logo), confidential with client_secret_post
    registered = h.http.post(
        "/auth/oauth/register",
        json={
            "redirect_uris": [CLAUDE_AI],
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "Claude",
        },
    )
    assert registered.status_code == 201, registered.text
    client = registered.json()
    assert client["client_secret"].startswith("wbc_")
    pkce = Pkce()
    # Claude sends the PRM resource and, at times, only offline_access as the scope: the default is read+write
    code = _code(h, client["client_id"], CLAUDE_AI, pkce, scope="offline_access")
    tokens = _token(
        h,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CLAUDE_AI,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        code_verifier=pkce.verifier,
        resource=h.resource("notes"),
    )
    assert set(tokens["scope"].split()) == {"wiki:read", "wiki:write", "offline_access"}
    assert tokens["refresh_token"].startswith("wbr_")
    # a client whose registration is gone is told so with a 401: Claude registers again
    gone = h.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id="wbk_gone")
    assert gone.status_code == 401
    assert gone.json()["error"] == "invalid_client"
    assert gone.headers["www-authenticate"].startswith("Basic")


def test_claude_code_metadata_document_with_portless_loopback_uris(h: Harness) -> None:
    document = {
        "client_id": CLAUDE_CODE_CIMD,
        "client_name": "Claude Code",
        "redirect_uris": ["http://localhost/callback", "http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    use_fetch(h, lambda url: dict(document) if url == CLAUDE_CODE_CIMD else {})
    pkce = Pkce()
    redirect = "http://localhost:54123/callback"  # the port it listens on this time
    code = _code(h, CLAUDE_CODE_CIMD, redirect, pkce, scope="wiki:read wiki:write")
    tokens = _token(
        h,
        grant_type="authorization_code",
        code=code,
        redirect_uri=redirect,
        client_id=CLAUDE_CODE_CIMD,
        code_verifier=pkce.verifier,
    )
    assert h.on_wiki("notes", tokens["access_token"]).client_id == CLAUDE_CODE_CIMD
    assert "refresh_token" in tokens


def test_chatgpt_per_connector_callback_and_the_legacy_one(h: Harness) -> None:
    for redirect in (CHATGPT, "https://chatgpt.com/connector_platform_oauth_redirect"):
        client = h.register(client_name="ChatGPT", redirect_uris=[redirect])["client_id"]
        pkce = Pkce()
        code = _code(h, client, redirect, pkce, scope="openid email profile")  # OIDC scopes: ignored
        tokens = _token(
            h,
            grant_type="authorization_code",
            code=code,
            redirect_uri=redirect,
            client_id=client,
            code_verifier=pkce.verifier,
            resource=h.resource("notes") + "/",  # with a trailing slash: the same resource
        )
        assert set(tokens["scope"].split()) == {"wiki:read", "wiki:write", "offline_access"}
