"""Fixtures every test suite shares: real Redis, real SQLite and PostgreSQL, migrated databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from tests.support.servers import fresh_postgres_db, postgres_server, redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind the platform supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wikibot.db'}"
    return fresh_postgres_db(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture
def migrated_url(database_url: str) -> str:
    from wikibot_shared.migrate import upgrade

    upgrade(database_url)
    return database_url


@pytest.fixture
def db_factory(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    from wikibot_shared.db import make_engine, make_session_factory

    engine = make_engine(migrated_url)
    yield make_session_factory(engine)
    engine.dispose()
