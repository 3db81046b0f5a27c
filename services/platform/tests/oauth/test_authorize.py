"""The authorization endpoint: validation (RFC 6749 §4.1.2.1), PKCE, resources, sign-in, consent and CSRF."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from services.platform.tests.oauth.harness import (
    ALICE,
    BOB,
    CAROL,
    CSRF,
    MALLORY,
    REDIRECT,
    TICKET,
    Harness,
    Pkce,
    redirected,
)


def _client(h: Harness) -> str:
    return str(h.register()["client_id"])


def test_not_signed_in_goes_to_sign_in_and_back(h: Harness) -> None:
    params = h.authorize_params(_client(h), Pkce())
    response = h.authorize(params, did=None)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://localhost:8080/auth/login"
    back = parse_qs(location.query)["return_to"][0]
    assert back == "http://localhost:8080/auth/oauth/authorize?" + urlencode(params)


def test_an_ended_session_counts_as_signed_out(h: Harness) -> None:
    params = h.authorize_params(_client(h), Pkce())
    response = h.http.get(
        "/auth/oauth/authorize?" + urlencode(params), headers={"Cookie": "wikibot_session=junk"}
    )
    assert response.status_code == 302
    assert "/auth/login?" in response.headers["location"]


@pytest.mark.parametrize(
    ("scope", "offered"),
    [
        ("wiki:read admin", ["wiki:read", "offline_access"]),  # unknown scopes are ignored (RFC 6749 §3.3)
        ("offline_access", ["wiki:read", "wiki:write", "offline_access"]),  # no wiki scope: the default
        ("openid profile", ["wiki:read", "wiki:write", "offline_access"]),
        (None, ["wiki:read", "wiki:write", "offline_access"]),
    ],
)
def test_scopes_are_read_not_refused(h: Harness, scope: str | None, offered: list[str]) -> None:
    page = h.authorize(h.authorize_params(_client(h), Pkce(), scope=scope))
    assert page.status_code == 200, page.text[:300]
    assert re.findall(r'name="scope" value="([^"]+)"', page.text) == offered


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),  # PKCE missing
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),  # implies plain (RFC 7636 §4.3)
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"resource": "http://missing.localhost:8080/mcp"}, "invalid_target"),  # no such wiki
        ({"resource": "https://evil.example/mcp"}, "invalid_target"),  # not ours
        ({"resource": "http://notes.localhost:8080/api/v1"}, "invalid_target"),
        ({"resource": "http://notes.localhost:8080/mcp#x"}, "invalid_target"),
        ({"resource": "https://notes.localhost:8080/mcp"}, "invalid_target"),  # wrong scheme
        ({"resource": "http://notes.localhost:9999/mcp"}, "invalid_target"),  # wrong port
        ({"resource": "notes"}, "invalid_target"),
    ],
)
def test_invalid_requests_are_redirected_with_state_and_iss(
    h: Harness, change: dict[str, Any], error: str
) -> None:
    params = h.authorize_params(_client(h), Pkce(), **change)
    response = h.authorize(params)
    assert response.status_code == 302, response.text
    query = redirected(response)
    assert query["error"] == error, query
    assert query["state"] == params["state"]
    assert query["iss"] == h.settings.issuer
    assert "code" not in query


def test_two_wikis_in_one_request_are_refused(h: Harness) -> None:
    params = list(h.authorize_params(_client(h), Pkce()).items())
    params.append(("resource", h.resource("other")))
    response = h.http.get("/auth/oauth/authorize?" + urlencode(params), headers=h.cookie(ALICE))
    assert redirected(response)["error"] == "invalid_target"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "wbk_unknown"}, "invalid_client"),
        ({"client_id": None}, "invalid_client"),
        (
            {"redirect_uri": "http://127.0.0.1:53682/other"},
            "invalid_request",
        ),  # not registered: never go there
        ({"redirect_uri": "https://attacker.example/cb"}, "invalid_request"),
    ],
)
def test_unknown_client_or_redirect_is_shown_here_not_redirected(
    h: Harness, change: dict[str, Any], error: str
) -> None:
    params = {**h.authorize_params(_client(h), Pkce()), **change}
    params = {k: v for k, v in params.items() if v is not None}
    response = h.authorize(params)
    assert response.status_code == 400
    assert "location" not in response.headers
    body = response.json()
    assert body["error"] == error
    assert body["message"]
    page = h.authorize(params, headers={"Accept": "text/html"})
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "cannot continue" in page.text


@pytest.mark.parametrize(
    "resource",
    [
        "http://notes.localhost:8080/mcp",
        "http://notes.localhost:8080/mcp/",
        "http://notes.localhost:8080",
        "http://NOTES.localhost:8080/",
    ],
)
def test_resource_forms_accepted(h: Harness, resource: str) -> None:
    client = _client(h)
    tokens = h.tokens(client, resource=resource)
    assert h.on_wiki("notes", tokens["access_token"]).wiki == "notes"


def test_consent_page_names_client_redirect_host_wiki_and_scopes(h: Harness) -> None:
    page = h.authorize(h.authorize_params(_client(h), Pkce()))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for text in (
        "Test Agent",
        "127.0.0.1:53682",
        "Notes",
        "wiki:read",
        "wiki:write",
        "offline_access",
        "@alice.test",
    ):
        assert text in page.text, text
    assert 'value="allow"' in page.text


def test_deny_returns_access_denied(h: Harness) -> None:
    params = h.authorize_params(_client(h), Pkce())
    response = h.answer(h.authorize(params), decision="deny")
    query = redirected(response)
    assert query["error"] == "access_denied"
    assert query["state"] == params["state"]
    assert query["iss"] == h.settings.issuer


def test_viewer_is_offered_read_only(h: Harness) -> None:
    client = _client(h)
    page = h.authorize(h.authorize_params(client, Pkce()), BOB)
    assert page.status_code == 200
    assert 'name="scope" value="wiki:read"' in page.text
    assert 'name="scope" value="wiki:write"' not in page.text
    assert "Not offered" in page.text
    tokens = h.tokens(client, BOB)
    assert tokens["scope"] == "wiki:read offline_access"
    assert h.on_wiki("notes", tokens["access_token"]).scopes == {"wiki:read", "offline_access"}


def test_viewer_trying_to_grant_write_is_refused(h: Harness) -> None:
    client = _client(h)
    page = h.authorize(h.authorize_params(client, Pkce()), BOB)
    response = h.answer(page, BOB, scope=["wiki:read", "wiki:write"])
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
    assert "viewer" in response.json()["message"]
    assert "location" not in response.headers


def test_editor_may_grant_write_and_may_choose_less(h: Harness) -> None:
    client = _client(h)
    assert h.tokens(client, CAROL)["scope"] == "wiki:read wiki:write offline_access"
    page = h.authorize(h.authorize_params(client, Pkce()), CAROL)
    response = h.answer(page, CAROL, scope=["wiki:read"])
    code = redirected(response)["code"]
    assert code


def test_a_client_registered_for_read_may_step_up_to_write(h: Harness) -> None:
    """The MCP SDK registers with the scope of the first 401 challenge (``wiki:read``); a write then gets 403
    ``insufficient_scope`` and the SDK asks for ``wiki:read wiki:write``. Open registration makes the registered
    scope no boundary: the consent and the live role decide (found by tests/integration/test_journey.py)."""
    client = str(h.register(scope="wiki:read offline_access")["client_id"])
    assert h.tokens(client, CAROL, scope="wiki:read offline_access")["scope"] == "wiki:read offline_access"
    page = h.authorize(h.authorize_params(client, Pkce()), CAROL)
    assert 'name="scope" value="wiki:write"' in page.text
    assert h.tokens(client, CAROL)["scope"] == "wiki:read wiki:write offline_access"
    assert h.tokens(client, BOB)["scope"] == "wiki:read offline_access"  # a viewer still gets read only


def test_stranger_gets_a_refusal_not_a_consent_page(h: Harness) -> None:
    params = h.authorize_params(_client(h), Pkce())
    page = h.authorize(params, MALLORY)
    assert page.status_code == 403
    assert "cannot be connected" in page.text
    assert 'value="allow"' not in page.text
    forced = h.answer(page, MALLORY, decision="allow")  # a hand-made "allow" does not help
    assert forced.status_code == 403
    again = h.answer(h.authorize(params, MALLORY), MALLORY, decision="deny")
    assert redirected(again)["error"] == "access_denied"


def test_stranger_may_grant_read_on_a_public_wiki(h: Harness) -> None:
    h.wiki("open", ALICE, public=True)
    tokens = h.tokens(_client(h), MALLORY, resource=h.resource("open"))
    assert tokens["scope"] == "wiki:read offline_access"


def test_without_resource_the_user_picks_a_wiki(h: Harness) -> None:
    client = _client(h)
    pkce = Pkce()
    page = h.authorize(h.authorize_params(client, pkce, resource=None))
    assert page.status_code == 200
    assert 'value="notes"' in page.text
    assert 'value="other"' in page.text
    code = redirected(h.answer(page, wiki="other"))["code"]
    tokens = h.exchange(client, code, pkce).json()
    assert h.on_wiki("other", tokens["access_token"]).wiki == "other"
    h.refused_on_wiki("notes", tokens["access_token"])
    bobs = h.authorize(h.authorize_params(client, Pkce(), resource=None), BOB)
    assert 'value="notes"' in bobs.text
    assert 'value="other"' not in bobs.text
    picked = h.answer(bobs, BOB, wiki="other")  # not one of Bob's wikis
    assert picked.status_code == 403
    none = h.authorize(h.authorize_params(client, Pkce(), resource=None), MALLORY)
    assert none.status_code == 403
    assert "no wiki" in none.text


def test_consent_post_is_csrf_protected(h: Harness) -> None:
    client = _client(h)
    page = h.authorize(h.authorize_params(client, Pkce()))
    csrf = CSRF.search(page.text)
    assert csrf
    token = csrf.group(1)
    no_csrf = h.http.post(
        "/auth/oauth/authorize",
        data={"ticket": TICKET.search(page.text).group(1), "decision": "allow"},  # type: ignore[union-attr]
        headers=h.cookie(ALICE),
    )
    assert no_csrf.status_code == 403
    assert no_csrf.json()["error"] == "csrf_failed"  # the platform's own check
    no_ticket = h.http.post(
        "/auth/oauth/authorize", data={"csrf_token": token, "decision": "allow"}, headers=h.cookie(ALICE)
    )
    assert no_ticket.status_code == 403
    forged = h.http.post(
        "/auth/oauth/authorize",
        data={"ticket": "guess", "csrf_token": token, "decision": "allow"},
        headers=h.cookie(ALICE),
    )
    assert forged.status_code == 403
    assert "expired or was not issued to you" in forged.json()["message"]
    other_user = h.answer(page, CAROL)  # Alice's form, Carol's session
    assert other_user.status_code == 403
    page = h.authorize(h.authorize_params(client, Pkce()))
    cross_site = h.http.post(
        "/auth/oauth/authorize",
        data={"ticket": TICKET.search(page.text).group(1), "csrf_token": token, "decision": "allow"},  # type: ignore[union-attr]
        headers={**h.cookie(ALICE), "Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    page = h.authorize(h.authorize_params(client, Pkce()))
    assert h.answer(page).status_code == 302
    replay = h.answer(page)  # a ticket answers once
    assert replay.status_code == 403
    signed_out = h.http.post("/auth/oauth/authorize", data={"ticket": "x", "decision": "allow"})
    assert signed_out.status_code == 401


def test_redirect_uri_must_match_exactly(h: Harness) -> None:
    client = h.register(redirect_uris=[REDIRECT, "https://app.example/cb"])["client_id"]
    for uri in (REDIRECT + "/", REDIRECT.upper(), "https://app.example/cb?x=1", "https://app.example/CB"):
        response = h.authorize(h.authorize_params(client, Pkce(), redirect_uri=uri))
        assert response.status_code == 400, uri
    missing = h.authorize(h.authorize_params(client, Pkce(), redirect_uri=None))  # two registered: ambiguous
    assert missing.status_code == 400


def test_loopback_redirect_uris_take_any_port(h: Harness) -> None:
    """RFC 8252 §7.3, as Claude Code's metadata document needs it: registered without a port (or with another),
    a loopback redirect URI is accepted on the port the client listens on now; nothing else is loosened."""
    client = h.register(redirect_uris=["http://localhost/callback", REDIRECT, "https://app.example/cb"])[
        "client_id"
    ]
    for uri in (
        "http://localhost:41234/callback",
        "http://localhost/callback",
        "http://127.0.0.1:9/callback",
    ):
        page = h.authorize(h.authorize_params(client, Pkce(), redirect_uri=uri))
        assert page.status_code == 200, (uri, page.text[:300])
    for uri in (
        "http://localhost:41234/other",  # another path
        "http://127.0.0.2:41234/callback",  # another host
        "http://user@localhost:41234/callback",  # credentials
        "https://localhost:41234/callback",  # another scheme
        "https://app.example:8443/cb",  # not loopback: exact match only
        "http://localhost:notaport/callback",
    ):
        response = h.authorize(h.authorize_params(client, Pkce(), redirect_uri=uri))
        assert response.status_code == 400, uri
    pkce = Pkce()
    page = h.authorize(h.authorize_params(client, pkce, redirect_uri="http://localhost:41234/callback"))
    done = h.answer(page)
    location = done.headers["location"]
    assert location.startswith("http://localhost:41234/callback?")
    code = parse_qs(urlsplit(location).query)["code"][0]
    token = h.exchange(client, code, pkce, redirect_uri="http://localhost:41234/callback")
    assert token.status_code == 200, token.text


def test_the_person_may_let_an_app_write_only_under_some_folders(h: Harness) -> None:
    """The consent page's "only under" field: the grant holds the folders, the connected-apps list shows
    them, and the verifier gives the app's tokens that write area; a bad folder is refused, nothing granted."""
    client = _client(h)
    pkce = Pkce()
    params = h.authorize_params(client, pkce)
    page = h.authorize(params, CAROL)
    assert 'name="paths"' in page.text
    assert "it can read the whole wiki" in page.text
    bad = h.answer(page, CAROL, paths="Agents/, ../etc")
    assert bad.status_code == 400
    assert "folders it may write" in bad.text
    page = h.authorize(params, CAROL)
    done = h.answer(page, CAROL, paths="Agents/, journal/2026")
    assert done.status_code == 302, done.text[:300]
    answer = h.exchange(client, redirected(done)["code"], pkce)
    assert answer.status_code == 200, answer.text
    principal = h.on_wiki("notes", answer.json()["access_token"])
    assert principal.write_paths == ("Agents/", "journal/2026/")
    apps = h.http.get("/api/wikis/notes/apps", headers=h.cookie(CAROL)).json()
    assert [a["paths"] for a in apps if a["client_id"] == client] == [["Agents/", "journal/2026/"]]
    (grant,) = [a["id"] for a in apps if a["client_id"] == client]
    # changed later, without a new consent: on the app's very next request
    h.cookie(CAROL)
    patch = {"Authorization": f"Bearer {h.sessions[CAROL]}"}  # a script's way: no cookie, no CSRF token
    changed = h.http.patch(f"/api/wikis/notes/apps/{grant}", json={"paths": ["Team/"]}, headers=patch)
    assert changed.status_code == 200, changed.text
    assert changed.json()["paths"] == ["Team/"]
    assert h.on_wiki("notes", answer.json()["access_token"]).write_paths == ("Team/",)
    lifted = h.http.patch(f"/api/wikis/notes/apps/{grant}", json={"paths": None}, headers=patch)
    assert lifted.json()["paths"] is None
    assert h.on_wiki("notes", answer.json()["access_token"]).write_paths is None
    bad = h.http.patch(f"/api/wikis/notes/apps/{grant}", json={"paths": ["../x"]}, headers=patch)
    assert bad.status_code == 400
    # read-only consent: folders mean nothing and are not kept
    page = h.authorize(h.authorize_params(client, Pkce()), CAROL)
    h.answer(page, CAROL, scope=["wiki:read"], paths="Agents/")
    kept = [a["paths"] for a in h.http.get("/api/wikis/notes/apps", headers=h.cookie(CAROL)).json()]
    assert None in kept
