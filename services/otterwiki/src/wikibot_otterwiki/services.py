"""What the tenant middleware and the hooks inside Otterwiki share: settings, database, Redis, tiers, lock."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import quote

import redis
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared.db import transaction
from wikibot_shared.locks import repo_lock
from wikibot_shared.models import Wiki
from wikibot_shared.queue import notify_change
from wikibot_shared.tiers import Tier, Usage
from wikibot_shared.verify import Verifier

from .config import OtterwikiSettings
from .state import WikiStates

log = logging.getLogger("wikibot.otterwiki")


@dataclass
class Services:
    settings: OtterwikiSettings
    db: sessionmaker[Session]
    redis: redis.Redis
    verifier: Verifier
    tiers: dict[str, Tier]
    states: WikiStates

    def lock(self, slug: str) -> AbstractContextManager[None]:
        return repo_lock(self.settings.wikis_dir, slug)

    # -- links to the platform (ARCHITECTURE: the URLs others link to) -----------------------------------
    def wiki_url(self, slug: str, path: str = "/", query: str = "") -> str:
        """``path`` decoded (as Flask's ``request.path``), quoted here; ``query`` as received."""
        quoted = quote(path or "/", safe="/:@!$&'()*+,;=-._~")
        url = self.settings.wiki_url(slug) + quoted
        return f"{url}?{query}" if query else url

    def sign_in_url(self, return_to: str) -> str:
        return self.settings.sign_in_url(return_to)

    @property
    def dashboard_url(self) -> str:
        return f"{self.settings.platform_url}/app"

    def wiki_settings_url(self, slug: str) -> str:
        return f"{self.settings.platform_url}/app/wikis/{slug}"

    def collaborators_url(self, slug: str) -> str:
        return f"{self.settings.platform_url}/app/wikis/{slug}#members"

    # -- after a write ----------------------------------------------------------------------------------
    def record_write(self, slug: str, usage: Usage, commit: str | None, paths: Sequence[str]) -> None:
        """Store the wiki's size and tell the embedder; the commit stands even if either fails (it converges)."""
        try:
            with transaction(self.db) as db:
                db.execute(
                    update(Wiki).where(Wiki.slug == slug).values(page_count=usage.pages, bytes=usage.bytes)
                )
        except Exception:
            log.exception("could not record the wiki's usage", extra={"wiki": slug})
        try:
            notify_change(self.redis, slug, source="ui", commit=commit, paths=paths)
        except Exception:
            log.exception("could not notify the embedder", extra={"wiki": slug})
