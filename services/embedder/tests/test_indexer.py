"""The index is a function of the commit: writes, deletes, renames, force pushes and restarts converge."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from services.embedder.tests.support import Wikis
from wikibot_embedder import wikilock
from wikibot_embedder.cache import IndexCache
from wikibot_embedder.config import EmbedderSettings
from wikibot_embedder.encoder import Encoder
from wikibot_embedder.indexer import Busy, Indexer, MissingRepo
from wikibot_embedder.service import SearchService
from wikibot_embedder.store import BUILD_PREFIX, GEN_PREFIX, read_meta
from wikibot_embedder.wikilock import WikiLock
from wikibot_shared.models import IndexState
from wikibot_shared.storage import StorageError

LINUX = "# Setup Guide\n\n## Linux\n\nInstall the frobnicator with apt-get and enable its systemd unit.\n"
GARDEN = "# Garden\n\nTomatoes need six hours of sun and regular watering in July.\n"


def paths(service: SearchService, slug: str, query: str, mode: str = "hybrid") -> list[str]:
    return [r["path"] for r in service.search(slug, query, mode, 10, 3)["results"]]  # type: ignore[arg-type]


@pytest.fixture
def service(indexer: Indexer, settings: EmbedderSettings) -> SearchService:
    return SearchService(indexer, IndexCache(settings.wikis_dir))


def test_write_then_searchable_in_every_mode(wikis: Wikis, indexer: Indexer, service: SearchService) -> None:
    wikis.create("notes")
    head = wikis.commit("notes", {"Setup Guide.md": LINUX, "Garden.md": GARDEN})
    result = indexer.sync("notes")
    assert result.commit == head
    assert sorted(result.indexed) == ["Garden.md", "Home.md", "Setup Guide.md"]
    for mode in ("semantic", "fulltext", "hybrid"):
        assert (
            paths(service, "notes", "how do I install the frobnicator on linux", mode)[0] == "Setup Guide.md"
        )
    body = service.search("notes", "growing tomatoes in summer", "semantic", 10, 3)
    assert body["commit"] == head
    top = body["results"][0]
    assert (top["path"], top["page"], top["title"]) == ("Garden.md", "Garden", "Garden")
    assert top["chunks"][0]["section"] == "Garden"
    assert "Tomatoes" in top["chunks"][0]["text"]


def test_only_changed_pages_are_embedded_again(wikis: Wikis, indexer: Indexer) -> None:
    wikis.create("notes", {"A.md": "alpha", "B.md": "beta", "C.md": "gamma"})
    assert indexer.sync("notes").embedded == 3
    wikis.commit("notes", {"B.md": "beta, revised"})
    again = indexer.sync("notes")
    assert again.indexed == ["B.md"]
    assert again.embedded == 1
    assert not again.full
    assert indexer.sync("notes").embedded == 0  # nothing new: a no-op


def test_delete_removes_the_page(wikis: Wikis, indexer: Indexer, service: SearchService) -> None:
    wikis.create("notes", {"Setup Guide.md": LINUX, "Garden.md": GARDEN})
    indexer.sync("notes")
    wikis.commit("notes", delete=("Garden.md",))
    result = indexer.sync("notes")
    assert result.removed == ["Garden.md"]
    for mode in ("semantic", "fulltext", "hybrid"):
        assert "Garden.md" not in paths(service, "notes", "tomatoes sun watering", mode)


def test_rename_leaves_only_the_new_path(wikis: Wikis, indexer: Indexer, service: SearchService) -> None:
    wikis.create("notes", {"Garden.md": GARDEN})
    indexer.sync("notes")
    wikis.commit("notes", rename={"Garden.md": "Projects/Vegetable Garden.md"})
    indexer.sync("notes")
    found = service.search("notes", "tomatoes", "fulltext", 10, 3)["results"]
    assert [r["path"] for r in found] == ["Projects/Vegetable Garden.md"]
    assert found[0]["page"] == "Projects/Vegetable Garden"
    assert found[0]["title"] == "Garden"  # its H1, as read_note names it (the file name only without one)


def test_multi_commit_push_converges(wikis: Wikis, indexer: Indexer, service: SearchService) -> None:
    wikis.create("notes")
    indexer.sync("notes")
    wikis.commit("notes", {"One.md": "first page about kayaks"})
    wikis.commit("notes", {"Two.md": "second page about canoes"})
    head = wikis.commit("notes", delete=("One.md",), write={"Three.md": "third page about rafts"})
    assert indexer.sync("notes").commit == head
    assert sorted(paths(service, "notes", "kayaks canoes rafts", "fulltext")) == ["Three.md", "Two.md"]


def test_force_push_to_an_unrelated_history_converges(
    wikis: Wikis, indexer: Indexer, service: SearchService
) -> None:
    wikis.create("notes", {"Old.md": "a page about zeppelins"})
    base = wikis.git("notes", "rev-parse", "HEAD")
    wikis.commit("notes", {"Later.md": "a page about hovercraft"})
    indexer.sync("notes")
    # Rewrite history: an orphan branch becomes main; the indexed commit is no longer reachable.
    wikis.git("notes", "checkout", "-q", "--orphan", "rewrite")
    wikis.git("notes", "rm", "-rq", "--cached", ".")
    (wikis.repo("notes") / "Old.md").unlink()
    (wikis.repo("notes") / "Later.md").unlink()
    (wikis.repo("notes") / "New.md").write_text("a page about submarines")
    wikis.git("notes", "add", "New.md")
    wikis.git("notes", "commit", "-q", "-m", "rewritten")
    wikis.git("notes", "branch", "-f", "main", "rewrite")
    wikis.git("notes", "checkout", "-q", "main")
    head = wikis.git("notes", "rev-parse", "HEAD")
    with pytest.raises(StorageError):
        wikis.git("notes", "merge-base", "--is-ancestor", base, head)
    result = indexer.sync("notes")
    assert result.commit == head
    assert sorted(r["path"] for r in service.search("notes", "page", "fulltext", 10, 3)["results"]) == [
        "New.md"
    ]


def test_force_push_with_pruned_objects_rebuilds(
    wikis: Wikis, indexer: Indexer, service: SearchService
) -> None:
    wikis.create("notes", {"Keep.md": "kept page about lighthouses"})
    first = wikis.git("notes", "rev-parse", "HEAD")
    wikis.commit("notes", {"Gone.md": "dropped page about lighthouses"})
    indexer.sync("notes")
    wikis.reset_hard("notes", first)
    wikis.git("notes", "reflog", "expire", "--expire=now", "--all")
    wikis.git("notes", "gc", "-q", "--prune=now")
    result = indexer.sync("notes")
    assert result.full
    assert result.commit == first
    assert paths(service, "notes", "lighthouses", "fulltext") == ["Keep.md"]


def test_crash_mid_index_resumes_from_checkpoint(
    wikis: Wikis, indexer: Indexer, service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = {f"Page {i:02d}.md": f"# Page {i}\n\nNote number {i} about topic{i}." for i in range(40)}
    wikis.create("notes")
    head = wikis.commit("notes", pages)
    calls = {"n": 0}
    real_encode = indexer.encoder.encode

    def crash_on_third_batch(texts: list[str], batch_size: int = 32) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed mid-batch")
        return real_encode(texts, batch_size)

    monkeypatch.setattr(indexer.encoder, "encode", crash_on_third_batch)
    monkeypatch.setattr(indexer.settings, "batch_size", 4)  # 16-chunk groups, checkpoints every 16 chunks
    with pytest.raises(RuntimeError, match="killed"):
        indexer.sync("notes")
    partial = read_meta(indexer.index_dir("notes"))
    assert partial is not None
    assert partial.commit != head
    assert not list(indexer.index_dir("notes").glob(f"{BUILD_PREFIX}*"))  # the failed build was dropped
    monkeypatch.setattr(indexer.encoder, "encode", real_encode)
    result = indexer.sync("notes")
    assert result.commit == head
    assert result.embedded < 41  # the checkpointed pages were not embedded again
    assert read_meta(indexer.index_dir("notes")).chunks == 41  # type: ignore[union-attr]
    assert paths(service, "notes", "topic37", "fulltext") == ["Page 37.md"]


def test_index_state_mirrors_the_index(
    wikis: Wikis, indexer: Indexer, db: sessionmaker[Session], settings: EmbedderSettings
) -> None:
    wikis.create("notes")
    head = wikis.commit("notes", {"A.md": "alpha"})
    indexer.sync("notes")
    with db() as session:
        state = session.get(IndexState, "notes")
        assert state is not None
        assert (state.last_commit, state.chunk_count, state.error) == (head, 2, None)
        assert state.model == indexer.model_id


def test_a_second_writer_is_refused_while_one_holds_the_lock(
    wikis: Wikis, indexer: Indexer, redis_client: redis.Redis
) -> None:
    wikis.create("notes")
    other = WikiLock(redis_client, "notes")
    assert other.acquire()
    try:
        with pytest.raises(Busy):
            indexer.sync("notes")
    finally:
        other.release()
    assert indexer.sync("notes").commit is not None


def test_generations_are_collected(wikis: Wikis, indexer: Indexer) -> None:
    wikis.create("notes")
    for i in range(4):
        wikis.commit("notes", {"A.md": f"version {i}"})
        indexer.sync("notes")
    gens = sorted(p.name for p in indexer.index_dir("notes").glob(f"{GEN_PREFIX}*"))
    assert len(gens) == 2  # current and the one before (for readers that resolved the link just before)


def test_missing_repository_is_reported(indexer: Indexer, settings: EmbedderSettings, wikis: Wikis) -> None:
    with pytest.raises(MissingRepo):
        indexer.sync("ghost")
    assert not Path(settings.wikis_dir / "ghost").exists()


def test_model_change_rebuilds(
    wikis: Wikis, indexer: Indexer, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    wikis.create("notes", {"A.md": "alpha"})
    indexer.sync("notes")
    monkeypatch.setattr(encoder, "model_id", encoder.model_id + "-next")
    result = indexer.sync("notes")
    assert result.full
    assert result.embedded == 1
    assert read_meta(indexer.index_dir("notes")).model == indexer.model_id  # type: ignore[union-attr]


def test_a_lock_whose_holder_died_is_taken_over_at_once(
    wikis: Wikis, indexer: Indexer, redis_client: redis.Redis
) -> None:
    """A SIGKILLed replica leaves its lock behind with most of its TTL to run: its process has no beacon, so the
    next sync takes the lock instead of waiting the TTL out. A live holder (beacon fresh) is still respected."""
    wikis.create("notes")
    key = wikilock.KEY.format(slug="notes")
    redis_client.set(key, "0123456789abcdef.0f0f", px=30_000)  # a process that no longer beats
    assert indexer.sync("notes").commit is not None
    assert redis_client.get(key) is None  # taken, then released
    live = WikiLock(redis_client, "notes")
    assert live.acquire()
    try:
        assert redis_client.exists(wikilock.ALIVE_PREFIX + wikilock.instance())
        with pytest.raises(Busy):
            indexer.sync("notes")
    finally:
        live.release()


def test_a_lock_this_process_lost_track_of_is_taken_back(
    wikis: Wikis, indexer: Indexer, redis_client: redis.Redis
) -> None:
    """Redis restarted from its append-only file with a lock this (live) process had taken and no longer
    holds: its beacon is fresh, but no lock of the process has that token, so it is taken back at once."""
    wikis.create("notes")
    lost = WikiLock(redis_client, "notes")
    assert lost.acquire()
    token = lost.token
    lost._stop.set()  # the release never reached Redis
    with wikilock._active_lock:
        wikilock._active.discard(token)
    assert redis_client.get(wikilock.KEY.format(slug="notes")) == token
    assert indexer.sync("notes").commit is not None
