"""Fixtures: a fresh deployment per test (``world``: SQLite; ``any_db_world``: SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.otterwiki.tests.support import World, make_world
from wikibot_shared.migrate import upgrade


@pytest.fixture
def world(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> Iterator[World]:
    """SQLite; the access matrix also runs on PostgreSQL (``any_db_world``)."""
    url = f"sqlite:///{tmp_path / 'wikibot.db'}"
    upgrade(url)
    built = make_world(tmp_path, url, redis_url)
    yield built
    built.close()


@pytest.fixture
def any_db_world(
    tmp_path: Path, migrated_url: str, redis_url: str, redis_client: redis.Redis
) -> Iterator[World]:
    built = make_world(tmp_path, migrated_url, redis_url)
    yield built
    built.close()
