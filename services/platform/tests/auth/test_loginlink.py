"""``/auth/link``: one-time, short-lived sign-in links (where they land: test_returnto.py)."""

from __future__ import annotations

import time

import pytest

from services.platform.tests.support import Platform
from wikibot_platform.auth import loginlink
from wikibot_shared.db import transaction
from wikibot_shared.models import User, UserSession
from wikibot_shared.tokens import SESSION_COOKIE, sha256_hex


def test_link_signs_in_once_and_lands_on_the_dashboard(platform: Platform) -> None:
    alice = platform.user("alice")
    token = platform.link(alice)
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
    token = platform.link(alice, ttl=1)
    key = loginlink.KEY_PREFIX + sha256_hex(token)
    assert 0 < platform.redis.ttl(key) <= 1  # minted with the TTL asked for
    platform.redis.pexpire(key, 1)  # that second, passed at once: Redis expires it as it would have
    time.sleep(0.01)
    assert platform.client.get("/auth/link", params={"token": token}).status_code == 401


@pytest.mark.parametrize(
    ("token", "status"),
    [
        ("", 400),  # missing: InputError before Redis is asked
        ("nonsense", 401),  # well-formed but unknown
        ("x" * 150, 400),  # longer than any link we mint (within the query's 200)
    ],
)
def test_bad_tokens(platform: Platform, token: str, status: int) -> None:
    response = platform.client.get("/auth/link", params={"token": token})
    assert response.status_code == status
    assert "<code>invalid_link</code>" in response.text
    assert SESSION_COOKIE not in response.cookies


def test_link_for_a_deleted_user_is_refused(platform: Platform) -> None:
    alice = platform.user("alice")
    token = platform.link(alice)
    with transaction(platform.app.state.db) as db:
        user = db.get(User, alice)
        db.delete(user)
    assert platform.client.get("/auth/link", params={"token": token}).status_code == 401
