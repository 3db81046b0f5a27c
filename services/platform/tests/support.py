"""Helpers for the platform's tests: settings on a private data dir, the app under test with people to sign in,
wikis made through the API, and forms posted like a browser posts them. ``conftest.py`` makes fixtures of them."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from fastapi.testclient import TestClient

from wikibot_platform.auth import loginlink
from wikibot_platform.auth.sessions import start_session
from wikibot_platform.config import PlatformSettings
from wikibot_shared import migrate
from wikibot_shared.db import transaction
from wikibot_shared.models import Acl, User
from wikibot_shared.tokens import SESSION_COOKIE
from wikibot_shared.verify import Principal

BASE = "http://localhost:8080"


class Platform:
    """The app under test and helpers to make people and sign them in."""

    def __init__(self, settings: PlatformSettings, client: TestClient, redis_client: redis.Redis) -> None:
        self.settings = settings
        self.client = client
        self.app: Any = client.app
        self.redis = redis_client

    def user(self, name: str, *, tier: str = "free") -> str:
        did = f"did:plc:{name}{'x' * (24 - len(name))}"[:32]
        with transaction(self.app.state.db) as db:
            db.add(User(did=did, handle=f"{name}.test", username=name, tier=tier))
        return did

    def session(self, did: str) -> str:
        with transaction(self.app.state.db) as db:
            _sid, token = start_session(db, self.settings, self.app.state.keystore, did, method="link")
        return token

    def bearer(self, did: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session(did)}"}

    def browser(self, did: str | None = None) -> TestClient:
        """A separate client holding ``did``'s session cookie (like a signed-in browser)."""
        client = TestClient(self.app, base_url=BASE, follow_redirects=False)
        if did:
            client.cookies.set(SESSION_COOKIE, self.session(did))
        return client

    def link(self, did: str, ttl: int = 60) -> str:
        """A one-time sign-in link's token for ``did`` (as ``wikibot-admin login-link`` makes it)."""
        return loginlink.mint(self.redis, did=did, ttl=ttl)

    def principal(self, did: str) -> Principal:
        """``did`` signed in, as the service layer gets them from the request dependency."""
        with self.app.state.db() as db:
            user = db.get(User, did)
            handle = user.handle if user else None
        return Principal(did=did, method="session", credential_id="sid-" + did[-6:], handle=handle)


def make_settings(tmp_path: Path, database_url: str, redis_url: str, **overrides: Any) -> PlatformSettings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "redis_url": redis_url,
        "embedder_internal_url": "http://127.0.0.1:9",
        "peer_health_urls_json": "{}",
        # handle lookups stay on this machine: a resolver service on a closed local port knows nobody
        "handle_resolution": "xrpc",
        "handle_resolver_url": "http://127.0.0.1:9",
        "outbound_allow_http": True,
        "outbound_allow_networks": "127.0.0.1/32",
        **overrides,
    }
    settings = PlatformSettings(**values)
    migrate.run(settings)
    return settings


def make(platform: Platform, did: str, slug: str = "notes", **body: Any) -> dict[str, Any]:
    """A wiki made through ``POST /api/wikis`` by ``did``; its JSON."""
    response = platform.client.post("/api/wikis", json={"slug": slug, **body}, headers=platform.bearer(did))
    assert response.status_code == 201, response.text
    return dict(response.json())


def share(platform: Platform, slug: str, did: str, role: str) -> None:
    with transaction(platform.app.state.db) as db:
        db.add(Acl(wiki_slug=slug, grantee_did=did, role=role))


def csrf_field(page: str) -> str:
    """The value of the page's hidden ``csrf_token`` field."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def post_form(browser: TestClient, page_url: str, action: str, data: dict[str, str]) -> tuple[int, str]:
    """Submit a form found on ``page_url`` like a browser would: read the page, post, follow the redirect."""
    page = browser.get(page_url)
    response = browser.post(action, data={**data, "csrf_token": csrf_field(page.text)})
    if response.status_code == 303:
        location = response.headers["location"]
        follow = browser.get(urlsplit(location).path)
        return 303, html.unescape(follow.text)
    return response.status_code, html.unescape(response.text)
