"""Helpers for the embedder's tests: wikis (a database row and a real git repository each) committed to the way
every writer does. ``conftest.py`` makes fixtures of them."""

from __future__ import annotations

import itertools
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from wikibot_embedder.config import EmbedderSettings
from wikibot_shared.db import transaction
from wikibot_shared.locks import repo_lock
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
