"""Where a browser lands once signed in (``auth/returnto.py``): ``return_to`` only on our hosts, wiki hosts through a
handoff code. Driven through ``/auth/link``, the shortest way to a signed-in landing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from services.platform.tests.support import Platform
from wikibot_shared.handoff import redeem_handoff
from wikibot_shared.tokens import SESSION_COOKIE


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
    token = platform.link(platform.user("alice"))
    response = platform.client.get("/auth/link", params={"token": token, "return_to": return_to})
    assert response.headers["location"] == expected


def test_return_to_a_wiki_goes_through_a_handoff_code(platform: Platform) -> None:
    alice = platform.user("alice")
    token = platform.link(alice)
    response = platform.client.get(
        "/auth/link", params={"token": token, "return_to": "http://notes.localhost:8080/Setup%20Guide?x=1"}
    )
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "notes.localhost:8080", "/-/session")
    code = parse_qs(location.query)["code"][0]
    session, path = redeem_handoff(platform.redis, code, "notes")
    assert path == "/Setup%20Guide?x=1"
    assert session == response.cookies[SESSION_COOKIE]
