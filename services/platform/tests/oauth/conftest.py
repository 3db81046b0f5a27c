"""Fixtures: a real platform app per test, on SQLite and on PostgreSQL, with real Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from services.platform.tests.oauth.harness import ALICE, BASE, BOB, CAROL, MALLORY, Harness
from wikibot_platform.config import PlatformSettings
from wikibot_platform.main import create_app
from wikibot_shared import migrate


@pytest.fixture
def make_harness(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, migrated_url: str
) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(**overrides: Any) -> Harness:
        settings = PlatformSettings(
            data_dir=tmp_path, redis_url=redis_url, database_url=migrated_url, **overrides
        )
        migrate.run(settings)
        app = create_app(settings)
        http = TestClient(app, base_url=BASE, follow_redirects=False)
        h = Harness(app, http, settings, app.state.db, redis_client)
        made.append(h)
        if len(made) > 1:  # a second app on the same database: the world is already there
            return h
        h.user(ALICE, "alice.test")
        h.user(BOB, "bob.test")
        h.user(CAROL, "carol.test")
        h.user(MALLORY, "mallory.test")
        h.wiki("notes", ALICE)
        h.wiki("other", ALICE)
        h.share("notes", BOB, "viewer")
        h.share("notes", CAROL, "editor")
        return h

    yield make
    for harness in made:
        harness.http.close()
        harness.app.state.engine.dispose()


@pytest.fixture
def h(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()
