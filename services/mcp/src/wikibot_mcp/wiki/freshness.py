"""Searching right after a write: how far the search index is behind, and a bounded wait for it to catch up.

The embedder indexes a commit a moment after it lands (the writer's change notice, then a sync: p95 ≈ 0.3 s,
docs/search.md). An index *holds* a commit when it was built from that commit or a descendant of it: no commit
of the commit's history is missing from the index's (``rev-list --count C ^indexed`` is 0; otherwise the count
says how far behind it is). A search names the commit it needs as ``min_commit`` (the ``commit`` a write
returned); without one it is measured against HEAD and does not wait.

Waiting polls the embedder's ``GET /status/{wiki}`` with a growing pause (50 ms → 250 ms), asks the embedder to
index now (a change notice, as writers send: theirs may be queued behind others, or lost; at most one per wiki
every few seconds, however many searches wait), and gives up after ``wait`` seconds with an answer that says how
far behind the index is. A waiting search holds one of the process's worker threads, so at most ``waiters`` wait
at once; the others answer at once, saying so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import redis

from wikibot_shared.queue import notify_change

from . import gitrepo
from .search import SearchClient, SearchResult

log = logging.getLogger("wikibot.mcp.wiki")
POLL_FIRST = 0.05
POLL_MAX = 0.25
KICK_KEY = "wikibot:mcp:search-kick:{slug}"
KICK_EVERY = 5  # seconds between two "index now" notices for one wiki


@dataclass(frozen=True)
class Freshness:
    """Whether the index that answered holds ``target`` (``min_commit``, else HEAD), and if not, why."""

    indexed: str | None  # the commit the index was built from; None: not indexed yet
    target: str | None
    fresh: bool
    behind: int | None  # commits of target's history the index lacks; None when git cannot tell
    asked: bool  # target is a min_commit (not HEAD)
    waited: float = 0.0
    crowded: bool = False  # it did not wait: enough searches were waiting already

    @property
    def message(self) -> str | None:
        """What the agent should know and do, when the index lacks ``target``."""
        if self.fresh:
            return None
        short = (self.target or "")[:12]
        if self.indexed is None:
            state = "the search index has not indexed this wiki yet"
        elif self.behind is None:
            state = f"the search index is at {self.indexed[:12]}, a commit this wiki's history no longer has"
        else:
            plural = "" if self.behind == 1 else "s"
            latest = "" if self.asked else " (the wiki's latest commit)"
            state = (
                f"the search index is still catching up: {self.behind} commit{plural} behind {short}{latest}"
            )
        if not self.asked:
            return f"{state}; pages changed since may be missing or show older text. Pass min_commit={short} to wait for them."
        if self.crowded:
            return f"{state}; many searches are already waiting for the index, so this one did not. Retry shortly."
        return (
            f"{state} (waited {self.waited:.1f} s); pages changed since may be missing or show older text. "
            "Retry the same search in a few seconds, or read the pages you changed with read_note."
        )

    def fields(self) -> dict[str, Any]:
        """What a search result says about its freshness."""
        return {
            "indexed_commit": self.indexed,
            "min_commit": self.target if self.asked else None,
            "fresh": self.fresh,
            "behind_commits": self.behind,
            "message": self.message,
        }


class IndexWatch:
    """Freshness of a wiki's search index, measured with the wiki's own git history."""

    def __init__(
        self, client: SearchClient, redis_client: redis.Redis, *, wait: float = 10.0, waiters: int = 8
    ) -> None:
        self.client = client
        self.redis = redis_client
        self.wait = wait
        self._slots = threading.BoundedSemaphore(waiters) if waiters > 0 else None

    @staticmethod
    def measure(repo: Path, indexed: str | None, target: str | None, *, asked: bool) -> Freshness:
        """The index holds ``target`` when no commit of target's history is missing from it."""
        if target is None or target == indexed:  # None: an empty wiki, nothing to hold
            return Freshness(indexed, target, True, 0, asked)
        behind = gitrepo.commits_missing(repo, target, indexed)
        return Freshness(indexed, target, behind == 0, behind, asked)

    def wait_for(
        self, slug: str, repo: Path, target: str, indexed: str | None
    ) -> tuple[str | None, Freshness]:
        """Wait (bounded) until the index holds ``target``; returns the last indexed commit seen and its measure."""
        started = time.monotonic()
        if self._slots is None or not self._slots.acquire(blocking=False):
            return indexed, self._stamp(
                self.measure(repo, indexed, target, asked=True), started, crowded=True
            )
        try:
            seen, delay, deadline = indexed, POLL_FIRST, started + self.wait
            while (remaining := deadline - time.monotonic()) > 0:
                self._kick(slug, target)
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, POLL_MAX)
                status = self.client.status(slug)  # None while the embedder is unreachable: keep trying
                now = status.get("indexed_commit") if status else seen
                if isinstance(now, str) and now != seen:
                    seen, measured = now, self.measure(repo, now, target, asked=True)
                    if measured.fresh:
                        return seen, self._stamp(measured, started)
        finally:
            self._slots.release()
        return seen, self._stamp(self.measure(repo, seen, target, asked=True), started)

    def search(
        self, slug: str, repo: Path, target: str | None, *, asked: bool, ask: Callable[[], SearchResult]
    ) -> tuple[SearchResult, Freshness]:
        """``ask()``'s answer and its freshness; when ``asked`` for ``target`` and the index lacks it, the
        answer of an index that holds it, or the last one after the bounded wait."""
        found = ask()
        measured = self.measure(repo, found.commit, target, asked=asked)
        if measured.fresh or not asked or target is None:
            return found, measured
        seen, measured = self.wait_for(slug, repo, target, found.commit)
        if seen == found.commit:
            return found, measured
        again = ask()  # the index moved on: answer from the newer one
        if again.commit != seen:
            latest = self.measure(repo, again.commit, target, asked=True)
            measured = replace(latest, waited=measured.waited, crowded=measured.crowded)
        return again, measured

    @staticmethod
    def _stamp(measured: Freshness, started: float, *, crowded: bool = False) -> Freshness:
        return replace(measured, waited=time.monotonic() - started, crowded=crowded)

    def _kick(self, slug: str, target: str) -> None:
        """Ask the embedder to index the wiki now: its notice may still be queued, or was lost."""
        try:
            if self.redis.set(KICK_KEY.format(slug=slug), "1", nx=True, ex=KICK_EVERY):
                notify_change(self.redis, slug, source="search", commit=target)
        except redis.RedisError as exc:  # the embedder's sweep still comes
            log.warning("could not ask the embedder to index", extra={"wiki": slug, "error": str(exc)})
