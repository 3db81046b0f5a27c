"""A real platform app per test: migrated SQLite or PostgreSQL, real Redis, real git, real keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from wikibot_platform.config import PlatformSettings
from wikibot_platform.main import create_app
from wikibot_platform.sessions import start_session
from wikibot_shared import migrate
from wikibot_shared.db import transaction
from wikibot_shared.models import User
from wikibot_shared.tokens import SESSION_COOKIE

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


def make_settings(tmp_path: Path, database_url: str, redis_url: str, **overrides: Any) -> PlatformSettings:
    settings = PlatformSettings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=redis_url,
        embedder_internal_url="http://127.0.0.1:9",
        peer_health_urls_json="{}",
        **overrides,
    )
    migrate.run(settings)
    return settings


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def platform(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    settings_overrides: dict[str, Any],
) -> Iterator[Platform]:
    settings = make_settings(tmp_path, database_url, redis_url, **settings_overrides)
    app = create_app(settings)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        yield Platform(settings, client, redis_client)
    app.state.engine.dispose()
    app.state.redis.close()
