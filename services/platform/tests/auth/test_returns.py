from urllib.parse import parse_qs, urlsplit

import pytest
import redis

from wikibot_platform.auth.returns import landing_url, safe_return_to
from wikibot_platform.config import PlatformSettings
from wikibot_shared.handoff import redeem_handoff

PROD = PlatformSettings(domain="wiki.example.org", public_scheme="https", public_port=443)
LOCAL = PlatformSettings(domain="localhost", public_scheme="http", public_port=8080)


@pytest.mark.parametrize(
    ("settings", "value", "expected"),
    [
        (PROD, None, "https://wiki.example.org/app"),
        (PROD, "", "https://wiki.example.org/app"),
        (PROD, "/app/wikis/notes", "https://wiki.example.org/app/wikis/notes"),
        (PROD, "https://wiki.example.org/app?x=1", "https://wiki.example.org/app?x=1"),
        (PROD, "https://notes.wiki.example.org/Home", "https://notes.wiki.example.org/Home"),
        (PROD, "https://NOTES.wiki.example.org", "https://notes.wiki.example.org/"),
        (PROD, "https://notes.wiki.example.org/P#frag", "https://notes.wiki.example.org/P"),
        (LOCAL, "http://notes.localhost:8080/Setup%20Guide", "http://notes.localhost:8080/Setup%20Guide"),
        (LOCAL, "/", "http://localhost:8080/"),
        # everything else falls back to the dashboard
        (PROD, "https://evil.example.com/", "https://wiki.example.org/app"),
        (PROD, "https://wiki.example.org.evil.com/", "https://wiki.example.org/app"),
        (PROD, "https://a.b.wiki.example.org/", "https://wiki.example.org/app"),
        (PROD, "http://wiki.example.org/app", "https://wiki.example.org/app"),
        (PROD, "https://wiki.example.org:8443/app", "https://wiki.example.org/app"),
        (PROD, "https://user:pw@wiki.example.org/app", "https://wiki.example.org/app"),
        (PROD, "https://api.wiki.example.org/", "https://wiki.example.org/app"),
        (PROD, "//evil.example.com/x", "https://wiki.example.org/app"),
        (PROD, "/\\evil.example.com", "https://wiki.example.org/app"),
        (PROD, "javascript:alert(1)", "https://wiki.example.org/app"),
        (PROD, "https://wiki.example.org/a\nb", "https://wiki.example.org/app"),
        (PROD, "https://wiki.example.org:99999/", "https://wiki.example.org/app"),
        (LOCAL, "http://127.0.0.1:8080/app", "http://localhost:8080/app"),
        (LOCAL, "http://notes.localhost:9999/", "http://localhost:8080/app"),
        (PROD, "https://wiki.example.org/" + "a" * 3000, "https://wiki.example.org/app"),
    ],
)
def test_return_to_stays_on_our_hosts(settings: PlatformSettings, value: str | None, expected: str) -> None:
    assert safe_return_to(settings, value) == expected


def test_platform_targets_are_returned_as_they_are(redis_client: redis.Redis) -> None:
    url = landing_url(PROD, redis_client, token="jwt", return_to="https://wiki.example.org/app/wikis/x")
    assert url == "https://wiki.example.org/app/wikis/x"
    assert redis_client.keys("wikibot:handoff:*") == []


def test_wiki_targets_get_the_session_by_handoff(redis_client: redis.Redis) -> None:
    url = landing_url(
        LOCAL, redis_client, token="the-jwt", return_to="http://notes.localhost:8080/Page?rev=2"
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://notes.localhost:8080/-/session"
    code = parse_qs(parts.query)["code"][0]
    with pytest.raises(Exception, match="another wiki"):
        redeem_handoff(redis_client, code, "other")
    code = parse_qs(
        urlsplit(
            landing_url(
                LOCAL, redis_client, token="the-jwt", return_to="http://notes.localhost:8080/Page?rev=2"
            )
        ).query
    )["code"][0]
    assert redeem_handoff(redis_client, code, "notes") == ("the-jwt", "/Page?rev=2")
