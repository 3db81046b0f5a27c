"""Sign-in routes through Caddy in the compose stack (DOMAIN=localhost: the loopback client).

The full flows against the real PDS run in services/platform/tests/test_signin_pds.py (in-process app, real
PDS); here: the routes are reachable where browsers will reach them, including the loopback callback on
127.0.0.1, which Caddy must route to the platform."""

from __future__ import annotations

from tests.integration.stack import Stack


def test_sign_in_pages_and_documents_are_served_by_the_platform(stack: Stack) -> None:
    page = stack.get("/auth/login", params={"return_to": stack.url("/Home", slug="notes")})
    assert page.status_code == 200
    assert page.headers["x-wikibot-service"] == "platform"
    assert 'name="identifier"' in page.text
    assert f'value="{stack.url("/Home", slug="notes")}"' in page.text
    keys = stack.get("/auth/jwks.json").json()["keys"]
    assert len(keys) == 1
    assert "d" not in keys[0]
    metadata = stack.get("/auth/client-metadata.json")
    assert metadata.status_code == 404  # loopback mode: the client_id is http://localhost?…
    assert f"127.0.0.1%3A{stack.port}%2Fauth%2Fcallback" in metadata.json()["message"]


def test_bad_sign_in_input_is_a_400_page(stack: Stack) -> None:
    page = stack.request("POST", "/auth/login", data={"identifier": "", "return_to": "/app"})
    assert page.status_code == 400
    assert 'role="alert"' in page.text


def test_loopback_callback_on_127_0_0_1_reaches_the_platform(stack: Stack) -> None:
    host = f"127.0.0.1:{stack.port}"
    callback = stack.get("/auth/callback?state=unknown&iss=x&code=y", host=host)
    assert callback.status_code == 400
    assert callback.headers["x-wikibot-service"] == "platform"
    assert "expired or was already completed" in callback.text
    other = stack.get("/auth/login", host=host)  # nothing else is served on that name
    assert other.status_code == 404
    assert other.json()["error"] == "unknown_host"
    assert stack.get("/caddy-health", host="127.0.0.1").status_code == 200
