"""``auth/sessions.py``: a session is a row plus a JWT naming it; the cookie is set and cleared with the same
attributes; ending a session ends every copy of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Response

from tests.support.platform_app import close_app, make_settings
from wikibot_platform.auth.sessions import (
    clear_session_cookie,
    end_session,
    renew_token,
    set_session_cookie,
    start_session,
)
from wikibot_platform.main import create_app
from wikibot_shared.errors import AuthError
from wikibot_shared.models import User, UserSession
from wikibot_shared.tokens import SESSION_COOKIE

DID = "did:plc:" + "s" * 24


@pytest.fixture
def app(tmp_path: Path, redis_url: str) -> Iterator[FastAPI]:
    application = create_app(make_settings(tmp_path, redis_url, public_port=8080))
    with application.state.db() as db:
        db.add(User(did=DID, handle="sam.test", username="sam"))
        db.commit()
    yield application
    close_app(application)


def who(app: FastAPI, token: str) -> str | None:
    _tenant, principal = app.state.verifier.authenticate(
        "localhost:8080", {"authorization": f"Bearer {token}"}, {}
    )
    return principal.credential_id if principal.did == DID else None


def test_start_renew_and_end(app: FastAPI) -> None:
    settings, keystore = app.state.settings, app.state.keystore
    with app.state.db() as db:
        sid, token = start_session(db, settings, keystore, DID, method="link")
        db.commit()
        row = db.get(UserSession, sid)
        assert row is not None
        assert (row.did, row.method, row.revoked_at) == (DID, "link", None)
    renewed = renew_token(settings, keystore, DID, sid)
    assert who(app, token) == who(app, renewed) == sid
    with app.state.db() as db:
        end_session(db, sid)
        db.commit()
    for copy in (token, renewed):
        with pytest.raises(AuthError):
            who(app, copy)


def test_the_cookie_is_cleared_with_the_attributes_it_was_set_with(app: FastAPI) -> None:
    settings = app.state.settings
    set_response, clear_response = Response(), Response()
    set_session_cookie(set_response, settings, "jwt")
    clear_session_cookie(clear_response, settings)
    set_header, clear_header = set_response.headers["set-cookie"], clear_response.headers["set-cookie"]
    assert set_header.startswith(f"{SESSION_COOKIE}=jwt;")
    assert f"Max-Age={settings.session_ttl}" in set_header
    assert clear_header.startswith(f'{SESSION_COOKIE}="";')
    assert "Max-Age=0" in clear_header
    for attribute in ("HttpOnly", "Path=/", "SameSite=lax"):
        assert attribute in set_header
        assert attribute in clear_header
    assert "Domain" not in set_header + clear_header  # host-only on localhost
    assert "Secure" not in set_header + clear_header  # plain http on a laptop


def test_on_a_real_domain_the_cookie_is_shared_with_wiki_hosts_and_secure(
    tmp_path: Path, redis_url: str
) -> None:
    settings = make_settings(
        tmp_path, redis_url, domain="wiki.example.org", public_scheme="https", public_port=443
    )
    set_response, clear_response = Response(), Response()
    set_session_cookie(set_response, settings, "jwt")
    clear_session_cookie(clear_response, settings)
    for header in (set_response.headers["set-cookie"], clear_response.headers["set-cookie"]):
        assert "Domain=wiki.example.org" in header
        assert "Secure" in header
