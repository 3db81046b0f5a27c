"""Bring one wiki's index to the repository's HEAD (ARCHITECTURE §6: the index is a function of a commit).

    base  = the commit the current index generation was built from (its own meta; index_state mirrors it)
    paths = git diff base..HEAD            (renames are a delete and an add)
          | every page at HEAD ∪ every indexed page   (no index yet, base object gone, model changed, --full)
    for each path: remove it if HEAD has no such page; re-chunk and re-embed it if its blob differs

Each step is idempotent (a page whose indexed blob equals HEAD's is skipped), so a lost notice, a crash in
the middle, a multi-commit or force push, or a restored backup all converge on the next run. Large jobs
publish checkpoints (still labelled with the old base) so a restart resumes instead of starting over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared.db import transaction
from wikibot_shared.models import IndexState, Wiki
from wikibot_shared.storage import wiki_paths

from . import gitsource, metrics
from .chunking import VERSION as CHUNKING_VERSION
from .chunking import ChunkConfig, Page, chunk_page
from .config import EmbedderSettings
from .encoder import Encoder
from .store import IndexWriter, Meta, read_meta
from .wikilock import WikiLock

log = logging.getLogger("wikibot.embedder.indexer")

Progress = Callable[[int, int], None]  # (pages done, pages to do)


class Busy(Exception):
    """Another replica holds this wiki's lock; try again later."""


class MissingRepo(Exception):
    """The wiki has no repository on the data volume (being created, or deleted)."""


class LockLost(Exception):
    """Our lock expired while we worked: another replica may be writing; our build is dropped."""


@dataclass
class SyncResult:
    wiki: str
    commit: str | None
    previous: str | None
    indexed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    full: bool = False
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return self.commit != self.previous or bool(self.indexed or self.removed)


