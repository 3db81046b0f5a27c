"""Search benchmark (issue 6): indexing throughput, freshness, query latency, memory, and retrieval quality.

Runs the embedder's real pieces in one process against a real Redis and real git repositories:

1. pipeline vs raw: index a 1,000-page wiki (git → chunk → embed → FAISS + FTS5 → atomic publish) and compare
   its chunks/s with ``Encoder.encode`` alone on a sample of the same chunk texts;
2. query latency p50/p95 per mode on that wiki, and recall@5 per mode on the labelled queries
   (bench/data/search_queries.json; the corpus is the standard library's documentation, bench_search_corpus.py);
3. write-to-searchable p50/p95: commit + change notice → the worker (consumer group) → the page is found;
4. memory with 1,000 wikis indexed and each queried once, with the bounded cache and without a bound.

``BENCH_SEARCH_PAGES`` (default 1000) and ``BENCH_SEARCH_WIKIS`` (default 1000) scale it down for a quick run.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_search_corpus import build_corpus, load_queries  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from tests.support.servers import redis_server  # noqa: E402
from wikibot_embedder.cache import IndexCache  # noqa: E402
from wikibot_embedder.chunking import Chunk  # noqa: E402
from wikibot_embedder.config import EmbedderSettings  # noqa: E402
from wikibot_embedder.encoder import Encoder  # noqa: E402
from wikibot_embedder.indexer import Indexer  # noqa: E402
from wikibot_embedder.search import MODES, search  # noqa: E402
from wikibot_embedder.service import SearchService  # noqa: E402
from wikibot_embedder.store import IndexWriter, open_reader  # noqa: E402
from wikibot_embedder.worker import Worker  # noqa: E402
from wikibot_shared import queue  # noqa: E402
from wikibot_shared.db import make_engine, make_session_factory, transaction  # noqa: E402
from wikibot_shared.locks import repo_lock  # noqa: E402
from wikibot_shared.migrate import upgrade  # noqa: E402
from wikibot_shared.models import User, Wiki  # noqa: E402
from wikibot_shared.storage import Author, git, init_repo, wiki_paths  # noqa: E402

PAGES = int(os.environ.get("BENCH_SEARCH_PAGES", "1000"))
WIKIS = int(os.environ.get("BENCH_SEARCH_WIKIS", "1000"))
WRITES = 20
ROUND = 100  # pages per indexing round
AUTHOR = Author.for_did("did:plc:bench", "bench.example", via="bench")
GIT_ENV = {
    "GIT_AUTHOR_NAME": AUTHOR.name,
    "GIT_AUTHOR_EMAIL": AUTHOR.email,
    "GIT_COMMITTER_NAME": AUTHOR.name,
    "GIT_COMMITTER_EMAIL": AUTHOR.email,
}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def ms(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:7.1f} ms   p95 {pct(values, 95) * 1000:7.1f} ms"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def add_wiki(db: sessionmaker[Session], slug: str) -> None:
    with transaction(db) as session:
        session.add(Wiki(slug=slug, owner_did="did:plc:bench", display_name=slug))


def choose_pages(corpus: dict[str, str], queries: list[dict[str, object]], n: int) -> dict[str, str]:
    """Every page that answers a query, then other pages (deterministic) up to ``n``."""
    answers = sorted({p for q in queries for p in q["pages"] if p in corpus})  # type: ignore[attr-defined]
    rest = [p for p in sorted(corpus) if p not in set(answers)]
    random.Random(6).shuffle(rest)  # noqa: S311 - a fixed, repeatable choice
    chosen = (answers + rest)[:n]
    return {p: corpus[p] for p in chosen}


def main() -> None:
    with redis_server() as redis_url, tempfile.TemporaryDirectory() as tmp:
        settings = EmbedderSettings(
            data_dir=Path(tmp) / "data",
            redis_url=redis_url,
            database_url=f"sqlite:///{tmp}/bench.db",
            worker=False,
            sweep_seconds=3600,
        )
        assert settings.database_url
        upgrade(settings.database_url)
        db = make_session_factory(make_engine(settings.database_url))
        with transaction(db) as session:
            session.add(User(did="did:plc:bench", handle="bench.example", username="bench"))
        client = queue.redis_client(redis_url)
        rss_start = rss_mb()
        started = time.perf_counter()
        encoder = Encoder(max_tokens=settings.max_tokens)
        print(
            f"model: {encoder.model_id}, loaded in {time.perf_counter() - started:.2f}s, cpus {os.cpu_count()}"
        )
        rss_model = rss_mb()
        indexer = Indexer(settings, encoder, db, client)
        service = SearchService(indexer, IndexCache(settings.wikis_dir))

        corpus = build_corpus()
        queries = load_queries(corpus)
        pages = choose_pages(corpus, queries, PAGES)
        print(f"corpus: {len(pages)} pages of {len(corpus)}; {len(queries)} labelled queries")

        # 1. pipeline vs raw encode, interleaved round by round so that machine load hits both alike
        add_wiki(db, "bench")
        paths = list(pages)
        init_repo(settings.wikis_dir, "bench", {p: pages[p] for p in paths[:ROUND]}, AUTHOR, "Import, part 1")
        repo = wiki_paths(settings.wikis_dir, "bench").repo
        encoder.encode(["warm up"] * 8)
        embedded, pipe_s, raw_s = 0, 0.0, 0.0
        ratios: list[float] = []
        token_counts: list[int] = []
        for start in range(0, len(paths), ROUND):
            part = paths[start : start + ROUND]
            if start:
                with repo_lock(settings.wikis_dir, "bench"):
                    for path in part:
                        (repo / path).parent.mkdir(parents=True, exist_ok=True)
                        (repo / path).write_text(pages[path])
                    git(repo, "add", "-A")
                    git(repo, "commit", "-q", "-m", f"Import, part {start // ROUND + 1}", env=GIT_ENV)
            result = indexer.sync("bench")
            reader = open_reader(indexer.index_dir("bench"))
            assert reader is not None
            wanted = set(part)
            rows = [r for r in reader.chunks(range(1, 10**6)).values() if r.path in wanted]
            texts = [Chunk(r.section, r.text, r.position).embed_text for r in rows]
            t0 = time.perf_counter()
            encoder.encode(texts, batch_size=settings.batch_size)
            raw = time.perf_counter() - t0
            embedded += result.embedded
            pipe_s += result.seconds
            raw_s += raw
            ratios.append(raw / result.seconds)
            token_counts += encoder.count_tokens(texts)
        print("\n== indexing throughput (pipeline: git diff → chunk → embed → FAISS + FTS5 → atomic publish)")
        print(f"  {embedded} chunks from {len(paths)} pages, {statistics.mean(token_counts):.0f} tokens avg")
        print(f"  full pipeline  {embedded / pipe_s:6.1f} chunks/s")
        print(f"  raw encode()   {embedded / raw_s:6.1f} chunks/s  (the same texts, same batch size)")
        print(
            f"  pipeline / raw {raw_s / pipe_s * 100:6.1f} %  (rounds of {ROUND} pages, interleaved; "
            f"median round {statistics.median(ratios) * 100:.1f} %; target >= 80%)"
        )

        # 2. query latency and recall@5 per mode
        print(f"\n== queries on the {len(pages)}-page wiki ({result.chunks} chunks)")
        for q in queries[:5]:
            service.search("bench", str(q["query"]), "hybrid", 10, 3)
        for mode in MODES:
            latencies, hits, rr = [], 0, 0.0
            for q in queries:
                t0 = time.perf_counter()
                body = service.search("bench", str(q["query"]), mode, 10, 3)
                latencies.append(time.perf_counter() - t0)
                found = [r["path"] for r in body["results"]]
                answers = set(q["pages"])  # type: ignore[call-overload]
                ranks = [i for i, p in enumerate(found) if p in answers]
                hits += bool(ranks and ranks[0] < 5)
                rr += 1 / (ranks[0] + 1) if ranks else 0.0
            print(
                f"  {mode:<9} {ms(latencies)}   recall@5 {hits / len(queries):.3f}   MRR@10 {rr / len(queries):.3f}"
            )
        fusion_variants(reader, encoder, queries)

        # 3. write-to-searchable through the worker (commit + notice → found)
        queue.ensure_group(client, "embedder")
        worker = Worker(indexer, client, group="embedder", consumer="bench", sweep_seconds=3600)
        worker.last_sweep = time.monotonic()
        stop = threading.Event()
        thread = threading.Thread(target=lambda: [worker.step(block_ms=200) for _ in iter(stop.is_set, True)])
        thread.start()
        delays = []
        try:
            for i in range(WRITES):
                token = f"zebracorn{i}x"
                t0 = time.perf_counter()
                with repo_lock(settings.wikis_dir, "bench"):
                    (repo / f"Fresh/Note {i}.md").parent.mkdir(exist_ok=True)
                    (repo / f"Fresh/Note {i}.md").write_text(
                        f"# Note {i}\n\nThe {token} met the team today.\n"
                    )
                    git(repo, "add", "-A")
                    git(repo, "commit", "-q", "-m", f"note {i}", env=GIT_ENV)
                    head = git(repo, "rev-parse", "HEAD").strip()
                queue.notify_change(
                    client, "bench", source="bench", commit=head, paths=[f"Fresh/Note {i}.md"]
                )
                while True:
                    body = service.search("bench", token, "fulltext", 10, 3)
                    if body["commit"] == head and body["results"]:
                        break
                    time.sleep(0.005)
                delays.append(time.perf_counter() - t0)
        finally:
            stop.set()
            thread.join()
        print(f"\n== write-to-searchable ({WRITES} commits + notices on the {len(pages)}-page wiki)")
        print(f"  {ms(delays)}   (target p95 <= 2 s)")

        # 4. memory with many wikis indexed
        all_rows = list(reader.chunks(range(1, 10**6)).values())
        memory(settings, db, encoder, all_rows, rss_start, rss_model)


def fusion_variants(reader: object, encoder: Encoder, queries: list[dict[str, object]]) -> None:
    """Recall@5 of hybrid fusions we considered (docs/search.md records the choice)."""
    print("  hybrid RRF constant (recall@5):", end="")
    for k in (1, 10, 60, 200):
        hits = 0
        for q in queries:
            hits_ = search(reader, encoder, str(q["query"]), mode="hybrid", k=10, rrf_k=k)  # type: ignore[arg-type]
            found = [h.path for h in hits_[:5]]  # type: ignore[arg-type]
            hits += any(p in q["pages"] for p in found)  # type: ignore[operator]
        print(f"  k={k}: {hits / len(queries):.3f}", end="")
    print()


def memory(
    settings: EmbedderSettings,
    db: sessionmaker[Session],
    encoder: Encoder,
    rows: list[object],
    rss_start: float,
    rss_model: float,
) -> None:
    """WIKIS small wikis (10 chunks each) written through IndexWriter with vectors reused from the big wiki
    (embedding 10,000 chunks again would only measure the encoder twice), then each queried once."""
    vectors_by_text: dict[str, object] = {}
    reader = open_reader(wiki_paths(settings.wikis_dir, "bench").index)
    assert reader is not None
    chunk_rows = rows[: 10 * 50]
    ids = [r.id for r in chunk_rows]  # type: ignore[attr-defined]
    vectors = [reader.vectors.reconstruct(int(i)) for i in ids]
    for row, vector in zip(chunk_rows, vectors, strict=True):
        vectors_by_text[row.text] = vector  # type: ignore[attr-defined]
    import numpy as np

    t0 = time.perf_counter()
    slugs = [f"w{i:04d}" for i in range(WIKIS)]
    with transaction(db) as session:
        session.add_all(Wiki(slug=s, owner_did="did:plc:bench", display_name=s) for s in slugs)
    for n, slug in enumerate(slugs):
        writer = IndexWriter(
            wiki_paths(settings.wikis_dir, slug).index, model=encoder.model_id, dim=encoder.dim
        )
        for j in range(2):
            part = chunk_rows[(n * 10 + j * 5) % len(chunk_rows) :][:5]
            chunks = [Chunk(r.section, r.text, i) for i, r in enumerate(part)]  # type: ignore[attr-defined]
            vecs = np.stack([vectors_by_text[r.text] for r in part])  # type: ignore[attr-defined]
            writer.add_page(f"Page {j}.md", f"blob{n}{j}", f"Page {j}", f"Page {j}", chunks, vecs)
        writer.publish(f"commit{n}")
    build = time.perf_counter() - t0
    disk = sum(f.stat().st_size for f in settings.wikis_dir.glob("w*/index/gen-*/*")) / WIKIS
    indexer = Indexer(settings, encoder, db, queue.redis_client(settings.redis_url))
    print(
        f"\n== memory with {WIKIS} wikis indexed (10 chunks each; written in {build:.1f}s, {disk / 1024:.0f} KiB each on disk)"
    )
    print(f"  process RSS: {rss_start:.0f} MB at start, {rss_model:.0f} MB with the model loaded")
    for label, cache in (
        (
            f"bounded cache ({settings.cache_wikis} hot wikis)",
            IndexCache(settings.wikis_dir, max_wikis=settings.cache_wikis),
        ),
        ("unbounded cache (every wiki hot)", IndexCache(settings.wikis_dir, max_wikis=10 * WIKIS)),
    ):
        service = SearchService(indexer, cache)
        latencies = []
        for slug in slugs:
            t0 = time.perf_counter()
            service.search(slug, "how do I configure it", "hybrid", 5, 2)
            latencies.append(time.perf_counter() - t0)
        stats = cache.stats()
        print(
            f"  {label:<36} RSS {rss_mb():6.0f} MB   {stats['wikis']} loaded   cold-ish query {ms(latencies)}"
        )
        del service, cache


if __name__ == "__main__":
    main()
