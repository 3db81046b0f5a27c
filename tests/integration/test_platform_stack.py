"""The management half of the platform through Caddy in the compose stack: an operator creates a user and a
login link with ``wikibot-admin`` inside the platform container; the link signs a browser in; the API and the UI
create a wiki (a real repository on the data volume), a collaborator and a token, and delete the wiki."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.stack import Stack

ALICE = "did:plc:stackaliceaaaaaaaaaaaaaa"
BOB = "did:plc:stackbobbbbbbbbbbbbbbbbb"


@pytest.fixture(scope="module")
def session(stack: Stack) -> str:
    for did, name in ((ALICE, "salice"), (BOB, "sbob")):
        stack.exec(
            "platform",
            "wikibot-admin",
            "create-user",
            "--did",
            did,
            "--handle",
            f"{name}.test",
            "--username",
            name,
        )
    url = stack.exec("platform", "wikibot-admin", "login-link", "salice").stdout.strip()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == f"http://localhost:{stack.port}"
    response = stack.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"http://localhost:{stack.port}/app"
    assert response.headers["x-wikibot-service"] == "platform"
    cookie = response.cookies["wikibot_session"]
    replay = stack.get(f"{parts.path}?{parts.query}")
    assert replay.status_code == 401
    return str(cookie)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_landing_and_docs_through_caddy(stack: Stack) -> None:
    landing = stack.get("/")
    assert landing.status_code == 200
    assert "Wikis your agents can read and write" in landing.text
    assert stack.get("/api/docs").status_code == 200
    assert "/api/wikis/{slug}/members/{did}" in stack.get("/api/openapi.json").json()["paths"]
    assert stack.get("/api/me").status_code == 401
    signed_out = stack.get("/app")
    assert signed_out.status_code == 303
    assert urlsplit(signed_out.headers["location"]).path == "/auth/login"


def test_api_flow_creates_a_real_repository(stack: Stack, session: str) -> None:
    created = stack.request(
        "POST",
        "/api/wikis",
        json={"slug": "stacknotes", "display_name": "Stack Notes"},
        headers=bearer(session),
    )
    assert created.status_code == 201, created.text
    assert created.json()["mcp_url"] == f"http://stacknotes.localhost:{stack.port}/mcp"
    files = stack.exec("platform", "git", "-C", "/data/wikis/stacknotes/repo", "ls-files").stdout.splitlines()
    assert sorted(files) == ["Agent Conventions.md", "Home.md"]
    again = stack.request("POST", "/api/wikis", json={"slug": "stacknotes"}, headers=bearer(session))
    assert again.status_code == 409
    bad = stack.request("POST", "/api/wikis", json={"slug": "Bad!"}, headers=bearer(session))
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_slug"

    member = stack.request(
        "POST",
        "/api/wikis/stacknotes/members",
        json={"handle": "sbob.test", "role": "viewer"},
        headers=bearer(session),
    )
    assert member.status_code == 201, member.text
    assert member.json()["did"] == BOB
    token = stack.request(
        "POST",
        "/api/wikis/stacknotes/tokens",
        json={"name": "ci", "scopes": ["wiki:write"]},
        headers=bearer(session),
    )
    assert token.status_code == 201
    assert token.json()["token"].startswith("wbp_")
    listed = stack.get("/api/wikis/stacknotes/tokens", headers=bearer(session)).json()
    assert [t["name"] for t in listed] == ["ci"]
    revoked = stack.request(
        "DELETE", f"/api/wikis/stacknotes/tokens/{token.json()['id']}", headers=bearer(session)
    )
    assert revoked.status_code == 204

    usage = json.loads(stack.exec("platform", "wikibot-admin", "usage", "stacknotes", "--json").stdout)
    assert usage[0]["pages"] == 2
    stack.exec("platform", "wikibot-admin", "lapse", "stacknotes")
    assert stack.get("/api/wikis/stacknotes", headers=bearer(session)).json()["read_only"] is True
    stack.exec("platform", "wikibot-admin", "restore", "stacknotes")

    gone = stack.request("DELETE", "/api/wikis/stacknotes", headers=bearer(session))
    assert gone.status_code == 204
    assert stack.exec("platform", "test", "-e", "/data/wikis/stacknotes", check=False).returncode == 1


def test_cookie_session_ui_and_csrf_through_caddy(stack: Stack, session: str) -> None:
    cookies = {"Cookie": f"wikibot_session={session}"}  # as a browser sends it
    me = stack.get("/api/me", headers=cookies)
    assert me.status_code == 200
    csrf = me.json()["csrf_token"]
    forged = stack.request("POST", "/api/wikis", json={"slug": "stackforged"}, headers=cookies)
    assert forged.status_code == 403
    assert forged.json()["error"] == "csrf_failed"
    cross = stack.request(
        "POST",
        "/api/wikis",
        json={"slug": "stackforged"},
        headers={**cookies, "X-CSRF-Token": csrf, "Origin": f"http://evil.localhost:{stack.port}"},
    )
    assert cross.status_code == 403

    page = stack.get("/app", headers=cookies)
    assert page.status_code == 200
    field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert field
    form = {
        "slug": "stackui",
        "display_name": "From the form",
        "visibility": "private",
        "csrf_token": field.group(1),
    }
    created = stack.request(
        "POST",
        "/app/wikis",
        data=form,
        headers={**cookies, "Origin": f"http://localhost:{stack.port}", "Sec-Fetch-Site": "same-origin"},
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == f"http://localhost:{stack.port}/app/wikis/stackui"
    settings = stack.get("/app/wikis/stackui", headers=cookies)
    assert "claude mcp add --transport http stackui" in settings.text
    assert settings.headers["x-frame-options"] == "DENY"


def test_login_link_to_a_wiki_hands_the_session_over(stack: Stack, session: str) -> None:
    wiki_url = f"http://stacknotes2.localhost:{stack.port}/Home"
    url = stack.exec(
        "platform", "wikibot-admin", "login-link", "salice", "--return-to", wiki_url
    ).stdout.strip()
    parts = urlsplit(url)
    response = stack.get(f"{parts.path}?{parts.query}")
    location = urlsplit(response.headers["location"])
    assert location.netloc == f"stacknotes2.localhost:{stack.port}"
    assert location.path == "/-/session"
    assert parse_qs(location.query)["code"]
