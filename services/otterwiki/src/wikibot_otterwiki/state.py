"""Everything Otterwiki needs for one wiki, built once per worker process and kept in a bounded LRU.

A ``WikiState`` holds the wiki's ``GitStorage`` (its git handle and commit-metadata cache), the engine of its
own Otterwiki settings database (``wikis/{slug}/otterwiki.db``: preferences, drafts, Otterwiki's page-TOC
cache) and its configuration overlay. Serving the same wiki again costs a dictionary lookup and one ``stat`` of
the settings stamp (another worker may have saved preferences); the platform's ACL check stays live per request.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, Table, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from wikibot_shared.db import make_engine
from wikibot_shared.errors import NotFound
from wikibot_shared.storage import wiki_paths

from . import prefs

log = logging.getLogger("wikibot.otterwiki.state")

SETTINGS_DB = "otterwiki.db"
SETTINGS_STAMP = "otterwiki.stamp"


def _stamp_of(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0


@dataclass
class WikiState:
    slug: str
    root: Path
    storage: Any  # TenantStorage (otterwiki.gitstorage.GitStorage)
    engine: Engine
    secret_key: str
    prefs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    stamp: int = 0
    live: tuple[str, bool, int] | None = None

    @property
    def stamp_path(self) -> Path:
        return self.root / SETTINGS_STAMP

    def close(self) -> None:
        try:
            self.storage.repo.close()
        finally:
            self.engine.dispose()


class WikiStates:
    """Per-process LRU of ``WikiState`` by slug, at most ``capacity`` wikis (each holds a git handle and an
    SQLite connection); the least recently served wiki is closed when a new one needs room."""

    def __init__(
        self,
        wikis_dir: Path,
        *,
        capacity: int,
        storage_factory: Callable[[str], Any],
        preferences_table: Callable[[], Table],
        metadata: Callable[[], MetaData],
        master_secret: bytes,
        fixed_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.wikis_dir = Path(wikis_dir)
        self.capacity = capacity
        self._storage_factory = storage_factory
        self._preferences = preferences_table
        self._metadata = metadata
        self._master = master_secret
        self._fixed = dict(fixed_config or {})
        self._states: OrderedDict[str, WikiState] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0  # how many states were built (tests and the benchmark read it)

    def __len__(self) -> int:
        return len(self._states)

    def get(self, slug: str) -> WikiState:
        with self._lock:
            state = self._states.get(slug)
            if state is not None:
                self._states.move_to_end(slug)
            else:
                state = self._build(slug)
                self._states[slug] = state
                while len(self._states) > self.capacity:
                    _, old = self._states.popitem(last=False)
                    old.close()
        if _stamp_of(state.stamp_path) != state.stamp:
            self.reload_preferences(state)
        return state

    def cached(self) -> list[str]:
        """Slugs held now, least recently served first."""
        with self._lock:
            return list(self._states)

    def peek(self, slug: str) -> WikiState | None:
        with self._lock:
            return self._states.get(slug)

    def forget(self, slug: str) -> None:
        with self._lock:
            state = self._states.pop(slug, None)
        if state is not None:
            state.close()

    def clear(self) -> None:
        with self._lock:
            states, self._states = list(self._states.values()), OrderedDict()
        for state in states:
            state.close()

    # -- building ----------------------------------------------------------------------------------------
    def _build(self, slug: str) -> WikiState:
        paths = wiki_paths(self.wikis_dir, slug)
        if not (paths.repo / ".git").is_dir():
            raise NotFound(f"the wiki '{slug}' has no repository yet", code="wiki_not_ready")
        storage = self._storage_factory(str(paths.repo))
        engine = make_engine(f"sqlite:///{paths.root / SETTINGS_DB}", pool_size=1, max_overflow=4)
        try:
            self._prepare_database(engine)
        except BaseException:
            engine.dispose()
            storage.repo.close()
            raise
        self.builds += 1
        state = WikiState(
            slug=slug,
            root=paths.root,
            storage=storage,
            engine=engine,
            secret_key=prefs.wiki_secret(self._master, slug),
        )
        self.reload_preferences(state)
        return state

    def _prepare_database(self, engine: Engine) -> None:
        """Create Otterwiki's tables and seed a new wiki's preferences (workers may race: both are idempotent)."""
        for attempt in (1, 2):
            try:
                self._metadata().create_all(engine)
                break
            except OperationalError:
                if attempt == 2:
                    raise
        table = self._preferences()
        with engine.begin() as conn:
            if conn.execute(select(table.c.name).limit(1)).first() is not None:
                return
        try:
            with engine.begin() as conn:
                conn.execute(insert(table), [{"name": k, "value": v} for k, v in prefs.SEED.items()])
        except IntegrityError:
            pass  # another worker seeded it first

    def reload_preferences(self, state: WikiState) -> None:
        stamp = _stamp_of(state.stamp_path)
        table = self._preferences()
        with state.engine.connect() as conn:
            rows = {name: value for name, value in conn.execute(select(table.c.name, table.c.value))}
        state.prefs = prefs.owner_preferences(rows)
        name, public, upload = state.live or (state.slug, False, 0)  # keep the platform's live values
        state.config = prefs.overlay(
            state.prefs, secret_key=state.secret_key, site_name=name, is_public=public, max_upload=upload
        )
        state.config.update(self._fixed)
        state.stamp = stamp
        log.debug("loaded preferences", extra={"wiki": state.slug})

    def touch(self, state: WikiState) -> None:
        """Tell every worker that this wiki's preferences changed (they compare the stamp per request)."""
        path = state.stamp_path
        path.write_text(str(os.getpid()))
        os.utime(path)
        self.reload_preferences(state)
