"""Sign-in in headless Chromium (Debian's, driven by Playwright) through the real PDS's own sign-in and consent
screens, against the platform served by uvicorn: type a handle, enter the password at the PDS, authorize, come
back, choose a username, land on the dashboard, sign out — and the PDS no longer accepts the tokens.

Loopback client (DOMAIN=localhost, the laptop case: callback on 127.0.0.1, then back to localhost) and web client
(https://wikibot.e2e.internal with our private CA; Chromium maps the name to 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from playwright import sync_api as playwright_api
from sqlalchemy import select

from tests.support.asgi import serve
from tests.support.chromium import chromium_args, chromium_path
from tests.support.pds import ReferencePds
from tests.support.platform_app import CLIENT_HOST, close_app, make_settings, pds_settings
from tests.support.servers import free_port
from tests.support.tls import TestCA
from wikibot_platform.auth.routes import signin
from wikibot_platform.main import create_app
from wikibot_shared.models import User, UserSession

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def chromium() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path(), headless=True, args=chromium_args(f"MAP {CLIENT_HOST} 127.0.0.1")
        )
        yield browser
        browser.close()


def _sign_in_and_out(page: Any, app: Any, pds: ReferencePds, origin: str, handle: str, username: str) -> None:
    account = pds.create_account(handle)
    pds.put_profile(account, "Browser Person")
    page.goto(f"{origin}/auth/login")
    page.get_by_label("Handle, DID or server address").fill(handle)
    page.get_by_role("button", name="Continue").click()

    # the PDS's own screens: our login_hint pre-fills the account; password, then consent
    page.wait_for_url(f"{pds.url}/oauth/authorize?**")
    assert page.locator("input[autocomplete=username]").input_value() == handle
    page.locator("input[autocomplete=current-password]").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Authorize").click()

    # back home: first sign-in asks for a username, pre-filled from the handle
    page.wait_for_url(f"{origin}/auth/username**")
    assert page.get_by_label("Username").input_value() == handle.split(".")[0]
    page.get_by_label("Username").fill(username)
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(f"{origin}/app")
    assert page.get_by_role("button", name="Sign out").is_visible()

    with app.state.db() as db:
        user = db.get(User, account.did)
        assert user is not None
        assert (user.handle, user.username, user.display_name) == (handle, username, "Browser Person")
        row = db.execute(select(UserSession).where(UserSession.did == account.did)).scalar_one()
    flow = signin(SimpleNamespace(app=app))  # type: ignore[arg-type]
    session, access, pds_url = flow.session_client(row.id)
    get_session = f"{pds_url}/xrpc/com.atproto.server.getSession"
    assert flow.oauth.pds_request(session, "GET", get_session, access).status_code == 200

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{origin}/")
    with app.state.db() as db:
        ended = db.get(UserSession, row.id)
        assert ended is not None
        assert ended.revoked_at is not None
    assert flow.oauth.pds_request(session, "GET", get_session, access).status_code == 401
    page.goto(f"{origin}/app")
    assert page.url.startswith(f"{origin}/auth/login")  # signed out: the dashboard sends us to sign in


def test_loopback_sign_in_in_chromium(
    chromium: Any, pds: ReferencePds, tmp_path: Path, redis_url: str
) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path, redis_url, domain="localhost", public_scheme="http", public_port=port, **pds_settings(pds)
    )
    app = create_app(settings)
    try:
        with serve(app, port=port):  # answers as localhost:PORT and as 127.0.0.1:PORT (the loopback callback)
            context = chromium.new_context()
            _sign_in_and_out(context.new_page(), app, pds, settings.platform_url, "gina.test", "gina")
            context.close()
    finally:
        close_app(app)


def test_web_client_sign_in_in_chromium(
    chromium: Any, pds: ReferencePds, tmp_path: Path, redis_url: str, test_ca: TestCA
) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path, redis_url, domain=CLIENT_HOST, public_scheme="https", public_port=port, **pds_settings(pds)
    )
    app = create_app(settings)
    try:
        with serve(app, cert=test_ca.issue(CLIENT_HOST), port=port):
            context = chromium.new_context(
                ignore_https_errors=True
            )  # our private CA is not in Chromium's store
            _sign_in_and_out(context.new_page(), app, pds, settings.platform_url, "hugo.test", "hugo")
            context.close()
    finally:
        close_app(app)