class Indexer:
    def __init__(
        self,
        settings: EmbedderSettings,
        encoder: Encoder,
        db: sessionmaker[Session],
        client: redis.Redis,
    ) -> None:
        self.settings = settings
        self.encoder = encoder
        self.db = db
        self.redis = client
        self.chunking = ChunkConfig(
            max_tokens=encoder.max_tokens,
            target=settings.chunk_tokens,
            overlap=settings.chunk_overlap,
            min_tokens=settings.chunk_min_tokens,
        )

    @property
    def model_id(self) -> str:
        """What an index is built with: vectors of another model, runtime or chunking are never mixed."""
        return f"{self.encoder.model_id}/chunking{CHUNKING_VERSION}"

    def index_dir(self, slug: str) -> Path:
        return wiki_paths(self.settings.wikis_dir, slug).index

    def repo_dir(self, slug: str) -> Path:
        return wiki_paths(self.settings.wikis_dir, slug).repo

    def known(self, slug: str) -> bool:
        with self.db() as session:
            return session.get(Wiki, slug) is not None

    def all_wikis(self) -> list[str]:
        with self.db() as session:
            return list(session.scalars(select(Wiki.slug).order_by(Wiki.slug)))

    def sync(self, slug: str, *, full: bool = False, progress: Progress | None = None) -> SyncResult:
        """Index ``slug`` up to HEAD. Raises ``Busy`` if another replica is writing it right now."""
        lock = WikiLock(self.redis, slug, ttl_ms=self.settings.lock_ttl_ms)
        if not lock.acquire():
            raise Busy(slug)
        try:
            result = self._sync(slug, lock, full=full, progress=progress)
        except Exception as exc:
            self._record_error(slug, exc)
            raise
        finally:
            lock.release()
        return result

    def _sync(self, slug: str, lock: WikiLock, *, full: bool, progress: Progress | None) -> SyncResult:
        started = time.perf_counter()
        repo, index_dir = self.repo_dir(slug), self.index_dir(slug)
        if not repo.is_dir():
            raise MissingRepo(slug)
        head = gitsource.head(repo)
        meta = read_meta(index_dir)
        previous = meta.commit if meta else None
        current_model = meta is not None and meta.model == self.model_id
        if not full and current_model and meta is not None and meta.commit == head:
            self._record(slug, meta)
            return SyncResult(slug, head, previous, chunks=meta.chunks, seconds=time.perf_counter() - started)

        writer = IndexWriter(index_dir, model=self.model_id, dim=self.encoder.dim, fresh=full)
        self._writer = writer
        result = SyncResult(slug, head, previous, full=full or writer.base_commit is None)
        try:
            target = gitsource.pages_at(repo, head) if head else {}
            indexed = writer.pages()
            base = writer.base_commit
            if not full and base and head and gitsource.has_commit(repo, base):
                candidates = gitsource.changed_paths(repo, base, head)
            else:
                result.full = True
                candidates = set(target) | set(indexed)
            result.removed = sorted(p for p in candidates if p in indexed and p not in target)
            todo = sorted(p for p in candidates if p in target and indexed.get(p) != target[p])
            for path in result.removed:
                writer.remove_page(path)
            # A forced rebuild over a good index publishes once, at the end: readers keep the old one meanwhile.
            checkpoints = not (full and current_model)
            writer = self._embed_pages(
                slug, writer, repo, {p: target[p] for p in todo}, result, lock, progress, checkpoints
            )
            if not lock.check():
                raise LockLost(slug)
            meta = writer.publish(head)
        except BaseException:
            self._writer.abort()  # the build in progress (a checkpoint may have replaced ``writer``)
            raise
        result.chunks = meta.chunks
        result.seconds = time.perf_counter() - started
        self._record(slug, meta)
        log.info(
            "indexed",
            extra={
                "wiki": slug,
                "commit": head,
                "pages": len(result.indexed),
                "removed": len(result.removed),
                "embedded": result.embedded,
                "seconds": round(result.seconds, 3),
            },
        )
        return result

    def _embed_pages(
        self,
        slug: str,
        writer: IndexWriter,
        repo: Path,
        todo: dict[str, str],
        result: SyncResult,
        lock: WikiLock,
        progress: Progress | None,
        checkpoints: bool,
    ) -> IndexWriter:
        """Chunk and embed pages in batches across pages; publish a checkpoint every so many chunks."""
        paths = list(todo)
        since_checkpoint = 0
        done = 0
        group = self.settings.batch_size * 4  # chunks embedded together, across pages
        if progress:
            progress(0, len(paths))
        while done < len(paths):
            pages: list[tuple[Page, str]] = []
            chunk_count = 0
            texts = gitsource.read_blobs(repo, [todo[p] for p in paths[done : done + 256]])
            while done < len(paths) and chunk_count < group and len(pages) < 256:
                path = paths[done]
                done += 1
                text = texts.get(todo[path])
                if text is None:
                    writer.remove_page(path)
                    continue
                page = chunk_page(path, text, self.encoder, self.chunking)
                pages.append((page, todo[path]))
                chunk_count += len(page.chunks)
            encode_started = time.perf_counter()
            vectors = self.encoder.encode(
                [c.embed_text for page, _ in pages for c in page.chunks], batch_size=self.settings.batch_size
            )
            metrics.EMBED_SECONDS.inc(time.perf_counter() - encode_started)
            metrics.CHUNKS_EMBEDDED.inc(chunk_count)
            offset = 0
            for page, blob in pages:
                n = len(page.chunks)
                writer.add_page(
                    page.path, blob, page.name, page.title, page.chunks, vectors[offset : offset + n]
                )
                offset += n
                result.indexed.append(page.path)
            result.embedded += chunk_count
            since_checkpoint += chunk_count
            if progress:
                progress(done, len(paths))
            if checkpoints and since_checkpoint >= self.settings.checkpoint_chunks and done < len(paths):
                if not lock.check():
                    raise LockLost(slug)
                self._record(slug, writer.publish(writer.base_commit))  # progress survives a crash
                writer = IndexWriter(self.index_dir(slug), model=self.model_id, dim=self.encoder.dim)
                self._writer = writer
                since_checkpoint = 0
        return writer

    def _record(self, slug: str, meta: Meta) -> None:
        """Mirror the index's own state into index_state (what status pages and other services read)."""
        with transaction(self.db) as session:
            if session.get(Wiki, slug) is None:
                return
            state = session.get(IndexState, slug) or IndexState(wiki_slug=slug)
            same = (state.last_commit, state.chunk_count, state.model, state.error)
            if same == (meta.commit, meta.chunks, meta.model, None) and state.indexed_at is not None:
                return  # the periodic sweep finds most wikis unchanged: no write then
            state.last_commit = meta.commit
            state.indexed_at = datetime.now(UTC)
            state.chunk_count = meta.chunks
            state.model = meta.model
            state.error = None
            session.add(state)

    def _record_error(self, slug: str, exc: BaseException) -> None:
        if isinstance(exc, LockLost | Busy | MissingRepo):
            return
        try:
            with transaction(self.db) as session:
                if session.get(Wiki, slug) is None:
                    return
                state = session.get(IndexState, slug) or IndexState(wiki_slug=slug)
                state.error = f"{type(exc).__name__}: {str(exc)[:500]}"
                session.add(state)
        except Exception:  # recording an error must not hide the error itself
            log.exception("could not record the index error", extra={"wiki": slug})
