"""``/auth/link``: one-time, short-lived sign-in links; where they land (return_to and the wiki handoff)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from wikibot_platform import loginlink
from wikibot_shared.db import transaction
from wikibot_shared.handoff import redeem_handoff
from wikibot_shared.models import User, UserSession
from wikibot_shared.tokens import SESSION_COOKIE

from .conftest import Platform


def link(platform: Platform, did: str, ttl: int = 60) -> str:
    return loginlink.mint(platform.redis, did=did, ttl=ttl)


def test_link_signs_in_once_and_lands_on_the_dashboard(platform: Platform) -> None:
    alice = platform.user("alice")
    token = link(platform, alice)
    response = platform.client.get("/auth/link", params={"token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "http://localhost:8080/app"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Domain" not in cookie  # host-only on localhost
    session = response.cookies[SESSION_COOKIE]
    me = platform.client.get("/api/me", headers={"Authorization": f"Bearer {session}"})
    assert me.json()["did"] == alice
    with platform.app.state.db() as db:
        row = db.query(UserSession).filter_by(did=alice).one()
        assert row.method == "link"
        user = db.get(User, alice)
        assert user is not None
        assert user.last_login_at is not None
    replay = platform.client.get("/auth/link", params={"token": token})
    assert replay.status_code == 401
    assert "expired or was already used" in replay.text
    assert replay.headers["content-type"].startswith("text/html")


def test_expired_link_is_refused(platform: Platform) -> None:
    alice = platform.user("alice")
    token = link(platform, alice, ttl=1)
    time.sleep(2.1)
    assert platform.client.get("/auth/link", params={"token": token}).status_code == 401


@pytest.mark.parametrize("token", ["", "nonsense", "x" * 150])
def test_bad_tokens(platform: Platform, token: str) -> None:
    response = platform.client.get("/auth/link", params={"token": token})
    assert response.status_code in (400, 401, 422)
    assert SESSION_COOKIE not in response.cookies


def test_link_for_a_deleted_user_is_refused(platform: Platform) -> None:
    alice = platform.user("alice")
    token = link(platform, alice)
    with transaction(platform.app.state.db) as db:
        user = db.get(User, alice)
        db.delete(user)
    assert platform.client.get("/auth/link", params={"token": token}).status_code == 401


@pytest.mark.parametrize(
    ("return_to", "expected"),
    [
        ("http://localhost:8080/app/account", "http://localhost:8080/app/account"),
        ("/app/wikis/notes#tokens", "http://localhost:8080/app/wikis/notes#tokens"),
        ("https://evil.example/app", "http://localhost:8080/app"),
        ("//evil.example/app", "http://localhost:8080/app"),
        ("http://localhost.evil.example:8080/", "http://localhost:8080/app"),
        ("http://localhost:9999/app", "http://localhost:8080/app"),
        ("https://localhost:8080/app", "http://localhost:8080/app"),
        ("http://user@localhost:8080/app", "http://localhost:8080/app"),
        ("javascript:alert(1)", "http://localhost:8080/app"),
    ],
)
def test_return_to_only_to_our_hosts(platform: Platform, return_to: str, expected: str) -> None:
    token = link(platform, platform.user("alice"))
    response = platform.client.get("/auth/link", params={"token": token, "return_to": return_to})
    assert response.headers["location"] == expected


def test_return_to_a_wiki_goes_through_a_handoff_code(platform: Platform) -> None:
    alice = platform.user("alice")
    token = link(platform, alice)
    response = platform.client.get(
        "/auth/link", params={"token": token, "return_to": "http://notes.localhost:8080/Setup%20Guide?x=1"}
    )
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "notes.localhost:8080", "/-/session")
    code = parse_qs(location.query)["code"][0]
    session, path = redeem_handoff(platform.redis, code, "notes")
    assert path == "/Setup%20Guide?x=1"
    assert session == response.cookies[SESSION_COOKIE]
