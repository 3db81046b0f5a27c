"""Sign-in end to end against the real reference PDS (@atproto/pds with its OAuth provider) and a real PLC.

Confidential client: the platform is served over https as ``https://wikibot.e2e.internal:PORT`` (a private CA
the PDS trusts, a private hosts entry for the PDS process only); the PDS fetches our client metadata and JWKS
from it and checks our private_key_jwt assertions. Loopback client: DOMAIN=localhost, callback on 127.0.0.1.
Both run the provider's own sign-in and consent, land signed in, and sign out with the tokens revoked at the PDS.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.asgi import serve
from tests.support.pds import Account, ReferencePds
from tests.support.platform_app import (
    CLIENT_HOST,
    browser,
    close_app,
    csrf_for,
    form_value,
    make_settings,
    pds_settings,
)
from tests.support.servers import free_port
from tests.support.tls import TestCA
from wikibot_platform.atproto.discovery import authorization_server
from wikibot_platform.atproto.errors import TokenError
from wikibot_platform.auth.flow import SignIn
from wikibot_platform.auth.routes import signin
from wikibot_platform.config import PlatformSettings
from wikibot_platform.main import create_app
from wikibot_shared.errors import AuthError
from wikibot_shared.handoff import redeem_handoff
from wikibot_shared.models import User, UserSession
from wikibot_shared.queue import redis_client
from wikibot_shared.tokens import SESSION_COOKIE

pytestmark = pytest.mark.timeout(300)


@dataclass
class Platform:
    app: FastAPI
    settings: PlatformSettings
    origin: str

    @property
    def flow(self) -> SignIn:
        return signin(_request_for(self.app))

    def browser(self) -> TestClient:
        return browser(self.app, self.origin)


def _request_for(app: FastAPI) -> Any:
    return SimpleNamespace(app=app)


@pytest.fixture
def confidential(tmp_path: Path, redis_url: str, pds: ReferencePds, test_ca: TestCA) -> Iterator[Platform]:
    port = free_port()
    settings = make_settings(
        tmp_path,
        redis_url,
        domain=CLIENT_HOST,
        public_scheme="https",
        public_port=port,
        **pds_settings(pds),
    )
    app = create_app(settings)
    with serve(app, cert=test_ca.issue(CLIENT_HOST), port=port):
        yield Platform(app, settings, settings.platform_url)
    close_app(app)


@pytest.fixture
def loopback(tmp_path: Path, redis_url: str, pds: ReferencePds) -> Iterator[Platform]:
    settings = make_settings(
        tmp_path,
        redis_url,
        domain="localhost",
        public_scheme="http",
        public_port=free_port(),
        **pds_settings(pds),
    )
    app = create_app(settings)
    yield Platform(app, settings, settings.platform_url)
    close_app(app)


def _start(b: TestClient, platform: Platform, identifier: str, return_to: str) -> str:
    page = b.get("/auth/login", params={"return_to": return_to})
    assert page.status_code == 200
    assert form_value(page.text, "return_to") == return_to
    started = b.post("/auth/login", data={"identifier": identifier, "return_to": return_to})
    assert started.status_code == 303, started.text
    return str(started.headers["location"])


def _session_row(platform: Platform, did: str) -> UserSession:
    with platform.app.state.db() as db:
        rows = db.execute(
            select(UserSession).where(UserSession.did == did).order_by(UserSession.created_at)
        ).scalars()
        return list(rows)[-1]


def _user(platform: Platform, did: str) -> User:
    with platform.app.state.db() as db:
        user = db.get(User, did)
        assert user is not None
        return user


def _pds_session(platform: Platform, sid: str) -> tuple[int, str]:
    flow = platform.flow
    session, access, pds_url = flow.session_client(sid)
    response = flow.oauth.pds_request(session, "GET", f"{pds_url}/xrpc/com.atproto.server.getSession", access)
    return response.status_code, response.text


def test_confidential_client_signs_in_and_out(confidential: Platform, pds: ReferencePds) -> None:
    alice = pds.create_account("alice.test")
    pds.put_profile(alice, "Alice Example")
    b = confidential.browser()
    return_to = f"{confidential.origin}/app/wikis/notes"

    # the documents the PDS fetched from us
    metadata = b.get("/auth/client-metadata.json").json()
    assert metadata["client_id"] == f"{confidential.origin}/auth/client-metadata.json"
    assert metadata["redirect_uris"] == [f"{confidential.origin}/auth/callback"]
    jwks = b.get("/auth/jwks.json").json()
    assert [k["kid"] for k in jwks["keys"]] == [confidential.app.state.keystore.current("client").kid]
    assert all("d" not in k for k in jwks["keys"])

    started = time.monotonic()
    authorize = _start(b, confidential, "@alice.test", return_to)
    assert authorize.startswith(f"{pds.url}/oauth/authorize?")
    assert parse_qs(urlsplit(authorize).query)["client_id"] == [metadata["client_id"]]
    callback = pds.authorize(authorize, alice)  # the PDS fetched our metadata and accepted our assertion
    assert callback.startswith(f"{confidential.origin}/auth/callback?")
    assert parse_qs(urlsplit(callback).query)["iss"] == [pds.url]

    landed = b.get(callback)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"].startswith(f"{confidential.origin}/auth/username?")
    cookie = b.cookies.get(SESSION_COOKIE)
    assert cookie
    assert "Domain=wikibot.e2e.internal" in landed.headers["set-cookie"]
    assert "HttpOnly" in landed.headers["set-cookie"]
    assert "Secure" in landed.headers["set-cookie"]
    print(f"confidential sign-in against the real PDS: {time.monotonic() - started:.2f} s")

    # first sign-in: choose a username, pre-filled from the handle
    page = b.get(landed.headers["location"])
    assert page.status_code == 200
    assert form_value(page.text, "username") == "alice"
    chosen = b.post(
        "/auth/username",
        data={"username": "alice", "return_to": return_to, "csrf_token": form_value(page.text, "csrf_token")},
    )
    assert chosen.status_code == 303, chosen.text
    assert chosen.headers["location"] == return_to

    user = _user(confidential, alice.did)
    assert (user.handle, user.display_name, user.username) == ("alice.test", "Alice Example", "alice")
    row = _session_row(confidential, alice.did)
    assert row.authserver_iss == pds.url
    assert row.pds_url == pds.url
    assert row.scope == "atproto"
    assert row.access_token
    # sealed, not stored as the JWT (a search for b"ey" in the random ciphertext failed about one run in a hundred)
    access_jwt = confidential.app.state.signin.box.open(row.access_token, f"sessions.access:{row.id}")
    assert access_jwt.startswith(b"ey")
    assert access_jwt not in row.access_token
    assert row.refresh_token
    assert row.dpop_private_jwk
    assert b'"d"' not in row.dpop_private_jwk
    _tenant, principal = confidential.app.state.verifier.authenticate(
        CLIENT_HOST, {}, {SESSION_COOKIE: cookie}
    )
    assert principal.did == alice.did
    assert principal.handle == "alice.test"

    # the DPoP-bound access token works at the PDS (with the PDS's own nonce dance)
    status, body = _pds_session(confidential, row.id)
    assert status == 200, body
    assert alice.did in body

    # already signed in: a wiki's sign-in link hands the session to that wiki host
    wiki_page = f"https://notes.{CLIENT_HOST}:{confidential.settings.public_port}/Setup%20Guide?x=1"
    handoff = b.get("/auth/login", params={"return_to": wiki_page})
    assert handoff.status_code == 303
    target = urlsplit(handoff.headers["location"])
    assert (
        f"{target.scheme}://{target.netloc}{target.path}"
        == f"{confidential.settings.wiki_url('notes')}/-/session"
    )
    code = parse_qs(target.query)["code"][0]
    token, path = redeem_handoff(redis_client(confidential.settings.redis_url), code, "notes")
    assert path == "/Setup%20Guide?x=1"
    assert (
        confidential.app.state.verifier.authenticate(CLIENT_HOST, {}, {SESSION_COOKIE: token})[1].did
        == alice.did
    )

    # sign out: CSRF-checked, ends the session everywhere, revokes the tokens at the PDS
    flow = confidential.flow
    dpop_session, access, _ = flow.session_client(row.id)
    refresh = flow.box.open(row.refresh_token, f"sessions.refresh:{row.id}").decode()
    refused = b.post("/auth/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert _pds_session(confidential, row.id)[0] == 200  # nothing happened
    out = b.post("/auth/logout", data={"csrf_token": csrf_for(confidential.app, row.id)})
    assert out.status_code == 303
    assert f"{SESSION_COOKIE}=" in out.headers["set-cookie"]
    assert "Max-Age=0" in out.headers["set-cookie"]
    ended = _session_row(confidential, alice.did)
    assert ended.revoked_at is not None
    assert ended.access_token is None
    assert ended.refresh_token is None
    assert ended.dpop_private_jwk is None
    with pytest.raises(AuthError, match="session has ended"):
        confidential.app.state.verifier.authenticate(CLIENT_HOST, {}, {SESSION_COOKIE: cookie})
    gone = flow.oauth.pds_request(
        dpop_session, "GET", f"{pds.url}/xrpc/com.atproto.server.getSession", access
    )
    assert gone.status_code == 401, gone.text  # the PDS itself rejects the revoked access token
    server = flow.oauth  # and the refresh token no longer refreshes
    with pytest.raises(TokenError, match="invalid_grant"):
        server.refresh(
            authorization_server(flow.http, pds.url, confidential=True),
            dpop_session,
            refresh_token=refresh,
            sub=alice.did,
        )


def test_second_sign_in_refreshes_handle_and_profile(confidential: Platform, pds: ReferencePds) -> None:
    bob = pds.create_account("bob.test")
    b = confidential.browser()
    first = b.get(pds.authorize(_start(b, confidential, "bob.test", confidential.origin + "/app"), bob))
    assert first.headers["location"].startswith(f"{confidential.origin}/auth/username")
    assert _user(confidential, bob.did).display_name is None  # no profile record: tolerated
    page = b.get(first.headers["location"])
    b.post("/auth/username", data={"username": "bobby", "csrf_token": form_value(page.text, "csrf_token")})

    pds.update_handle(bob, "robert.test")
    pds.put_profile(bob, "Robert")
    again = browser(confidential.app, confidential.origin)  # another browser, signing in by DID this time
    landed = again.get(pds.authorize(_start(again, confidential, bob.did, confidential.origin + "/app"), bob))
    assert landed.status_code == 303
    assert landed.headers["location"] == f"{confidential.origin}/app"  # username chosen once, not again
    user = _user(confidential, bob.did)
    assert (user.handle, user.display_name, user.username) == ("robert.test", "Robert", "bobby")


def test_refresh_rotates_dpop_bound_tokens(confidential: Platform, pds: ReferencePds) -> None:
    carol = pds.create_account("carol.test")
    b = confidential.browser()
    b.get(pds.authorize(_start(b, confidential, "carol.test", confidential.origin + "/app"), carol))
    row = _session_row(confidential, carol.did)
    flow = confidential.flow
    session, access, _ = flow.session_client(row.id)
    refresh = flow.box.open(row.refresh_token, f"sessions.refresh:{row.id}").decode()
    server = authorization_server(flow.http, pds.url, confidential=True)
    tokens = flow.oauth.refresh(server, session, refresh_token=refresh, sub=carol.did)
    assert tokens.access_token != access
    assert tokens.refresh_token not in (None, refresh)
    fresh = flow.oauth.pds_request(
        session, "GET", f"{pds.url}/xrpc/com.atproto.server.getSession", tokens.access_token
    )
    assert fresh.status_code == 200
    with pytest.raises(TokenError):  # the old refresh token was rotated away
        flow.oauth.refresh(server, session, refresh_token=refresh, sub=carol.did)


def test_loopback_client_signs_in_through_127_0_0_1_and_out(loopback: Platform, pds: ReferencePds) -> None:
    dave = pds.create_account("dave.test")
    b = loopback.browser()
    port = loopback.settings.public_port
    started = time.monotonic()
    authorize = _start(b, loopback, "dave.test", f"http://localhost:{port}/app")
    client_id = parse_qs(urlsplit(authorize).query)["client_id"][0]
    assert client_id.startswith("http://localhost?")
    assert parse_qs(urlsplit(client_id).query) == {
        "redirect_uri": [f"http://127.0.0.1:{port}/auth/callback"],
        "scope": ["atproto"],
    }
    assert b.get("/auth/client-metadata.json").status_code == 404  # no metadata document in loopback mode

    callback = pds.authorize(authorize, dave)
    assert callback.startswith(f"http://127.0.0.1:{port}/auth/callback?")
    on_loopback = b.get(callback)  # the browser arrives on 127.0.0.1, which has none of localhost's cookies
    assert on_loopback.status_code == 303, on_loopback.text
    assert SESSION_COOKIE not in on_loopback.headers.get("set-cookie", "")
    complete = on_loopback.headers["location"]
    assert complete.startswith(f"http://localhost:{port}/auth/complete?code=")
    landed = b.get(complete)
    assert landed.status_code == 303
    assert landed.headers["location"].startswith(f"http://localhost:{port}/auth/username")
    set_cookie = landed.headers["set-cookie"]
    assert "Domain=" not in set_cookie.split(SESSION_COOKIE, 1)[1].split(",")[0]  # host-only on localhost
    assert "Secure" not in set_cookie.split(SESSION_COOKIE, 1)[1].split(",")[0]
    print(f"loopback sign-in against the real PDS: {time.monotonic() - started:.2f} s")
    assert b.get(complete).status_code == 400  # the completion code is single use

    row = _session_row(loopback, dave.did)
    assert _pds_session(loopback, row.id)[0] == 200
    session, access, _ = loopback.flow.session_client(row.id)
    out = b.post("/auth/logout", data={"csrf_token": csrf_for(loopback.app, row.id)})
    assert out.status_code == 303
    assert _session_row(loopback, dave.did).revoked_at is not None
    gone = loopback.flow.oauth.pds_request(
        session, "GET", f"{pds.url}/xrpc/com.atproto.server.getSession", access
    )
    assert gone.status_code == 401


def test_loopback_completion_in_another_browser_is_refused(loopback: Platform, pds: ReferencePds) -> None:
    erin = pds.create_account("erin.test")
    victim, attacker = loopback.browser(), loopback.browser()
    callback = pds.authorize(_start(attacker, loopback, "erin.test", loopback.origin + "/app"), erin)
    complete = attacker.get(callback).headers["location"]
    refused = victim.get(complete)  # the attacker's sign-in, finished in the victim's browser (login CSRF)
    assert refused.status_code == 400
    assert "another browser" in refused.text
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    assert _session_row(loopback, erin.did).revoked_at is not None


def test_provider_refusal_is_reported(confidential: Platform, pds: ReferencePds) -> None:
    frank: Account = pds.create_account("frank.test")
    b = confidential.browser()
    callback = pds.authorize(
        _start(b, confidential, "frank.test", confidential.origin + "/app"), frank, approve=False
    )
    page = b.get(callback)
    assert page.status_code == 400
    assert 'data-code="access_denied"' in page.text
    assert SESSION_COOKIE not in b.cookies
