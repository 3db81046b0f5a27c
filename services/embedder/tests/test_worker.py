"""The worker: change notices through a real Redis consumer group, the sweep, and replicas racing on a wiki."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis

from services.embedder.tests.support import Wikis
from tests.support.servers import free_port, start_redis
from wikibot_embedder.cache import IndexCache
from wikibot_embedder.config import EmbedderSettings
from wikibot_embedder.indexer import Indexer
from wikibot_embedder.service import SearchService
from wikibot_embedder.store import open_reader, read_meta
from wikibot_embedder.worker import Worker, request_reindex
from wikibot_shared import queue


def make_worker(indexer: Indexer, client: redis.Redis, name: str = "w1") -> Worker:
    return Worker(indexer, client, group="embedder", consumer=name, sweep_seconds=3600, claim_idle_ms=1000)


def found(service: SearchService, slug: str, query: str) -> list[str]:
    return [r["path"] for r in service.search(slug, query, "fulltext", 10, 3)["results"]]


@pytest.fixture
def service(indexer: Indexer, settings: EmbedderSettings) -> SearchService:
    return SearchService(indexer, IndexCache(settings.wikis_dir))


def test_notice_makes_a_commit_searchable(
    wikis: Wikis, indexer: Indexer, redis_client: redis.Redis, service: SearchService
) -> None:
    wikis.create("notes")
    worker = make_worker(indexer, redis_client)
    worker.last_sweep = time.monotonic()
    queue.ensure_group(redis_client, "embedder")
    head = wikis.commit("notes", {"Bees.md": "Beekeeping: inspect the hive every week in spring."})
    queue.notify_change(redis_client, "notes", source="mcp", commit=head, paths=["Bees.md"])
    assert worker.step(block_ms=100) == ["notes"]
    assert found(service, "notes", "beekeeping hive") == ["Bees.md"]
    assert queue.pending_count(redis_client, "embedder") == 0  # acknowledged


def test_duplicate_notices_sync_once(wikis: Wikis, indexer: Indexer, redis_client: redis.Redis) -> None:
    wikis.create("notes")
    worker = make_worker(indexer, redis_client)
    worker.last_sweep = time.monotonic()
    queue.ensure_group(redis_client, "embedder")
    for _ in range(5):
        queue.notify_change(redis_client, "notes", source="ui")
    assert worker.step(block_ms=100) == ["notes"]


def test_sweep_catches_a_lost_notice(wikis: Wikis, indexer: Indexer, redis_client: redis.Redis) -> None:
    wikis.create("notes")
    wikis.create("other")
    worker = make_worker(indexer, redis_client)
    assert sorted(worker.sweep()) == ["notes", "other"]  # never indexed
    head = wikis.commit("other", {"X.md": "pushed while nobody listened"})  # and no notice sent
    assert worker.sweep() == ["other"]
    assert read_meta(indexer.index_dir("other")).commit == head  # type: ignore[union-attr]
    assert worker.sweep() == []


def test_unacknowledged_notices_are_handled_after_a_restart(
    wikis: Wikis, indexer: Indexer, redis_client: redis.Redis
) -> None:
    wikis.create("notes")
    queue.ensure_group(redis_client, "embedder")
    head = wikis.commit("notes", {"A.md": "text"})
    queue.notify_change(redis_client, "notes", source="git", commit=head)
    # A replica read the notice and died before acknowledging it.
    assert queue.read_notices(redis_client, "embedder", "w1", block_ms=100)
    assert queue.pending_count(redis_client, "embedder") == 1
    restarted = make_worker(indexer, redis_client, "w1")
    restarted._drain_own_pending()
    assert read_meta(indexer.index_dir("notes")).commit == head  # type: ignore[union-attr]
    assert queue.pending_count(redis_client, "embedder") == 0


def test_a_dead_replicas_notices_are_claimed(
    wikis: Wikis, indexer: Indexer, redis_client: redis.Redis
) -> None:
    wikis.create("notes")
    queue.ensure_group(redis_client, "embedder")
    head = wikis.commit("notes", {"A.md": "text"})
    queue.notify_change(redis_client, "notes", source="git", commit=head)
    read = queue.read_notices(redis_client, "embedder", "dead", block_ms=100)
    assert read
    survivor = make_worker(indexer, redis_client, "alive")
    survivor.last_sweep = time.monotonic()
    # The dead replica read it longer ago than claim_idle_ms=1000: XCLAIM … IDLE sets the entry's idle time (it
    # stays the dead replica's, its delivery count untouched with JUSTID) instead of the test waiting a second.
    redis_client.xclaim(queue.STREAM, "embedder", "dead", 0, [n.id for n in read], idle=2000, justid=True)
    assert survivor.step(block_ms=100) == ["notes"]
    assert queue.pending_count(redis_client, "embedder") == 0


def test_reindex_request_with_full_rebuilds(
    wikis: Wikis, indexer: Indexer, redis_client: redis.Redis
) -> None:
    wikis.create("notes", {"A.md": "alpha", "B.md": "beta"})
    indexer.sync("notes")
    worker = make_worker(indexer, redis_client)
    worker.last_sweep = time.monotonic()
    queue.ensure_group(redis_client, "embedder")
    request_reindex(redis_client, "notes", full=True)
    before = read_meta(indexer.index_dir("notes"))
    assert worker.step(block_ms=100) == ["notes"]
    after = read_meta(indexer.index_dir("notes"))
    assert before is not None
    assert after is not None
    assert after.generation != before.generation
    assert after.chunks == 2
    assert not redis_client.exists("wikibot:embedder:full:notes")


def test_two_replicas_on_one_wiki_never_corrupt_it(
    wikis: Wikis, indexer: Indexer, settings: EmbedderSettings, redis_client: redis.Redis
) -> None:
    """Two workers (each with its own Redis connection) race on one wiki while commits land."""
    wikis.create("notes")
    queue.ensure_group(redis_client, "embedder")
    stop = threading.Event()
    errors: list[BaseException] = []
    workers = []
    for name in ("r1", "r2"):
        client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
        replica = Indexer(settings, indexer.encoder, indexer.db, client)
        worker = make_worker(replica, client, name)
        worker.last_sweep = time.monotonic()
        workers.append(worker)

    def loop(worker: Worker) -> None:
        try:
            while not stop.is_set():
                worker.step(block_ms=50)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    expected: dict[str, str] = {}
    try:
        for i in range(12):
            path = f"Page {i % 5}.md"
            expected[path] = f"revision {i} of page {i % 5} mentions token{i}"
            head = wikis.commit("notes", {path: expected[path]})
            for _ in range(2):  # every writer notifies; duplicates must be harmless
                queue.notify_change(redis_client, "notes", source="mcp", commit=head)
            time.sleep(0.05)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            meta = read_meta(indexer.index_dir("notes"))
            if meta is not None and meta.commit == head and not any(w.retry for w in workers):
                break
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert errors == []
    meta = read_meta(indexer.index_dir("notes"))
    assert meta is not None
    assert meta.commit == head
    reader = open_reader(indexer.index_dir("notes"))
    assert reader is not None
    # Consistent: FAISS and SQLite hold the same chunks, one set per page, each from the latest revision.
    assert reader.vectors.ntotal == meta.chunks == 6  # Home + 5 pages
    rows = reader.chunks(range(1, 10_000))
    assert sorted(r.path for r in rows.values()) == sorted(["Home.md", *expected])
    for row in rows.values():
        if row.path in expected:
            assert row.text == expected[row.path]


def test_the_worker_thread_survives_a_failing_round(
    wikis: Wikis, indexer: Indexer, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    wikis.create("notes")
    real = indexer.all_wikis
    failures = {"n": 0}

    def flaky() -> list[str]:
        if failures["n"] < 2:
            failures["n"] += 1
            raise RuntimeError("database went away")
        return real()

    monkeypatch.setattr(indexer, "all_wikis", flaky)
    worker = Worker(indexer, redis_client, group="embedder", consumer="w1", sweep_seconds=0.1)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and read_meta(indexer.index_dir("notes")) is None:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert failures["n"] == 2
    assert read_meta(indexer.index_dir("notes")) is not None  # the sweep ran again after the failures


def test_metrics_show_backlog_lag_and_throughput(
    wikis: Wikis, indexer: Indexer, redis_client: redis.Redis
) -> None:
    from prometheus_client import REGISTRY

    def value(name: str, labels: dict[str, str] | None = None) -> float:
        return REGISTRY.get_sample_value(name, labels or {}) or 0.0

    wikis.create("lagging")
    worker = make_worker(indexer, redis_client)
    embedded = value("wikibot_embedder_chunks_embedded_total")
    syncs = value("wikibot_embedder_syncs_total", {"outcome": "ok"})
    queue.ensure_group(redis_client, "embedder")
    wikis.commit("lagging", {"Lag.md": "# Lag\n\nA page about index freshness."})
    queue.notify_change(redis_client, "other-wiki-without-repo", source="ui")
    worker.sweep()
    assert value("wikibot_embedder_chunks_embedded_total") > embedded
    assert value("wikibot_embedder_embed_seconds_total") > 0
    assert value("wikibot_embedder_syncs_total", {"outcome": "ok"}) == syncs + 1
    # the sweep saw the wiki behind (the series exists) and the sync brought it to HEAD
    assert REGISTRY.get_sample_value("wikibot_embedder_index_lag_seconds", {"wiki": "lagging"}) == 0.0
    worker.step(block_ms=50)
    assert value("wikibot_embedder_queue_pending") == 0
    assert value("wikibot_embedder_stream_length") >= 1


def test_a_redis_outage_is_followed_by_a_sweep(wikis: Wikis, indexer: Indexer, tmp_path: Path) -> None:
    """Notices sent while Redis was down are lost (and a Redis killed without its last second of AOF loses more):
    once it is back the worker sweeps at once instead of at the next scheduled sweep."""
    port = free_port()

    server = start_redis(port, tmp_path)
    wikis.create("notes")
    client = redis.Redis(port=port, decode_responses=True)
    worker = make_worker(indexer, client)
    assert worker.sweep() == ["notes"]  # the next scheduled sweep is an hour away
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert worker.ready.wait(5)
        server.kill()
        server.wait()
        head = wikis.commit("notes", {"Down.md": "written while redis was down"})  # no notice reaches anyone
        time.sleep(1.0)
        server = start_redis(port, tmp_path)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and read_meta(indexer.index_dir("notes")).commit != head:  # type: ignore[union-attr]
            time.sleep(0.1)
        assert read_meta(indexer.index_dir("notes")).commit == head  # type: ignore[union-attr]
    finally:
        stop.set()
        thread.join(timeout=10)
        client.close()
        server.kill()
        server.wait()


def test_rapid_writes_to_a_page_cost_one_embedding_of_its_latest_version(
    wikis: Wikis, indexer: Indexer, redis_client: redis.Redis, service: SearchService, monkeypatch
) -> None:
    wikis.create("notes")
    worker = Worker(indexer, redis_client, consumer="w1", sweep_seconds=3600, sync_interval_s=0.5)
    worker.last_sweep = time.monotonic()
    queue.ensure_group(redis_client, "embedder")
    results = []
    sync = indexer.sync

    def counted(slug: str, **kwargs):  # type: ignore[no-untyped-def]
        results.append(result := sync(slug, **kwargs))
        return result

    monkeypatch.setattr(indexer, "sync", counted)
    wikis.commit("notes", {"Hive.md": "version zero of the hive notes"})
    queue.notify_change(redis_client, "notes", source="mcp")
    assert worker.step(block_ms=100) == ["notes"]  # after a quiet spell: at once
    started = time.monotonic()
    for i in range(1, 6):
        head = wikis.commit("notes", {"Hive.md": f"version {i} of the hive notes, queen marked {i}"})
        queue.notify_change(redis_client, "notes", source="mcp")
    assert worker.step(block_ms=100) == []  # held: synced 0.5 s after the last sync at the earliest
    synced: list[str] = []
    while not synced and time.monotonic() - started < 5:
        synced = worker.step(block_ms=1000)
    assert synced == ["notes"]
    assert 0.3 < time.monotonic() - started < 1.5  # woken when due, not at the end of a 1 s read
    assert len(results) == 2
    assert results[1].embedded == 1
    assert read_meta(indexer.index_dir("notes")).commit == head  # type: ignore[union-attr]
    assert found(service, "notes", "queen marked 5") == ["Hive.md"]
