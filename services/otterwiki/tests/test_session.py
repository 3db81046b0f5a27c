"""``/-/session?code=…``: the platform's one-time code becomes the wiki host's own session cookie."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from services.otterwiki.tests.support import Browser, World, make_world
from wikibot_shared.handoff import create_handoff
from wikibot_shared.migrate import upgrade
from wikibot_shared.models import UserSession
from wikibot_shared.tokens import SESSION_COOKIE


@pytest.fixture
def notes(world: World) -> World:
    world.wiki("notes", "olive", files={"Home.md": "# Home\n\nprivate words\n"})
    return world


def redeem(world: World, code: str, slug: str = "notes") -> tuple[Browser, object]:
    browser = Browser(world)
    response = browser.get(slug, f"/-/session?code={code}")
    return browser, response


def test_a_code_becomes_a_host_only_cookie_and_lands_on_the_page(notes: World) -> None:
    token = notes.token("olive", ttl=3600)
    code = create_handoff(notes.redis, token=token, slug="notes", path="/Home?x=1")
    browser, response = redeem(notes, code)
    assert response.status_code == 302
    assert response.headers["Location"] == "/Home?x=1"
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE)]
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0] == f"{SESSION_COOKIE}={token}"
    assert {"HttpOnly", "Path=/", "SameSite=Lax"} <= set(attributes)
    assert not any(a.lower().startswith("domain") for a in attributes)  # host-only
    assert "Secure" not in attributes  # http here
    max_age = int(next(a for a in attributes if a.startswith("Max-Age=")).split("=")[1])
    assert 3500 < max_age <= 3600
    page = browser.get("notes", "/Home")  # the test client's jar now holds the cookie for this host only
    assert page.status_code == 200
    assert "private words" in page.text


def test_a_code_works_once(notes: World) -> None:
    code = create_handoff(notes.redis, token=notes.token("olive"), slug="notes", path="/")
    assert redeem(notes, code)[1].status_code == 302
    _, again = redeem(notes, code)
    assert again.status_code == 401
    assert "expired or was already used" in again.text
    assert "http://localhost:8080/auth/login?return_to=http%3A%2F%2Fnotes.localhost%3A8080%2F" in again.text


def test_a_code_for_another_wiki_is_refused_and_spent(notes: World) -> None:
    notes.wiki("other", "olive")
    code = create_handoff(notes.redis, token=notes.token("olive"), slug="other", path="/")
    _, response = redeem(notes, code)
    assert response.status_code == 401
    assert "for another wiki" in response.text
    assert SESSION_COOKIE not in response.headers.get("Set-Cookie", "")
    assert redeem(notes, code, "other")[1].status_code == 401


@pytest.mark.parametrize("query", ["", "code=", "code=" + "x" * 200])
def test_missing_or_malformed_codes(notes: World, query: str) -> None:
    response = Browser(notes).get("notes", f"/-/session?{query}")
    assert response.status_code == 400
    assert "sign-in code" in response.text


def test_a_code_carrying_an_ended_session_sets_nothing(notes: World) -> None:
    token = notes.token("olive")
    with notes.db() as db:
        row = db.get(UserSession, notes.sessions["olive"])
        assert row is not None
        row.revoked_at = datetime.now(UTC)
        db.commit()
    code = create_handoff(notes.redis, token=token, slug="notes", path="/")
    _, response = redeem(notes, code)
    assert response.status_code == 401
    assert SESSION_COOKIE not in response.headers.get("Set-Cookie", "")


def test_the_landing_path_is_always_local(notes: World) -> None:
    code = create_handoff(notes.redis, token=notes.token("olive"), slug="notes", path="//evil.example/x")
    assert redeem(notes, code)[1].headers["Location"] == "/"


def test_over_https_the_cookie_is_secure(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> None:
    url = f"sqlite:///{tmp_path / 'wikibot.db'}"
    upgrade(url)
    world = make_world(tmp_path, url, redis_url, public_scheme="https")
    try:
        world.wiki("notes", "olive")
        code = create_handoff(world.redis, token=world.token("olive"), slug="notes", path="/")
        response = Browser(world).get("notes", f"/-/session?code={code}")
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in [part.strip() for part in cookie.split(";")]
    finally:
        world.close()
