"""One wiki's search index on disk: immutable generations, swapped in atomically.

    $DATA_DIR/wikis/{slug}/index/
        current -> gen-<id>          symlink, replaced with rename(2): readers see the old or the new, never half
        gen-<id>/chunks.db           SQLite: meta, pages (path → git blob), chunks, FTS5 full-text index
        gen-<id>/vectors.faiss       FAISS IndexIDMap2(IndexFlatIP(384)); ids are chunks.id
        .build-<id>/                 a generation being written (copy-on-write of the current one)

A generation is written once and never modified, so a reader can load it without locks while a writer builds
the next one. ``pages.blob`` records which git blob each page's chunks came from: that makes every update
idempotent (a page whose blob matches is skipped), which is how interrupted or repeated work converges.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .chunking import Chunk

CURRENT = "current"
DB_FILE = "chunks.db"
VECTORS_FILE = "vectors.faiss"
GEN_PREFIX = "gen-"
BUILD_PREFIX = ".build-"
SCHEMA_VERSION = "1"

# One query against a wiki-sized flat index is microseconds of work; OpenMP's thread team costs more than
# it saves (measured on 10k vectors: 1 ms with one thread, 24-48 ms with two on a busy 2-core machine).
faiss.omp_set_num_threads(1)

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE pages (path TEXT PRIMARY KEY, blob TEXT NOT NULL, name TEXT NOT NULL, title TEXT NOT NULL);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, section TEXT NOT NULL, position INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX chunks_path ON chunks (path);
CREATE VIRTUAL TABLE fts USING fts5(title, section, text, tokenize='porter unicode61 remove_diacritics 2');
"""


@dataclass(frozen=True)
class Meta:
    commit: str | None
    model: str | None
    chunks: int
    generation: str


@dataclass(frozen=True)
class ChunkRow:
    id: int
    path: str
    page: str
    title: str
    section: str
    position: int
    text: str


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_generation(index_dir: Path) -> str | None:
    try:
        return os.readlink(index_dir / CURRENT)
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_meta(index_dir: Path) -> Meta | None:
    """The current generation's meta, or None when the wiki has no index yet."""
    generation = current_generation(index_dir)
    if generation is None:
        return None
    try:
        conn = _connect_ro(index_dir / generation / DB_FILE)
    except sqlite3.Error:
        return None
    try:
        return _meta(conn, generation)
    finally:
        conn.close()


def _connect_ro(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise sqlite3.OperationalError(f"no index file {path}")
    # immutable=1: the file never changes once published, so SQLite needs no locks or journal beside it.
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)


def _meta(conn: sqlite3.Connection, generation: str) -> Meta:
    values = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    return Meta(
        commit=values.get("commit") or None,
        model=values.get("model") or None,
        chunks=int(values.get("chunks", "0")),
        generation=generation,
    )


