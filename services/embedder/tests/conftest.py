"""Embedder fixtures: real git repositories on a temporary data volume, real Redis, a migrated database, and
the real model (loaded once per session); the helpers come from ``support``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from services.embedder.tests.support import Wikis
from wikibot_embedder.config import EmbedderSettings
from wikibot_embedder.encoder import Encoder, shared_encoder
from wikibot_embedder.indexer import Indexer
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.migrate import upgrade


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return shared_encoder(256, 0)


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> EmbedderSettings:
    return EmbedderSettings(
        data_dir=tmp_path / "data",
        redis_url=redis_url,
        database_url=f"sqlite:///{tmp_path / 'wikibot.db'}",
        worker=False,
        checkpoint_chunks=16,
        sweep_seconds=3600,
    )


@pytest.fixture
def db(settings: EmbedderSettings) -> Iterator[sessionmaker[Session]]:
    assert settings.database_url
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def wikis(settings: EmbedderSettings, db: sessionmaker[Session]) -> Wikis:
    return Wikis(settings, db)


@pytest.fixture
def indexer(
    settings: EmbedderSettings, encoder: Encoder, db: sessionmaker[Session], redis_client: redis.Redis
) -> Indexer:
    return Indexer(settings, encoder, db, redis_client)
