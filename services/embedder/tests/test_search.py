"""Queries over a real index (``search.py``): a page list narrows every mode before ranking, so ``k`` pages come
back from the allowed ones even when pages outside the list would rank far higher."""

from __future__ import annotations

import pytest

from services.embedder.tests.support import Wikis
from wikibot_embedder.indexer import Indexer
from wikibot_embedder.search import MODES, Mode, search
from wikibot_embedder.store import open_reader

LOUD = "# Otters\n\nOtters swim in rivers; river otters hunt fish and play in the water all day.\n"
QUIET = "# Notes {i}\n\nA short note that mentions an otter once.\n"


@pytest.fixture
def loaded(wikis: Wikis, indexer: Indexer) -> Indexer:
    pages = {f"Loud/Otters {i:02}.md": LOUD.replace("day", f"day {i}") for i in range(30)}
    pages |= {f"Quiet/Note {i:02}.md": QUIET.format(i=i) for i in range(8)}
    wikis.create("notes", pages)
    indexer.sync("notes")
    return indexer


@pytest.mark.parametrize("mode", MODES)
def test_paths_narrow_before_the_k_best_are_taken(loaded: Indexer, mode: Mode) -> None:
    reader = open_reader(loaded.index_dir("notes"))
    assert reader is not None
    query = "otters swimming in rivers"
    everything = search(reader, loaded.encoder, query, mode=mode, k=5)
    assert all(hit.path.startswith("Loud/") for hit in everything)
    quiet = [f"Quiet/Note {i:02}.md" for i in range(8)]
    narrowed = search(reader, loaded.encoder, query, mode=mode, k=5, paths=set(quiet))
    assert len(narrowed) == 5
    assert {hit.path for hit in narrowed} <= set(quiet)
    assert search(reader, loaded.encoder, query, mode=mode, k=5, paths=set()) == []
    assert search(reader, loaded.encoder, query, mode=mode, k=5, paths={"No Such.md"}) == []
    one = search(reader, loaded.encoder, query, mode=mode, k=5, paths={"Loud/Otters 07.md", "No Such.md"})
    assert [hit.path for hit in one] == ["Loud/Otters 07.md"]