class IndexReader:
    """A loaded generation: vectors in memory, chunks and full text in its (immutable) SQLite file."""

    def __init__(self, index_dir: Path, generation: str) -> None:
        folder = index_dir / generation
        self.generation = generation
        self._conn = _connect_ro(folder / DB_FILE)
        self._lock = threading.Lock()
        try:
            self.meta = _meta(self._conn, generation)
            self.vectors = faiss.read_index(str(folder / VECTORS_FILE))
        except BaseException:
            self._conn.close()  # not left to the garbage collector (cache.py says why)
            raise
        self.nbytes = int(self.vectors.ntotal) * int(self.vectors.d) * 4

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def semantic(
        self, vector: np.ndarray, n: int, within: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the ``n`` nearest chunks, best first; ``within``: only among these chunk ids."""
        total = int(self.vectors.ntotal) if within is None else len(within)
        if total == 0 or n <= 0:
            return []
        params = selector = None
        if within is not None:
            # IndexIDMap2 translates the selector to its internal ids, so the n nearest are all allowed ones.
            # ``selector`` stays referenced here: the parameters hold a bare pointer to it.
            selector = faiss.IDSelectorBatch(np.asarray(within, dtype=np.int64))
            params = faiss.SearchParameters()
            params.sel = selector
        scores, ids = self.vectors.search(
            vector.reshape(1, -1).astype(np.float32), min(n, total), params=params
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def fulltext(self, match: str, n: int, within: Sequence[int] | None = None) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better) for an FTS5 MATCH expression, best first; ``within``: only
        among these chunk ids."""
        if not match or n <= 0 or (within is not None and not within):
            return []
        # Weights: title 2, section 1.5, text 1. No snippet() here: SQLite would compute it for every match.
        sql = "SELECT rowid, -bm25(fts, 2.0, 1.5, 1.0) AS score FROM fts WHERE fts MATCH ?"
        args: tuple[object, ...] = (match,)
        if within is not None:
            sql += " AND rowid IN (SELECT value FROM json_each(?))"
            args += (json.dumps(list(within)),)
        sql += " ORDER BY score DESC LIMIT ?"
        args += (n,)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def chunk_ids(self, paths: Iterable[str]) -> list[int]:
        """The ids of every chunk of these pages (files, e.g. ``Team/Setup.md``); unknown paths have none."""
        sql = "SELECT id FROM chunks WHERE path IN (SELECT value FROM json_each(?)) ORDER BY id"
        with self._lock:
            rows = self._conn.execute(sql, (json.dumps(list(paths)),)).fetchall()
        return [int(r[0]) for r in rows]

    def snippets(self, match: str, ids: Iterable[int]) -> dict[int, str]:
        """FTS5 snippets (matches in ``**``) of the given chunks, for those that match."""
        ids = list(ids)
        if not match or not ids:
            return {}
        sql = (
            "SELECT rowid, snippet(fts, 2, '**', '**', '…', 24) FROM fts "
            "WHERE fts MATCH ? AND rowid IN (SELECT value FROM json_each(?))"
        )
        with self._lock:
            rows = self._conn.execute(sql, (match, json.dumps(ids))).fetchall()
        return {int(r[0]): str(r[1]) for r in rows}

    def chunks(self, ids: Iterable[int]) -> dict[int, ChunkRow]:
        ids = list(ids)
        if not ids:
            return {}
        sql = (
            "SELECT c.id, c.path, p.name, p.title, c.section, c.position, c.text FROM chunks c "
            "JOIN pages p ON p.path = c.path WHERE c.id IN (SELECT value FROM json_each(?))"
        )
        with self._lock:
            rows = self._conn.execute(sql, (json.dumps(ids),)).fetchall()
        return {int(r[0]): ChunkRow(int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), r[6]) for r in rows}


def open_reader(index_dir: Path, attempts: int = 3) -> IndexReader | None:
    """Load the current generation; retries if a writer swapped and collected it in between."""
    for _ in range(attempts):
        generation = current_generation(index_dir)
        if generation is None:
            return None
        try:
            return IndexReader(index_dir, generation)
        except (sqlite3.Error, RuntimeError, OSError):
            if current_generation(index_dir) == generation:
                raise
    return None


