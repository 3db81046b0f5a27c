"""What the internal API does, without the web framework: search, status and reindex requests for a wiki."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wikibot_shared.errors import InputError, NotFound
from wikibot_shared.tenant import SLUG_RE

from . import gitsource
from .cache import IndexCache
from .indexer import Indexer
from .search import Mode, search
from .store import read_meta
from .worker import request_reindex

MAX_QUERY_CHARS = 2000
MAX_PATHS = 100_000  # the largest default tier's pages per wiki
MAX_PATH_CHARS = 4096
KICK_KEY = "wikibot:embedder:kick:{slug}"


@dataclass
class SearchService:
    indexer: Indexer
    cache: IndexCache

    def _wiki(self, slug: str) -> str:
        if not SLUG_RE.match(slug) or not self.indexer.known(slug):
            raise NotFound(f"there is no wiki '{slug[:80]}'", code="unknown_wiki")
        return slug

    def search(
        self,
        wiki: str,
        query: str,
        mode: Mode,
        k: int,
        max_chunks_per_page: int,
        paths: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """``paths``: only these pages (files, e.g. ``Team/Setup.md``); an empty list matches nothing."""
        slug = self._wiki(wiki)
        if not query.strip():
            raise InputError("query: must not be empty")
        if len(query) > MAX_QUERY_CHARS:
            raise InputError(f"query: at most {MAX_QUERY_CHARS} characters")
        with self.cache.reading(slug) as reader:
            if reader is None:
                # Not indexed yet (its notice may be queued, or lost): ask the worker, at most every 30 s.
                if self.indexer.redis.set(KICK_KEY.format(slug=slug), "1", nx=True, ex=30):
                    request_reindex(self.indexer.redis, slug)
                return {"wiki": slug, "mode": mode, "commit": None, "results": []}
            hits = search(
                reader,
                self.indexer.encoder,
                query,
                mode=mode,
                k=k,
                max_chunks_per_page=max_chunks_per_page,
                paths=None if paths is None else set(paths),
            )
            return {
                "wiki": slug,
                "mode": mode,
                "commit": reader.meta.commit,
                "results": [hit.to_dict() for hit in hits],
            }

    def status(self, wiki: str) -> dict[str, Any]:
        slug = self._wiki(wiki)
        meta = read_meta(self.indexer.index_dir(slug))
        repo = self.indexer.repo_dir(slug)
        head = gitsource.head(repo) if repo.is_dir() else None
        indexed = meta.commit if meta else None
        return {
            "wiki": slug,
            "indexed_commit": indexed,
            "head_commit": head,
            "chunks": meta.chunks if meta else 0,
            "lag_commits": lag(repo, indexed, head),
            "model": meta.model if meta else None,
        }

    def reindex(self, wiki: str, *, full: bool = False) -> dict[str, Any]:
        slug = self._wiki(wiki)
        notice = request_reindex(self.indexer.redis, slug, full=full)
        return {"wiki": slug, "status": "queued", "full": full, "notice": notice}


def lag(repo: Any, indexed: str | None, head: str | None) -> int | None:
    """Commits on HEAD that the index has not seen (None when it cannot tell: history rewritten and pruned)."""
    if head is None or indexed == head:
        return 0
    return gitsource.commits_between(repo, head, indexed)
