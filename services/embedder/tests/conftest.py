"""Embedder fixtures: real git repositories on a temporary data volume, real Redis, a migrated database, and
the real model (loaded once per session)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from wikibot_embedder.config import EmbedderSettings
from wikibot_embedder.encoder import Encoder, shared_encoder
from wikibot_embedder.indexer import Indexer
from wikibot_shared.db import make_engine, make_session_factory, transaction
from wikibot_shared.locks import repo_lock
from wikibot_shared.migrate import upgrade
from wikibot_shared.models import User, Wiki
from wikibot_shared.storage import Author, git, init_repo, wiki_paths

AUTHOR = Author.for_did("did:plc:tester", "tester.example", via="tests")
_counter = itertools.count()


class Wikis:
    """Creates wikis (database row + repository) and commits to them the way every writer does."""

    def __init__(self, settings: EmbedderSettings, db: sessionmaker[Session]) -> None:
        self.settings = settings
        self.db = db
        with transaction(db) as session:
            session.add(User(did="did:plc:tester", handle="tester.example", username="tester"))

    def create(self, slug: str, files: dict[str, str] | None = None) -> str:
        with transaction(self.db) as session:
            session.add(Wiki(slug=slug, owner_did="did:plc:tester", display_name=slug))
        return init_repo(
            self.settings.wikis_dir, slug, files or {"Home.md": "# Home\n\nWelcome."}, AUTHOR, "Create"
        )

    def repo(self, slug: str) -> Path:
        return wiki_paths(self.settings.wikis_dir, slug).repo

    def git(self, slug: str, *args: str) -> str:
        env = {
            "GIT_AUTHOR_NAME": AUTHOR.name,
            "GIT_AUTHOR_EMAIL": AUTHOR.email,
            "GIT_COMMITTER_NAME": AUTHOR.name,
            "GIT_COMMITTER_EMAIL": AUTHOR.email,
        }
        return git(self.repo(slug), *args, env=env).strip()

    def commit(
        self,
        slug: str,
        write: dict[str, str] | None = None,
        delete: tuple[str, ...] = (),
        rename: dict[str, str] | None = None,
        message: str | None = None,
    ) -> str:
        repo = self.repo(slug)
        with repo_lock(self.settings.wikis_dir, slug):
            for old, new in (rename or {}).items():
                (repo / new).parent.mkdir(parents=True, exist_ok=True)
                self.git(slug, "mv", old, new)
            for path in delete:
                self.git(slug, "rm", "-q", path)
            for path, text in (write or {}).items():
                (repo / path).parent.mkdir(parents=True, exist_ok=True)
                (repo / path).write_text(text)
                self.git(slug, "add", path)
            self.git(slug, "commit", "-q", "--allow-empty", "-m", message or f"change {next(_counter)}")
            return self.git(slug, "rev-parse", "HEAD")

    def reset_hard(self, slug: str, commit: str) -> str:
        """What a force push does to the branch the wiki serves."""
        with repo_lock(self.settings.wikis_dir, slug):
            self.git(slug, "reset", "-q", "--hard", commit)
            return self.git(slug, "rev-parse", "HEAD")


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
