"""Hot indexes in memory, bounded; idle wikis cost only disk.

Each lookup compares the wiki's ``current`` link with the loaded generation (one readlink), so a reader picks
up a new commit's index on its next query. Readers are lent (``reading``): one evicted or replaced while a query
runs on it is closed when that query gives it back, any other at once. Closing matters: Python 3.11's SQLite
connection is in a reference cycle with its statement cache, so one merely dropped keeps its file descriptor and
page cache until a full garbage collection — with many wikis searched in turn, memory and descriptors grew by
tens of MB per thousand wikis (bench/bench_wikis.py found it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wikibot_shared.storage import wiki_paths

from .store import IndexReader, current_generation, open_reader


class IndexCache:
    def __init__(self, wikis_dir: Path, *, max_wikis: int = 64, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.wikis_dir = wikis_dir
        self.max_wikis = max_wikis
        self.max_bytes = max_bytes
        self._readers: OrderedDict[str, IndexReader] = OrderedDict()
        self._lent: dict[IndexReader, int] = {}  # reader -> queries running on it
        self._retired: set[IndexReader] = set()  # out of the cache, closed when the last query returns it
        self._lock = threading.Lock()
        self.loads = 0

    @contextmanager
    def reading(self, slug: str) -> Iterator[IndexReader | None]:
        """The wiki's current index, lent for the ``with`` block (None if it has none yet)."""
        reader = self._borrow(slug)
        try:
            yield reader
        finally:
            if reader is not None:
                self._give_back(reader)

    def _borrow(self, slug: str) -> IndexReader | None:
        index_dir = wiki_paths(self.wikis_dir, slug).index
        generation = current_generation(index_dir)
        with self._lock:
            reader = self._readers.get(slug)
            if reader is not None and reader.generation == generation:
                self._readers.move_to_end(slug)
                return self._lend(reader)
            if reader is not None:
                self._retire(self._readers.pop(slug))
        if generation is None:
            return None
        reader = open_reader(index_dir)
        if reader is None:
            return None
        with self._lock:
            self.loads += 1
            previous = self._readers.pop(slug, None)  # another query loaded it meanwhile
            if previous is not None:
                self._retire(previous)
            self._readers[slug] = reader
            self._evict()
            return self._lend(reader)

    def _lend(self, reader: IndexReader) -> IndexReader:
        self._lent[reader] = self._lent.get(reader, 0) + 1
        return reader

    def _give_back(self, reader: IndexReader) -> None:
        with self._lock:
            users = self._lent.pop(reader) - 1
            if users:
                self._lent[reader] = users
            elif reader in self._retired:
                self._retired.remove(reader)
                reader.close()

    def _retire(self, reader: IndexReader) -> None:
        """Out of the cache (the lock is held): closed now, or by the last query running on it."""
        if reader in self._lent:
            self._retired.add(reader)
        else:
            reader.close()

    def _evict(self) -> None:
        total = sum(r.nbytes for r in self._readers.values())
        while len(self._readers) > 1 and (len(self._readers) > self.max_wikis or total > self.max_bytes):
            _, oldest = self._readers.popitem(last=False)
            total -= oldest.nbytes
            self._retire(oldest)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "wikis": len(self._readers),
                "vector_bytes": sum(r.nbytes for r in self._readers.values()),
                "loads": self.loads,
                "open": len(self._readers) + len(self._retired),
            }
