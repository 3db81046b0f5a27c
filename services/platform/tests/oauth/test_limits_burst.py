"""The platform's rate limits under a concurrent burst, through a real uvicorn over real Redis: for each of
sign-in, client registration, consent, the token endpoint and token creation, a burst of concurrent requests gets
exactly as many through as the limit allows and 429 with ``Retry-After`` for the rest, while another user's
requests (and another address's sign-in) are served meanwhile."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from services.platform.tests.oauth.harness import BOB, CAROL, CSRF, REDIRECT, Harness, Pkce
from tests.support.asgi import serve

LIMIT, BURST, WINDOW = 8, 200, 3600
LIMITS = (
    f'{{"sign_in": [{LIMIT}, {WINDOW}], "oauth_register": [{LIMIT}, {WINDOW}], "consent": [{LIMIT}, {WINDOW}], '
    f'"oauth_token": [{LIMIT}, {WINDOW}], "token_create": [{LIMIT}, {WINDOW}], "api_write": [1000, {WINDOW}]}}'
)
HOST = "localhost:8080"
BURSTER = "203.0.113.9"
ALICE = "did:plc:alice"


@pytest.fixture
def h(make_harness: Callable[..., Harness]) -> Harness:
    if time.time() % WINDOW > WINDOW - 30:  # a window turning over mid-burst would count it twice
        time.sleep(WINDOW - time.time() % WINDOW + 0.5)
    return make_harness(rate_limits_json=LIMITS)


@contextmanager
def bystander(http: httpx.Client, token: str, address: str) -> Iterator[list[tuple[str, int, float]]]:
    """Another user reading the API, and another ``address`` signing in, for as long as the burst lasts."""
    seen: list[tuple[str, int, float]] = []
    stop = threading.Event()

    def go() -> None:
        while not stop.is_set():
            started = time.monotonic()
            me = http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            seen.append(("api", me.status_code, time.monotonic() - started))
            if len([s for s in seen if s[0] == "sign_in"]) < LIMIT - 1:
                link = http.get("/auth/link", params={"token": "x"}, headers={"X-Forwarded-For": address})
                seen.append(("sign_in", link.status_code, 0.0))
            time.sleep(0.01)

    thread = threading.Thread(target=go)
    thread.start()
    try:
        yield seen
    finally:
        time.sleep(0.1)
        stop.set()
        thread.join()


def _burst(send: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(send, range(BURST)))


def test_every_limit_holds_under_a_burst_and_others_are_served(h: Harness) -> None:
    h.cookie(BOB)
    h.cookie(CAROL)
    h.cookie(ALICE)
    client_id = h.register()["client_id"]
    consent_page = h.authorize(h.authorize_params(client_id, Pkce()), CAROL)
    assert consent_page.status_code == 200, consent_page.text[:300]
    csrf = CSRF.search(consent_page.text)
    assert csrf
    register_body = {
        "client_name": "Burst",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
    }
    carol_cookie = h.cookie(CAROL)["Cookie"]
    alice_bearer = {"Authorization": f"Bearer {h.sessions[ALICE]}"}

    bursts: dict[str, tuple[Callable[[httpx.Client, int], httpx.Response], int]] = {
        # name: (one request of the burst, the status the requests within the limit get)
        "sign_in": (
            lambda http, _n: http.get(
                "/auth/link", params={"token": "x"}, headers={"X-Forwarded-For": BURSTER}
            ),
            401,
        ),
        "oauth_register": (
            lambda http, _n: http.post(
                "/auth/oauth/register", json=register_body, headers={"X-Forwarded-For": BURSTER}
            ),
            201,
        ),
        "consent": (
            lambda http, _n: http.post(
                "/auth/oauth/authorize",
                data={"ticket": "forged", "csrf_token": csrf.group(1), "decision": "allow"},
                headers={"Cookie": carol_cookie},
            ),
            403,  # a ticket that was never issued: counted, then refused as it deserves
        ),
        "oauth_token": (
            lambda http, _n: http.post(
                "/auth/oauth/token",
                data={"grant_type": "refresh_token", "client_id": client_id, "refresh_token": "x"},
                headers={"X-Forwarded-For": BURSTER},
            ),
            400,
        ),
        "token_create": (
            lambda http, n: http.post(
                "/api/wikis/notes/tokens", json={"name": f"burst {n}"}, headers=alice_bearer
            ),
            201,
        ),
    }
    figures = {}
    with (
        serve(h.app) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Host": HOST}) as http,
    ):
        for i, (name, (send, within)) in enumerate(bursts.items()):
            with bystander(http, h.sessions[BOB], f"198.51.100.{i + 1}") as seen:
                responses = _burst(lambda n, send=send: send(http, n))  # type: ignore[misc]
            statuses = Counter(r.status_code for r in responses)
            assert statuses == {within: LIMIT, 429: BURST - LIMIT}, (name, statuses, responses[0].text[:300])
            for response in responses:
                if response.status_code == 429:
                    if response.headers["content-type"].startswith("application/json"):
                        assert response.json()["error"] == "rate_limited", response.text
                    else:  # a page (a browser's sign-in link) that says so in words
                        assert "try again in" in response.text, response.text[:500]
                    assert 1 <= int(response.headers["retry-after"]) <= WINDOW
            api = [seconds for kind, status, seconds in seen if kind == "api" and status == 200]
            assert api, f"{name}: the other user was not served at all during the burst"
            assert len(api) == len([s for s in seen if s[0] == "api"]), (name, Counter(seen))
            assert {status for kind, status, _ in seen if kind == "sign_in"} <= {401}, (name, seen)
            figures[name] = (dict(statuses), len(api), statistics.median(api), max(api))
        # the burster's address is still refused; the bystander's is not
        assert bursts["sign_in"][0](http, 0).status_code == 429
    for name, (statuses, n, p50, worst) in figures.items():
        print(f"\n{name}: {statuses}; other user meanwhile {n} API reads, all 200, p50 {p50 * 1000:.0f} ms, "
              f"max {worst * 1000:.0f} ms", end="")  # fmt: skip
    print()
