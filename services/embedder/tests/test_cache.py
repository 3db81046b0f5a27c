"""The bounded index cache: evicted and replaced readers are closed (their SQLite files and descriptors freed at
once, not at the next full garbage collection), and a reader in use when it is evicted keeps working until the
query gives it back."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.embedder.tests.support import Wikis
from wikibot_embedder.cache import IndexCache
from wikibot_embedder.config import EmbedderSettings
from wikibot_embedder.indexer import Indexer
from wikibot_embedder.service import SearchService
from wikibot_embedder.store import DB_FILE

WIKIS = 12
HOT = 3


def open_index_files(wikis_dir: Path) -> int:
    """Descriptors this process holds on index databases under ``wikis_dir``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(wikis_dir)) and target.endswith(DB_FILE)
    return count


@pytest.fixture
def no_gc() -> Iterator[None]:
    """The cyclic collector off: what is freed must be freed by the code, not by a lucky collection."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.fixture
def indexed(wikis: Wikis, indexer: Indexer) -> list[str]:
    slugs = [f"w{i:02d}" for i in range(WIKIS)]
    for slug in slugs:
        wikis.create(slug, {"Runbook.md": f"# Runbook\n\nRoll back deploy {slug} by restoring the backup.\n"})
        indexer.sync(slug)
    return slugs


def test_many_wikis_searched_in_turn_keep_only_the_hot_ones_open(
    indexed: list[str], indexer: Indexer, settings: EmbedderSettings, no_gc: None
) -> None:
    cache = IndexCache(settings.wikis_dir, max_wikis=HOT)
    service = SearchService(indexer, cache)
    for slug in indexed * 2:
        results = service.search(slug, "roll back a deploy", "hybrid", 3, 1)["results"]
        assert [r["path"] for r in results] == ["Runbook.md"]
        assert open_index_files(settings.wikis_dir) <= HOT
    stats = cache.stats()
    assert (stats["wikis"], stats["loads"], stats["open"]) == (HOT, 2 * WIKIS, HOT)


def test_a_reader_evicted_while_lent_is_closed_when_given_back(
    indexed: list[str], settings: EmbedderSettings, no_gc: None
) -> None:
    cache = IndexCache(settings.wikis_dir, max_wikis=1)
    with cache.reading(indexed[0]) as first:
        assert first is not None
        with cache.reading(indexed[1]) as second:  # evicts the first while it is in use
            assert second is not None
            assert cache.stats()["open"] == 2
            assert first.fulltext('"backup"', 3)  # still answers
        assert first.chunk_ids(["Runbook.md"])
        assert open_index_files(settings.wikis_dir) == 2
    assert cache.stats()["open"] == 1
    assert open_index_files(settings.wikis_dir) == 1
    with cache.reading(indexed[1]) as again:
        assert again is second  # still hot, the same reader


def test_a_new_generation_replaces_and_closes_the_old_reader(
    wikis: Wikis, indexer: Indexer, settings: EmbedderSettings, no_gc: None
) -> None:
    wikis.create("notes", {"A.md": "# A\n\nalpha text\n"})
    indexer.sync("notes")
    cache = IndexCache(settings.wikis_dir)
    with cache.reading("notes") as old:
        assert old is not None
    wikis.commit("notes", {"B.md": "# B\n\nbeta text\n"})
    indexer.sync("notes")
    with cache.reading("notes") as new:
        assert new is not None
        assert new is not old
        assert new.chunk_ids(["B.md"])
    assert cache.stats()["open"] == 1
    assert open_index_files(settings.wikis_dir) == 1
