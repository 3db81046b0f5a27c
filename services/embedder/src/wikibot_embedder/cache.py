"""Hot indexes in memory, bounded; idle wikis cost only disk.

Each lookup compares the wiki's ``current`` link with the loaded generation (one readlink), so a reader picks
up a new commit's index on its next query. Evicted or replaced readers are dropped, not closed: a query still
running on one finishes with it, and the garbage collector closes it after.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from wikibot_shared.storage import wiki_paths

from .store import IndexReader, current_generation, open_reader


class IndexCache:
    def __init__(self, wikis_dir: Path, *, max_wikis: int = 64, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.wikis_dir = wikis_dir
        self.max_wikis = max_wikis
        self.max_bytes = max_bytes
        self._readers: OrderedDict[str, IndexReader] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0

    def get(self, slug: str) -> IndexReader | None:
        index_dir = wiki_paths(self.wikis_dir, slug).index
        generation = current_generation(index_dir)
        with self._lock:
            reader = self._readers.get(slug)
            if reader is not None and reader.generation == generation:
                self._readers.move_to_end(slug)
                return reader
            self._readers.pop(slug, None)
        if generation is None:
            return None
        reader = open_reader(index_dir)
        if reader is None:
            return None
        with self._lock:
            self.loads += 1
            self._readers[slug] = reader
            self._readers.move_to_end(slug)
            self._evict()
        return reader

    def _evict(self) -> None:
        total = sum(r.nbytes for r in self._readers.values())
        while len(self._readers) > 1 and (len(self._readers) > self.max_wikis or total > self.max_bytes):
            _, oldest = self._readers.popitem(last=False)
            total -= oldest.nbytes

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "wikis": len(self._readers),
                "vector_bytes": sum(r.nbytes for r in self._readers.values()),
                "loads": self.loads,
            }
