"""The sign-in pages without an ATProto server: forms, return_to, username, CSRF, logout, the client documents.
(The flows with a server are in test_signin_pds.py and test_signin_double.py.)"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.platform_app import browser, close_app, csrf_for, form_value, make_settings
from wikibot_platform.accounts import upsert_signed_in_user
from wikibot_platform.auth.sessions import start_session
from wikibot_platform.main import create_app
from wikibot_shared.handoff import redeem_handoff
from wikibot_shared.models import User, UserSession
from wikibot_shared.tokens import SESSION_COOKIE

DID = "did:plc:" + "a" * 24
ORIGIN = "http://localhost:8080"


@pytest.fixture
def app(tmp_path: Path, redis_url: str) -> Iterator[FastAPI]:
    application = create_app(make_settings(tmp_path, redis_url, public_port=8080))
    yield application
    close_app(application)


def signed_in(
    app: FastAPI, *, username: str | None = None, handle: str = "alice.bsky.social"
) -> tuple[TestClient, str]:
    with app.state.db() as db:
        upsert_signed_in_user(db, did=DID, handle=handle, display_name=None, avatar_url=None)
        if username:
            user = db.get(User, DID)
            assert user is not None
            user.username = username
        sid, token = start_session(db, app.state.settings, app.state.keystore, DID, method="link")
        db.commit()
    b = browser(app, ORIGIN)
    b.cookies.set(SESSION_COOKIE, token)
    return b, sid


def test_login_page(app: FastAPI) -> None:
    page = browser(app, ORIGIN).get("/auth/login", params={"return_to": "http://notes.localhost:8080/Home"})
    assert page.status_code == 200
    assert form_value(page.text, "return_to") == "http://notes.localhost:8080/Home"
    assert 'name="identifier"' in page.text
    assert "Sign out" not in page.text


def test_login_page_ignores_a_broken_or_ended_cookie(app: FastAPI) -> None:
    b = browser(app, ORIGIN)
    b.cookies.set(SESSION_COOKIE, "garbage")
    assert b.get("/auth/login").status_code == 200
    b2, sid = signed_in(app, username="alice")
    with app.state.db() as db:
        row = db.get(UserSession, sid)
        assert row is not None
        row.revoked_at = datetime.now(UTC)
        db.commit()
    assert b2.get("/auth/login").status_code == 200


def test_signed_in_visitor_goes_on_with_a_handoff_to_wiki_hosts(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    b, _sid = signed_in(app, username="alice")
    onward = b.get("/auth/login", params={"return_to": f"{ORIGIN}/app/wikis/x"})
    assert (onward.status_code, onward.headers["location"]) == (303, f"{ORIGIN}/app/wikis/x")
    for evil in ("https://evil.example.com/", "//evil.example.com/", "http://localhost.evil.com:8080/"):
        assert b.get("/auth/login", params={"return_to": evil}).headers["location"] == f"{ORIGIN}/app"
    wiki = b.get("/auth/login", params={"return_to": "http://notes.localhost:8080/Setup%20Guide"})
    target = urlsplit(wiki.headers["location"])
    assert target.netloc == "notes.localhost:8080"
    assert target.path == "/-/session"
    token, path = redeem_handoff(redis_client, parse_qs(target.query)["code"][0], "notes")
    assert path == "/Setup%20Guide"
    assert app.state.verifier.authenticate("notes.localhost:8080", {}, {SESSION_COOKIE: token})[1].did == DID


def test_signed_in_without_a_username_is_asked_for_one_first(app: FastAPI) -> None:
    b, _sid = signed_in(app)
    onward = b.get("/auth/login", params={"return_to": "http://notes.localhost:8080/Home"})
    assert onward.status_code == 303
    assert onward.headers["location"] == (
        f"{ORIGIN}/auth/username?return_to=http%3A%2F%2Fnotes.localhost%3A8080%2FHome"
    )


def test_empty_identifier_is_a_400_page(app: FastAPI) -> None:
    page = browser(app, ORIGIN).post("/auth/login", data={"identifier": "", "return_to": "/app"})
    assert page.status_code == 400
    assert 'role="alert"' in page.text
    assert 'aria-invalid="true"' in page.text


def test_username_needs_a_session(app: FastAPI) -> None:
    page = browser(app, ORIGIN).get("/auth/username", params={"return_to": "/app"})
    assert page.status_code == 303
    assert page.headers["location"].startswith(f"{ORIGIN}/auth/login?return_to=")
    post = browser(app, ORIGIN).post("/auth/username", data={"username": "alice"})
    assert post.status_code == 401


def test_choose_username(app: FastAPI, redis_client: redis.Redis) -> None:
    b, sid = signed_in(app, handle="Alice.bsky.social")
    page = b.get("/auth/username", params={"return_to": "http://notes.localhost:8080/"})
    assert page.status_code == 200
    assert form_value(page.text, "username") == "alice"
    token = form_value(page.text, "csrf_token")
    assert token == csrf_for(app, sid)
    assert "Sign out" in page.text  # the layout's logout form carries the same token

    forged = b.post("/auth/username", data={"username": "alice", "csrf_token": "x"})
    assert forged.status_code == 403
    assert forged.json()["error"] == "csrf_failed"
    bad = b.post("/auth/username", data={"username": "Admin!", "csrf_token": token})
    assert bad.status_code == 400
    reserved = b.post("/auth/username", data={"username": "admin", "csrf_token": token})
    assert (reserved.status_code, "reserved" in reserved.text) == (400, True)
    with app.state.db() as db:
        db.add(User(did="did:plc:" + "b" * 24, username="taken"))
        db.commit()
    taken = b.post("/auth/username", data={"username": "taken", "csrf_token": token})
    assert taken.status_code == 409

    chosen = b.post(
        "/auth/username",
        data={"username": "alice", "csrf_token": token, "return_to": "http://notes.localhost:8080/"},
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"].startswith("http://notes.localhost:8080/-/session?code=")
    with app.state.db() as db:
        user = db.get(User, DID)
        assert user is not None
        assert user.username == "alice"
    again = b.get("/auth/username", params={"return_to": "/app"})
    assert (again.status_code, again.headers["location"]) == (303, f"{ORIGIN}/app")


def test_logout_needs_the_csrf_token(app: FastAPI) -> None:
    b, sid = signed_in(app, username="alice")
    refused = b.post("/auth/logout")
    assert refused.status_code == 403
    with app.state.db() as db:
        row = db.get(UserSession, sid)
        assert row is not None
        assert row.revoked_at is None
    out = b.post("/auth/logout", data={"csrf_token": csrf_for(app, sid)})
    assert out.status_code == 303
    assert out.headers["location"] == f"{ORIGIN}/"
    assert 'wikibot_session=""' in out.headers["set-cookie"]
    with app.state.db() as db:
        row = db.get(UserSession, sid)
        assert row is not None
        assert row.revoked_at is not None


def test_logout_without_a_session_just_clears_the_cookie(app: FastAPI) -> None:
    out = browser(app, ORIGIN).post("/auth/logout")
    assert out.status_code == 303
    assert "Max-Age=0" in out.headers["set-cookie"]


def test_unknown_completion_code(app: FastAPI) -> None:
    page = browser(app, ORIGIN).get("/auth/complete", params={"code": "nope"})
    assert page.status_code == 400
    assert 'data-code="invalid_callback"' in page.text


def test_loopback_mode_has_no_metadata_document(app: FastAPI) -> None:
    response = browser(app, ORIGIN).get("/auth/client-metadata.json")
    assert response.status_code == 404
    assert (
        "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fauth%2Fcallback&scope=atproto"
        in (response.json()["message"])
    )


def test_client_documents_of_a_web_client(tmp_path: Path, redis_url: str) -> None:
    app = create_app(
        make_settings(tmp_path, redis_url, domain="wiki.example.org", public_scheme="https", public_port=443)
    )
    try:
        b = browser(app, "https://wiki.example.org")
        metadata = b.get("/auth/client-metadata.json").json()
        assert metadata == {
            "client_id": "https://wiki.example.org/auth/client-metadata.json",
            "client_name": "Wikibot",
            "client_uri": "https://wiki.example.org",
            "application_type": "web",
            "redirect_uris": ["https://wiki.example.org/auth/callback"],
            "scope": "atproto",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "jwks_uri": "https://wiki.example.org/auth/jwks.json",
            "dpop_bound_access_tokens": True,
        }
        keys = b.get("/auth/jwks.json").json()["keys"]
        assert [k["kid"] for k in keys] == [app.state.keystore.current("client").kid]
        assert keys[0]["kid"] not in {k["kid"] for k in b.get("/.well-known/jwks.json").json()["keys"]}
        assert all("d" not in k for k in keys)
    finally:
        close_app(app)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("https://wiki.example.org/auth/callback", 400),  # the platform's own address: the callback runs
        ("https://notes.wiki.example.org/auth/callback", 403),  # a wiki host
        ("https://www.wiki.example.org/auth/callback", 403),  # a reserved name
        ("https://wiki.example.org.evil.example/auth/callback", 403),
        ("https://127.0.0.1/auth/callback", 403),  # the loopback address, but this is a web client
    ],
)
def test_a_web_client_takes_callbacks_only_on_the_platform_host(
    tmp_path: Path, redis_url: str, url: str, status: int
) -> None:
    app = create_app(
        make_settings(tmp_path, redis_url, domain="wiki.example.org", public_scheme="https", public_port=443)
    )
    try:
        page = browser(app, "https://wiki.example.org").get(
            url, params={"state": "x", "iss": "y", "code": "z"}
        )
        assert page.status_code == status
        if status == 403:
            assert "sign-in callbacks are accepted on the platform" in page.text
    finally:
        close_app(app)


def test_sign_in_and_callback_are_rate_limited(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    limited = make_settings(
        tmp_path, redis_url, public_port=8080, rate_limits_json='{"sign_in": [2, 60], "callback": [2, 60]}'
    )
    application = create_app(limited)
    try:
        b = browser(application, ORIGIN)
        for _ in range(2):
            assert b.post("/auth/login", data={"identifier": ""}).status_code == 400
        refused = b.post("/auth/login", data={"identifier": ""})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        for _ in range(2):
            assert b.get("/auth/callback", params={"state": "x"}).status_code == 400
        assert b.get("/auth/callback", params={"state": "x"}).status_code == 429
        assert b.get("/auth/complete", params={"code": "x"}).status_code == 429
    finally:
        close_app(application)
