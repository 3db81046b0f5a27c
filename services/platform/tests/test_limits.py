"""Rate limits in Redis: wiki creation, token creation, API writes, sign-in; 429 with Retry-After."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from fastapi import Request

from services.platform.tests.support import Platform, make
from wikibot_platform import limits
from wikibot_shared.errors import RateLimited

LOW = '{"wiki_create": [2, 3600], "token_create": [2, 3600], "api_write": [6, 60], "sign_in": [2, 300]}'


@pytest.mark.parametrize("settings_overrides", [{"rate_limits_json": LOW}])
def test_wiki_creation_limit(platform: Platform) -> None:
    alice = platform.user("alice", tier="premium")
    make(platform, alice, "one")
    make(platform, alice, "two")
    response = platform.client.post("/api/wikis", json={"slug": "three"}, headers=platform.bearer(alice))
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 3600
    # another person has their own budget
    assert make(platform, platform.user("bob"), "bobs")["slug"] == "bobs"


@pytest.mark.parametrize("settings_overrides", [{"rate_limits_json": LOW}])
def test_token_creation_limit(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    statuses = [
        platform.client.post(
            "/api/wikis/notes/tokens", json={"name": "t"}, headers=platform.bearer(alice)
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 429]


@pytest.mark.parametrize("settings_overrides", [{"rate_limits_json": LOW}])
def test_api_write_limit_counts_every_unsafe_request(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)  # 1
    headers = platform.bearer(alice)
    statuses = [
        platform.client.patch("/api/wikis/notes", json={"is_public": i % 2 == 0}, headers=headers).status_code
        for i in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    assert platform.client.get("/api/wikis", headers=headers).status_code == 200  # reads are not limited


@pytest.mark.parametrize("settings_overrides", [{"rate_limits_json": LOW}])
def test_sign_in_limit_is_per_client_address(platform: Platform) -> None:
    statuses = [
        platform.client.get(
            "/auth/link", params={"token": "x"}, headers={"X-Forwarded-For": "203.0.113.9"}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
    other = platform.client.get(
        "/auth/link", params={"token": "x"}, headers={"X-Forwarded-For": "203.0.113.10"}
    )
    assert other.status_code == 401


def test_client_address_trusts_only_the_last_forwarded_hop() -> None:
    def request(headers: dict[str, str]) -> Request:
        scope: dict[str, Any] = {
            "type": "http",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("10.0.0.5", 1234),
        }
        return Request(scope)

    assert limits.client_address(request({"X-Forwarded-For": "1.2.3.4, 198.51.100.7"})) == "198.51.100.7"
    assert limits.client_address(request({})) == "10.0.0.5"


def test_bad_rate_limit_setting_is_refused() -> None:
    from wikibot_platform.config import PlatformSettings
    from wikibot_shared.config import load_settings
    from wikibot_shared.errors import ConfigError

    with pytest.raises(ConfigError, match="PLATFORM_RATE_LIMITS"):
        load_settings(PlatformSettings, rate_limits_json='{"wiki_create": [0, 60]}')
    with pytest.raises(ConfigError, match="TIERS_JSON"):
        load_settings(PlatformSettings, tiers_json='{"free": {"wikis": 1}}')
    with pytest.raises(ConfigError, match="ADMIN_DIDS"):
        load_settings(PlatformSettings, admin_dids_raw="alice")


@pytest.mark.parametrize("settings_overrides", [{"rate_limits_json": LOW}])
def test_charge_needs_no_request_and_refuses_when_redis_is_down(platform: Platform) -> None:
    """What the service layer calls (``services/wikis.py``, ``services/tokens.py``)."""
    for _ in range(2):
        limits.charge(platform.settings, platform.app.state.redis, "wiki_create", "someone")
    with pytest.raises(RateLimited) as over:
        limits.charge(platform.settings, platform.app.state.redis, "wiki_create", "someone")
    assert 1 <= over.value.retry_after <= 3600
    unreachable = redis.Redis.from_url("redis://127.0.0.1:9", socket_connect_timeout=1)
    with pytest.raises(limits.Unavailable) as down:
        limits.charge(platform.settings, unreachable, "wiki_create", "someone")
    assert down.value.status == 503
    assert down.value.retry_after == 5  # a Retry-After header on the answer
    unreachable.close()
