"""Rate limits per credential on the agent plane, under a concurrent burst, against the real app under uvicorn and
a real Redis: a credential over its limit gets 429 with ``Retry-After`` (a JSON-RPC error the SDK shows on
``/mcp``), exactly as many requests as the limit allows get through, and everyone else is served meanwhile."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.mcp.tests.support.clients import sdk
from services.mcp.tests.support.served import Served, serve
from services.mcp.tests.support.world import ALICE, BOB
from wikibot_mcp.config import McpSettings
from wikibot_mcp.limits import CredentialLimits
from wikibot_shared.verify import Access

CALLS, WRITES, WINDOW = 20, 5, 3600
LIMITS = f'{{"agent_call": [{CALLS}, {WINDOW}], "agent_write": [{WRITES}, {WINDOW}]}}'
HOST = "notes.localhost:8080"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("limits"), redis_url, rate_limits_json=LIMITS) as running:
        yield running


@pytest.fixture(autouse=True)
def _clear_of_a_window_edge() -> None:
    """A fixed window that turned over mid-burst would count the burst twice: start well inside one."""
    if time.time() % WINDOW > WINDOW - 30:
        time.sleep(WINDOW - time.time() % WINDOW + 0.5)


def _call(tool: str, arguments: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": n,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


def _headers(token: str, **extra: str) -> dict[str, str]:
    return {
        "Host": HOST,
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
        **extra,
    }


def _post(http: httpx.Client, token: str, body: dict[str, Any]) -> httpx.Response:
    return http.post("/mcp", json=body, headers=_headers(token))


def _refused_as_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= WINDOW
    error = response.json()["error"]  # a JSON-RPC error, as the SDKs expect
    assert response.json()["jsonrpc"] == "2.0"
    assert error["data"]["error"] == "rate_limited"
    assert "try again in" in error["message"]


def test_a_burst_gets_exactly_its_limit_and_others_are_served_meanwhile(limited: Served) -> None:
    world = limited.world
    burst_token, bystander = world.pat(ALICE), world.pat(BOB)
    served_bystander: list[tuple[int, float]] = []
    stop = threading.Event()

    def bystander_reads() -> None:
        with httpx.Client(base_url=limited.base, timeout=30) as http:
            while not stop.is_set() and len(served_bystander) < CALLS - 5:  # within its own budget
                time.sleep(0.03)
                started = time.monotonic()
                response = _post(http, bystander, _call("read_note", {"path": "Home"}))
                served_bystander.append((response.status_code, time.monotonic() - started))

    watcher = threading.Thread(target=bystander_reads)
    watcher.start()
    try:
        with httpx.Client(base_url=limited.base, timeout=30) as http, ThreadPoolExecutor(16) as pool:
            burst = list(
                pool.map(
                    lambda n: _post(http, burst_token, _call("read_note", {"path": "Home"}, n)), range(60)
                )
            )
    finally:
        time.sleep(0.2)
        stop.set()
        watcher.join()

    statuses = Counter(r.status_code for r in burst)
    assert statuses == {200: CALLS, 429: 60 - CALLS}, statuses  # the counter is atomic: not one more
    for response in burst:
        if response.status_code == 429:
            _refused_as_rate_limited(response)
        else:
            assert "result" in response.json()
    assert served_bystander, "the bystander was not served at all during the burst"
    assert {status for status, _ in served_bystander} == {200}
    waits = sorted(s for _, s in served_bystander)
    print(
        f"\nburst: {dict(statuses)}; bystander meanwhile: {len(waits)} reads, all 200, "
        f"p50 {statistics.median(waits) * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms"
    )

    # The same credential over REST and through the SDK: still refused, in words that say when to retry.
    rest = httpx.get(limited.base + "/api/v1/pages/Home", headers=_headers(burst_token), timeout=30)
    assert rest.status_code == 429
    assert rest.json()["error"] == "rate_limited"
    assert int(rest.headers["retry-after"]) >= 1

    async def through_the_sdk() -> str:
        try:
            async with sdk(limited.base, burst_token) as client:
                await client.call_tool("read_note", {"path": "Home"})
        except Exception as exc:  # noqa: BLE001 - whatever the SDK raises carries what the server said
            while isinstance(exc, BaseExceptionGroup):  # its task groups
                exc = exc.exceptions[0]
            return f"{type(exc).__name__}: {exc}"
        return "no refusal"

    refusal = asyncio.run(through_the_sdk())
    assert "too many requests; try again in" in refusal, refusal


def test_writes_have_their_own_smaller_budget(limited: Served) -> None:
    token = limited.world.pat(BOB, scopes="wiki:write wiki:read")  # an editor; not the bystander's token
    with httpx.Client(base_url=limited.base, timeout=30) as http:
        writes = [
            _post(http, token, _call("write_note", {"path": f"Limits/{n}", "content": f"# {n}\n"}, n))
            for n in range(WRITES + 1)
        ]
        assert [r.status_code for r in writes] == [200] * WRITES + [429]
        _refused_as_rate_limited(writes[-1])
        assert all(r.json()["result"]["isError"] is False for r in writes[:WRITES]), writes[0].text
        # the refused write did not happen; reads still have budget
        read = _post(http, token, _call("read_note", {"path": f"Limits/{WRITES}"}))
        assert read.status_code == 200
        assert read.json()["result"]["isError"] is True
        assert (
            _post(http, token, _call("read_note", {"path": "Limits/0"})).json()["result"]["isError"] is False
        )


def test_anonymous_readers_of_a_public_wiki_are_counted_by_address(limited: Served) -> None:
    limited.world.set_wiki("other", is_public=True)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Host": "other.localhost:8080", "Accept": "application/json, text/event-stream"}
    with httpx.Client(base_url=limited.base, timeout=30) as http:
        first = [
            http.post("/mcp", json=body, headers={**headers, "X-Forwarded-For": "203.0.113.7"}).status_code
            for _ in range(CALLS + 1)
        ]
        other = http.post("/mcp", json=body, headers={**headers, "X-Forwarded-For": "203.0.113.8"})
        # an earlier hop is the client's own say: only the address Caddy appended counts
        spoofed = http.post(
            "/mcp", json=body, headers={**headers, "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
        )
    assert first == [200] * CALLS + [429]
    assert other.status_code == 200
    assert spoofed.status_code == 429


def test_a_limiter_outage_lets_requests_through(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Redis down: reads must not go down with it (the platform's sign-in limits refuse instead)."""
    from wikibot_shared import acl
    from wikibot_shared.verify.verifier import Principal

    settings = McpSettings(data_dir=tmp_path, redis_url="redis://127.0.0.1:9/0", domain="localhost")
    unreachable = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1)
    limits = CredentialLimits(unreachable, settings.rate_limits)
    principal = Principal(did=ALICE, method="pat", credential_id="t1")
    access = Access(tenant=None, principal=principal, wiki=None, action=acl.Action.WRITE)  # type: ignore[arg-type]
    with caplog.at_level("WARNING", logger="wikibot.mcp.limits"):
        limits.charge(access, acl.Action.WRITE, "203.0.113.7")
        limits.charge(access, acl.Action.READ, "203.0.113.7")
    assert [r.getMessage() for r in caplog.records] == ["rate limiter unavailable; letting requests through"]


def test_the_limits_setting_is_validated(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match="MCP_RATE_LIMITS: 'agent_reads' must be one of agent_call, agent_write"
    ):
        McpSettings(data_dir=tmp_path, rate_limits_json='{"agent_reads": [1, 60]}')
    assert McpSettings(data_dir=tmp_path, rate_limits_json=LIMITS).rate_limits == {
        "agent_call": (CALLS, WINDOW),
        "agent_write": (WRITES, WINDOW),
    }
