"""Access decisions kept for a moment (``wikibot_shared.verify.decisions``), through the real app under uvicorn:
a kept decision is used (no database lookup), and it ends on the very next request after a token is revoked, a
member removed, a wiki lapsed or a token expires; a change only the clock or raw SQL makes is bounded by TTL_S."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from sqlalchemy import delete, text, update

from services.mcp.tests.support.served import Served, serve
from services.mcp.tests.support.world import ALICE, BOB
from wikibot_shared.db import transaction
from wikibot_shared.models import AccessToken, Acl, Wiki
from wikibot_shared.tokens import PAT_PREFIX, new_opaque, sha256_hex
from wikibot_shared.verify.decisions import EPOCH_KEY, TTL_S, DecisionCache, read_epoch

HOST = "notes.localhost:8080"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("decisions"), redis_url) as running:
        yield running


def _call(served: Served, token: str, tool: str = "read_note", **arguments: object) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    headers = {
        "Host": HOST,
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    return httpx.post(served.base + "/mcp", json=body, headers=headers, timeout=30)


def _ok(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.json()["result"]["isError"] is False


def _cache(served: Served) -> DecisionCache:
    cache = served.app.state.actors.decisions
    assert cache is not None
    return cache  # type: ignore[no-any-return]


def _fresh_pat(served: Served, did: str = ALICE, **columns: object) -> str:
    """A new read-write token of ``did`` on notes (a decision of its own), with ``columns`` set on its row."""
    token, digest = new_opaque(PAT_PREFIX)
    with transaction(served.world.db) as db:
        db.add(
            AccessToken(
                id=secrets.token_hex(8),
                token_hash=digest,
                wiki_slug="notes",
                owner_did=did,
                name="decisions",
                scopes="wiki:read wiki:write",
                created_at=datetime.now(UTC),
                **columns,
            )
        )
    return token


def test_a_kept_decision_is_used_and_ends_with_the_revocation(served: Served) -> None:
    token = _fresh_pat(served)
    cache = _cache(served)
    assert _ok(_call(served, token, path="Home"))
    hits = cache.hits
    assert _ok(_call(served, token, path="Home"))
    assert cache.hits == hits + 1  # decided once, used again

    epoch = read_epoch(served.world.redis)
    with transaction(served.world.db) as db:  # what the platform does when its owner revokes it
        db.execute(
            update(AccessToken)
            .where(AccessToken.token_hash == sha256_hex(token))
            .values(revoked_at=datetime.now(UTC))
        )
    assert read_epoch(served.world.redis) != epoch
    refused = _call(served, token, path="Home")  # the very next request, well within TTL_S
    assert refused.status_code == 401
    assert "revoked" in refused.headers["www-authenticate"]


def test_a_change_the_epoch_does_not_see_lasts_at_most_ttl(served: Served) -> None:
    """Raw SQL by hand does not move the epoch: the kept decision then serves until TTL_S — which is also the
    proof that requests are answered from it."""
    token = _fresh_pat(served)
    assert _ok(_call(served, token, path="Home"))
    with served.world.db() as db:
        db.execute(
            text("UPDATE access_tokens SET revoked_at = CURRENT_TIMESTAMP WHERE token_hash = :h"),
            {"h": sha256_hex(token)},
        )
        db.commit()
    started = time.monotonic()
    assert _ok(_call(served, token, path="Home"))  # still the kept decision
    while _call(served, token, path="Home").status_code == 200:
        assert time.monotonic() - started < TTL_S + 1, "a kept decision outlived TTL_S"
        time.sleep(0.1)


def test_removing_a_member_ends_their_kept_write_decision(served: Served) -> None:
    token = _fresh_pat(served, BOB)  # bob is an editor on notes
    assert _ok(_call(served, token, "write_note", path="Decisions/Bob", content="# one\n"))
    assert _ok(_call(served, token, "edit_note", path="Decisions/Bob", operation="append", content="two\n"))
    with transaction(served.world.db) as db:
        db.execute(delete(Acl).where(Acl.wiki_slug == "notes", Acl.grantee_did == BOB))
    try:
        after = _call(served, token, "edit_note", path="Decisions/Bob", operation="append", content="three\n")
        assert not _ok(after), after.text
        assert "three" not in served.world.repo().joinpath("Decisions/Bob.md").read_text()
    finally:
        served.world.grant("notes", BOB, "editor")


def test_a_lapsed_wiki_refuses_the_next_write(served: Served) -> None:
    token = _fresh_pat(served)
    assert _ok(_call(served, token, "write_note", path="Decisions/Lapse", content="# one\n"))
    served.world.set_wiki("notes", payment_status="lapsed")
    try:
        after = _call(served, token, "edit_note", path="Decisions/Lapse", operation="append", content="two\n")
        assert after.status_code == 200
        assert after.json()["result"]["isError"] is True
        assert "lapsed" in after.json()["result"]["content"][0]["text"].lower()
    finally:
        served.world.set_wiki("notes", payment_status="active")


def test_recording_use_does_not_end_kept_decisions(served: Served) -> None:
    epoch = read_epoch(served.world.redis)
    with transaction(served.world.db) as db:
        db.execute(update(AccessToken).values(last_used_at=datetime.now(UTC)))
        db.execute(update(Wiki).where(Wiki.slug == "notes").values(page_count=3, bytes=300))
    assert read_epoch(served.world.redis) == epoch


def test_a_kept_decision_never_outlives_its_token(served: Served) -> None:
    token = _fresh_pat(served, expires_at=datetime.now(UTC) + timedelta(seconds=1))
    assert _ok(_call(served, token, path="Home"))
    time.sleep(1.1)  # expired, though a kept decision would still have TTL_S to go
    assert _call(served, token, path="Home").status_code == 401


def test_without_redis_nothing_is_kept() -> None:
    unreachable = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    assert read_epoch(unreachable) is None


def test_the_cache_is_bounded() -> None:
    from wikibot_shared.verify.verifier import Principal

    cache = DecisionCache(max_entries=3)
    access = type("A", (), {"principal": Principal(did=ALICE, method="pat")})()
    now = time.time()
    for n in range(5):
        cache.put(f"k{n}", access, "1", now)  # type: ignore[arg-type]
    assert [k for k in ("k0", "k1", "k2", "k3", "k4") if cache.get(k, now)] == ["k2", "k3", "k4"]
    assert cache.get("k4", now + TTL_S + 0.01) is None


def test_the_epoch_key_is_shared(served: Served) -> None:
    """One key for every process: the platform's changes and the services' reads meet there."""
    before = int(served.world.redis.get(EPOCH_KEY) or 0)
    with transaction(served.world.db) as db:
        db.execute(update(Wiki).where(Wiki.slug == "other").values(display_name="Other wiki"))
    assert int(served.world.redis.get(EPOCH_KEY) or 0) == before + 1