class IndexWriter:
    """Builds the next generation from the current one. Only one writer per wiki (the caller holds its lock)."""

    def __init__(self, index_dir: Path, *, model: str, dim: int, fresh: bool = False) -> None:
        self.index_dir = index_dir
        self.model = model
        index_dir.mkdir(parents=True, exist_ok=True)
        self._collect_builds()
        self.name = uuid.uuid4().hex[:12]
        self.folder = index_dir / f"{BUILD_PREFIX}{self.name}"
        self.folder.mkdir()
        base = None if fresh else current_generation(index_dir)
        base_meta = read_meta(index_dir) if base else None
        if base_meta is not None and base_meta.model != model:
            base = None  # never mix vectors of two models or runtimes in one index
        if base is not None:
            shutil.copyfile(index_dir / base / DB_FILE, self.folder / DB_FILE)
            self.vectors = faiss.read_index(str(index_dir / base / VECTORS_FILE))
        else:
            self.vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.conn = sqlite3.connect(self.folder / DB_FILE, check_same_thread=False)
        if base is None:
            self.conn.executescript(_SCHEMA)
            self._set(schema=SCHEMA_VERSION, model=model, commit="", chunks="0", next_id="1")
            self.conn.commit()
        self.base_commit = base_meta.commit if base is not None and base_meta else None

    def _set(self, **values: str) -> None:
        self.conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items()))

    def _get(self, key: str) -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else ""

    def pages(self) -> dict[str, str]:
        """path → git blob of every indexed page."""
        return dict(self.conn.execute("SELECT path, blob FROM pages").fetchall())

    def remove_page(self, path: str) -> int:
        ids = [r[0] for r in self.conn.execute("SELECT id FROM chunks WHERE path = ?", (path,))]
        if ids:
            self.vectors.remove_ids(np.array(ids, dtype=np.int64))  # type: ignore[arg-type]
            self.conn.executemany("DELETE FROM fts WHERE rowid = ?", [(i,) for i in ids])
            self.conn.execute("DELETE FROM chunks WHERE path = ?", (path,))
        self.conn.execute("DELETE FROM pages WHERE path = ?", (path,))
        return len(ids)

    def add_page(
        self, path: str, blob: str, name: str, title: str, chunks: Sequence[Chunk], vectors: np.ndarray
    ) -> None:
        self.remove_page(path)
        first = int(self._get("next_id") or "1")
        ids = np.arange(first, first + len(chunks), dtype=np.int64)
        self.conn.execute(
            "INSERT INTO pages (path, blob, name, title) VALUES (?, ?, ?, ?)", (path, blob, name, title)
        )
        self.conn.executemany(
            "INSERT INTO chunks (id, path, section, position, text) VALUES (?, ?, ?, ?, ?)",
            [(int(i), path, c.section, c.position, c.text) for i, c in zip(ids, chunks, strict=True)],
        )
        self.conn.executemany(
            "INSERT INTO fts (rowid, title, section, text) VALUES (?, ?, ?, ?)",
            [(int(i), title, c.section, c.text) for i, c in zip(ids, chunks, strict=True)],
        )
        if len(chunks):
            self.vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._set(next_id=str(first + len(chunks)))

    def publish(self, commit: str | None) -> Meta:
        """Write the generation, make it current with one rename, and collect older generations."""
        count = int(self.vectors.ntotal)
        self._set(commit=commit or "", chunks=str(count), published_at=f"{time.time():.3f}")
        self.conn.commit()
        self.conn.close()
        faiss.write_index(self.vectors, str(self.folder / VECTORS_FILE))
        for name in (DB_FILE, VECTORS_FILE):
            with open(self.folder / name, "rb+") as fh:
                os.fsync(fh.fileno())
        generation = f"{GEN_PREFIX}{self.name}"
        os.rename(self.folder, self.index_dir / generation)
        link = self.index_dir / f".{CURRENT}-{self.name}"
        os.symlink(generation, link)
        previous = current_generation(self.index_dir)
        os.replace(link, self.index_dir / CURRENT)  # atomic: POSIX rename(2)
        _fsync_dir(self.index_dir)
        self._collect_generations(keep={generation, previous or ""})
        return Meta(commit=commit, model=self.model, chunks=count, generation=generation)

    def abort(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _collect_builds(self) -> None:
        for child in self.index_dir.glob(f"{BUILD_PREFIX}*"):
            shutil.rmtree(child, ignore_errors=True)  # left by a writer that died (we hold the wiki's lock)

    def _collect_generations(self, keep: set[str]) -> None:
        # The previous generation stays one round, for readers that resolved the link just before the swap.
        for child in self.index_dir.glob(f"{GEN_PREFIX}*"):
            if child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
        for child in self.index_dir.glob(f".{CURRENT}-*"):
            child.unlink(missing_ok=True)
