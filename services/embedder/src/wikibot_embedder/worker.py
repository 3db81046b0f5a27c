"""The index worker: change notices from the Redis stream, plus a periodic sweep over every wiki.

Notices are read in a consumer group (each replica a consumer), so every notice reaches one replica. A notice
is only a hint (queue.py): the worker syncs the wiki to HEAD, so duplicates cost a no-op and a lost one is
caught by the sweep, which compares each wiki's HEAD with its index. Notices a dead replica had read but not
acknowledged are claimed after ``claim_idle_ms``. A wiki another replica is writing is retried shortly after.

Rapid writes coalesce: a wiki is synced at most once per ``sync_interval_s``. The first notice after a quiet
spell syncs at once; notices within the interval after a sync are held until it ends, and one sync then embeds
each changed page once, at its latest version (not once per version).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import redis

from wikibot_shared import queue

from . import gitsource, metrics
from .indexer import Busy, Indexer, MissingRepo
from .store import read_meta

log = logging.getLogger("wikibot.embedder.worker")

FULL_KEY = "wikibot:embedder:full:{slug}"  # set by POST /reindex?full=true; taken by whoever syncs next
BUSY_RETRY_S = 1.0
ERROR_RETRY_S = 30.0


def request_reindex(client: redis.Redis, slug: str, *, full: bool = False) -> str:
    if full:
        client.set(FULL_KEY.format(slug=slug), "1", ex=24 * 3600)
    return queue.notify_change(client, slug, source="reindex")


class Worker:
    def __init__(
        self,
        indexer: Indexer,
        client: redis.Redis,
        *,
        group: str = "embedder",
        consumer: str = "embedder",
        sweep_seconds: float = 60.0,
        claim_idle_ms: int = 60_000,
        sync_interval_s: float = 0.0,
    ) -> None:
        self.indexer = indexer
        self.redis = client
        self.group = group
        self.consumer = consumer
        self.sweep_seconds = sweep_seconds
        self.claim_idle_ms = claim_idle_ms
        self.sync_interval_s = sync_interval_s
        self.retry: dict[str, float] = {}  # wiki -> when to sync it (a held notice, a busy or failed sync)
        self.synced_at: dict[str, float] = {}  # wiki -> when its last sync started, within the interval
        self.last_sweep = 0.0
        self.ready = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set; Redis or database outages are waited out, never fatal to the thread."""
        while not stop.is_set():
            try:
                queue.ensure_group(self.redis, self.group)
                self.ready.set()
                self._drain_own_pending()
                while not stop.is_set():
                    self.step(block_ms=1000)
            except redis.RedisError as exc:
                log.warning("redis unavailable, retrying", extra={"error": str(exc)[:200]})
                self.last_sweep = 0.0  # notices sent while it was down are lost: sweep as soon as it is back
                stop.wait(2.0)
            except Exception:
                log.exception("index worker round failed; retrying")
                stop.wait(2.0)

    def step(self, block_ms: int = 1000) -> list[str]:
        """One round: new and reclaimed notices, due retries, the sweep when due. Returns the wikis synced."""
        if self.retry:  # wake for the first held sync that falls due
            block_ms = max(0, min(block_ms, int((min(self.retry.values()) - time.monotonic()) * 1000) + 1))
        notices = queue.read_notices(self.redis, self.group, self.consumer, count=100, block_ms=block_ms)
        notices += self._claim_stale()
        now = time.monotonic()
        self.synced_at = {s: t for s, t in self.synced_at.items() if now - t < self.sync_interval_s}
        wikis = []
        named = dict.fromkeys(n.wiki for n in notices if n.wiki and not n.event)  # events change no index
        for slug in named:
            held_until = self.synced_at.get(slug, -1e9) + self.sync_interval_s
            if held_until > now:
                self.retry[slug] = min(self.retry.get(slug, held_until), held_until)
            else:
                wikis.append(slug)
        wikis += [slug for slug, due in self.retry.items() if due <= now]
        synced = self.sync_all(dict.fromkeys(wikis))
        queue.ack(self.redis, self.group, [n.id for n in notices if n.id])
        metrics.QUEUE_PENDING.set(queue.pending_count(self.redis, self.group))
        metrics.STREAM_LENGTH.set(queue.stream_length(self.redis))
        if now - self.last_sweep >= self.sweep_seconds:
            synced += self.sweep()
        return synced

    def sweep(self) -> list[str]:
        """Sync every wiki whose index is not at its HEAD (a lost notice, a push while we were down...)."""
        self.last_sweep = time.monotonic()
        stale, current = [], []
        for slug in self.indexer.all_wikis():
            meta = read_meta(self.indexer.index_dir(slug))
            repo = self.indexer.repo_dir(slug)
            if not repo.is_dir():
                continue
            if meta is None or meta.model != self.indexer.model_id or meta.commit != gitsource.head(repo):
                stale.append(slug)
            else:
                current.append(slug)
        stale += self._full_requested(current)
        for slug in stale:
            repo = self.indexer.repo_dir(slug)
            metrics.INDEX_LAG.labels(slug).set(max(0.0, time.time() - gitsource.head_time(repo)))
        return self.sync_all(stale)

    def _full_requested(self, slugs: list[str]) -> list[str]:
        """Those of ``slugs`` with a full reindex asked for: one Redis round trip per thousand, not one each."""
        asked = []
        for start in range(0, len(slugs), 1000):
            part = slugs[start : start + 1000]
            pipe = self.redis.pipeline(transaction=False)
            for slug in part:
                pipe.exists(FULL_KEY.format(slug=slug))
            asked += [slug for slug, found in zip(part, pipe.execute(), strict=True) if found]
        return asked

    def sync_all(self, slugs: Iterable[str]) -> list[str]:
        done = []
        for slug in slugs:
            if self.sync_one(slug):
                done.append(slug)
        return done

    def sync_one(self, slug: str) -> bool:
        self.retry.pop(slug, None)
        self.synced_at[slug] = time.monotonic()
        full = bool(self.redis.getdel(FULL_KEY.format(slug=slug)))
        try:
            self.indexer.sync(slug, full=full)
            metrics.SYNCS.labels("ok").inc()
            metrics.INDEX_LAG.labels(slug).set(0)
            return True
        except Busy:
            metrics.SYNCS.labels("busy").inc()
            self.retry[slug] = time.monotonic() + BUSY_RETRY_S
        except MissingRepo:
            log.info("no repository for this wiki; skipped", extra={"wiki": slug})
        except redis.RedisError:
            raise  # Redis is away: ``run`` waits for it, then sweeps (not this wiki's error, nor 30 s later)
        except Exception:
            metrics.SYNCS.labels("error").inc()
            log.exception("indexing failed; will retry", extra={"wiki": slug})
            self.retry[slug] = time.monotonic() + ERROR_RETRY_S
        if full:
            self.redis.set(FULL_KEY.format(slug=slug), "1", ex=24 * 3600)
        return False

    def _drain_own_pending(self) -> None:
        """Notices this consumer read before a crash or restart, never acknowledged: handle them first."""
        reply: Any = self.redis.xreadgroup(self.group, self.consumer, {queue.STREAM: "0"}, count=1000)
        entries: list[tuple[str, dict[str, str]]] = [e for _stream, batch in reply or [] for e in batch]
        if not entries:
            return
        slugs = dict.fromkeys(fields.get("wiki", "") for _id, fields in entries)
        self.sync_all(s for s in slugs if s)
        queue.ack(self.redis, self.group, [entry_id for entry_id, _ in entries])

    def _claim_stale(self) -> list[queue.ChangeNotice]:
        reply: Any = self.redis.xautoclaim(
            queue.STREAM, self.group, self.consumer, min_idle_time=self.claim_idle_ms, count=100
        )
        claimed: list[tuple[str, dict[str, str]]] = (
            reply[1] if isinstance(reply, list | tuple) and len(reply) > 1 else []
        )
        return [
            queue.ChangeNotice(wiki=fields.get("wiki", ""), source=fields.get("source", ""), id=entry_id)
            for entry_id, fields in claimed
            if fields
        ]
