"""Queries over one wiki's index: semantic (FAISS), full text (FTS5 BM25), hybrid (reciprocal-rank fusion).

Results are grouped per page: pages ordered by their best chunk, each with up to ``max_chunks_per_page``
chunks. Scores are per mode: cosine similarity, BM25 (higher is better), or the fused RRF score. ``paths``
narrows a query to some pages before ranking (not after), so ``k`` pages come back whenever ``k`` of them match.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from .encoder import Encoder
from .store import ChunkRow, IndexReader

Mode = Literal["semantic", "fulltext", "hybrid"]
MODES: tuple[Mode, ...] = ("semantic", "fulltext", "hybrid")
RRF_K = 60  # Cormack, Clarke & Büttcher (2009), the usual constant
MAX_TERMS = 32
SNIPPET_CHARS = 240
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class ChunkHit:
    row: ChunkRow
    score: float
    snippet: str


@dataclass(frozen=True)
class PageHit:
    path: str
    page: str
    title: str
    score: float
    chunks: list[ChunkHit]

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "page": self.page,
            "title": self.title,
            "score": round(self.score, 6),
            "chunks": [
                {
                    "section": c.row.section,
                    "text": c.row.text,
                    "snippet": c.snippet,
                    "score": round(c.score, 6),
                    "position": c.row.position,
                }
                for c in self.chunks
            ],
        }


def terms(query: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.casefold()):
        seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def fts_query(query: str) -> str:
    """Free text → an FTS5 expression that cannot be a syntax error: quoted terms joined by OR."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms(query))


def snippet(text: str, words: list[str], width: int = SNIPPET_CHARS) -> str:
    """The window of ``text`` with the most query words (the start if none), on word boundaries."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    best, best_hits = 0, -1
    lowered = flat.casefold()
    step = max(width // 4, 1)
    for start in range(0, max(len(flat) - width, 0) + step, step):
        window = lowered[start : start + width]
        hits = sum(window.count(w) for w in words)
        if hits > best_hits:
            best, best_hits = start, hits
    start = best
    if start > 0:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < start + 30 else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    return ("…" if start > 0 else "") + flat[start:end] + ("…" if end < len(flat) else "")


def search(
    reader: IndexReader,
    encoder: Encoder,
    query: str,
    *,
    mode: Mode = "hybrid",
    k: int = 10,
    max_chunks_per_page: int = 3,
    rrf_k: int = RRF_K,
    paths: Collection[str] | None = None,
) -> list[PageHit]:
    """The best pages for ``query``; with ``paths`` (page files), only among those pages."""
    pool = min(max(k * max_chunks_per_page * 4, 50), 1000)
    words = terms(query)
    match = fts_query(query)
    within = None if paths is None else reader.chunk_ids(paths)
    if within is not None and not within:
        return []
    semantic: list[tuple[int, float]] = []
    fulltext: list[tuple[int, float]] = []
    if mode in ("semantic", "hybrid"):
        semantic = reader.semantic(encoder.encode([query])[0], pool, within)
    if mode in ("fulltext", "hybrid"):
        fulltext = reader.fulltext(match, pool, within)
    if mode == "semantic":
        scored = semantic
    elif mode == "fulltext":
        scored = fulltext
    else:
        scored = fuse([[cid for cid, _ in semantic], [cid for cid, _ in fulltext]], rrf_k)
    rows = reader.chunks(cid for cid, _ in scored)
    pages = group([(rows[cid], score) for cid, score in scored if cid in rows], k, max_chunks_per_page)
    shown = [row.id for _, chunks in pages for row, _ in chunks]
    snippets = reader.snippets(match, shown) if mode != "semantic" else {}
    return [
        PageHit(
            path,
            chunks[0][0].page,
            chunks[0][0].title,
            chunks[0][1],
            [ChunkHit(row, score, snippets.get(row.id) or snippet(row.text, words)) for row, score in chunks],
        )
        for path, chunks in pages
    ]


def fuse(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: score(d) = Σ 1 / (k + rank of d in each ranking), ranks from 1."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def group(
    hits: list[tuple[ChunkRow, float]], k: int, max_chunks_per_page: int
) -> list[tuple[str, list[tuple[ChunkRow, float]]]]:
    """Pages in the order of their best chunk, the first ``k``, each with its best chunks."""
    pages: dict[str, list[tuple[ChunkRow, float]]] = {}
    for row, score in sorted(hits, key=lambda h: -h[1]):
        chunks = pages.setdefault(row.path, [])
        if len(chunks) < max_chunks_per_page:
            chunks.append((row, score))
    return list(pages.items())[:k]
