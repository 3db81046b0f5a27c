"""Who is acting, and the one path every write takes.

``Actor`` is a principal on one wiki: its live ``WikiAccess``, the commit author, the channel it came through,
and what its request was authorized for — decided once, upstream, by ``wikibot_shared.verify`` (the core never
decides again; it only refuses a write an actor was not authorized for). ``Base.commit_write`` is the write
pipeline shared by every operation:

    authorized to write?  →  repo_lock  →  index at HEAD  →  build the change (revision checks see HEAD)
    →  tiers.check_growth  →  one commit  →  index + wikis.page_count/bytes  →  unlock  →  notify_change
"""

from __future__ import annotations

import difflib
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared import acl, undo
from wikibot_shared.errors import Forbidden, NotFound
from wikibot_shared.locks import repo_lock
from wikibot_shared.models import Wiki
from wikibot_shared.pathrules import WriteArea
from wikibot_shared.queue import notify_change
from wikibot_shared.storage import Author, wiki_paths
from wikibot_shared.tiers import Tier, Usage, check_growth, tier_for

from . import gitrepo, index
from .errors import InvalidEdit, PageNotFound, StaleRevision
from .freshness import IndexWatch
from .gitrepo import Changes
from .names import get_pagename
from .search import SearchClient

log = logging.getLogger("wikibot.mcp.wiki")
EVERYWHERE = WriteArea()
MAX_MESSAGE = 1000
LOCK_TIMEOUT = 30.0  # seconds a write waits for the wiki's lock before answering "busy"
# The working tree a write's plan reads: main's, or the proposal's while ``commit_write`` plans one.
_PLANNING_IN: ContextVar[Path | None] = ContextVar("wikibot_mcp_planning_in", default=None)


@dataclass(frozen=True)
class Actor:
    access: acl.WikiAccess
    author: Author
    source: str  # "mcp" | "rest" | "git": the channel named in change notices
    authorized: acl.Action = acl.Action.READ  # what the request was authorized for
    refusal: Forbidden | None = None  # why it may not write, in words, when it asked to
    write_area: WriteArea = EVERYWHERE  # where it may write (path rules), decided with the rest upstream
    proposes: bool = False  # its writes become a proposal for review (``proposing``), decided upstream too
    credential: str | None = None  # the grant's or token's id: whose open proposal its writes add to
    did: str | None = None  # the person it acts for
    credential_kind: str | None = None  # "oauth" | "pat"

    @property
    def slug(self) -> str:
        return self.access.slug

    def require_write(self) -> None:
        if self.authorized is not acl.Action.WRITE:
            raise self.refusal or Forbidden(
                f"this request may read '{self.slug}' but was not authorized to write"
            )


@dataclass(frozen=True)
class Plan:
    """What a write will do: the changes, its commit message and what to tell the caller."""

    changes: Changes
    message: str
    result: dict[str, Any]
    attachment_bytes: int | None = None
    # Files the caller could leave out (a rename's link rewrites), and how: said when only they are refused.
    optional: frozenset[str] = frozenset()
    optional_hint: str = ""


def commit_message(given: str | None, default: str) -> str:
    if given is None or not given.strip():
        return default
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", given).strip()
    if len(text) > MAX_MESSAGE:
        raise InvalidEdit(f"the commit message is longer than {MAX_MESSAGE} characters")
    return text


def iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class Base:
    def __init__(
        self,
        *,
        wikis_dir: Path,
        tiers: dict[str, Tier],
        db: sessionmaker[Session],
        redis_client: redis.Redis,
        search: SearchClient,
        wiki_url: Callable[[str], str],
        proposal_url: Callable[[str, int], str] | None = None,
        max_page_bytes: int = 2 * 1024 * 1024,
        snapshots: index.SnapshotCache | None = None,
        freshness_wait: float = 10.0,
        freshness_waiters: int = 8,
    ) -> None:
        self.wikis_dir = Path(wikis_dir)
        self.tiers = tiers
        self.db = db
        self.redis = redis_client
        self.search_client = search
        self.wiki_url = wiki_url
        self.proposal_url = proposal_url or (lambda slug, n: f"{wiki_url(slug)}/-/proposals/{n}")
        self.max_page_bytes = max_page_bytes
        self.snapshots = snapshots or index.SnapshotCache()
        self.index_watch = IndexWatch(search, redis_client, wait=freshness_wait, waiters=freshness_waiters)

    @contextmanager
    def _write_lock(self, slug: str) -> Iterator[None]:
        """``repo_lock`` (fair: this process's writers in arrival order, other processes by the kernel's queue),
        bounded as every write is: ``busy`` after ``LOCK_TIMEOUT``."""
        with repo_lock(self.wikis_dir, slug, timeout=LOCK_TIMEOUT):
            yield

    # -- reading -------------------------------------------------------------------------------------------
    def repo(self, slug: str) -> Path:
        return wiki_paths(self.wikis_dir, slug).repo

    def tree(self, actor: Actor) -> Path:
        """The working tree a write's plan reads files from: main's, or the open proposal's it adds to."""
        return _PLANNING_IN.get() or self.repo(actor.slug)

    def snapshot(self, actor: Actor) -> index.Snapshot:
        return self.snapshots.get(self.repo(actor.slug))

    def page_url(self, slug: str, name: str) -> str:
        return f"{self.wiki_url(slug)}/{quote(name, safe='/')}"

    def not_found(self, snap: index.Snapshot, file: str) -> PageNotFound:
        name = get_pagename(file)
        names = [p.name for p in snap.pages.values()]
        folded = {n.casefold(): n for n in names}
        suggestions: list[str] = []
        if name.casefold() in folded:
            suggestions.append(folded[name.casefold()])
        suggestions += [
            n for n in difflib.get_close_matches(name, names, n=3, cutoff=0.6) if n not in suggestions
        ]
        return PageNotFound(name, suggestions=suggestions[:3])

    @staticmethod
    def check_base(snap: index.Snapshot, file: str, base_revision: str | None) -> None:
        if base_revision is None:
            return
        info = snap.files.get(file)
        current = info.blob if info else None
        if current != base_revision.strip():
            raise StaleRevision(get_pagename(file), base_revision, current)

    # -- writing -------------------------------------------------------------------------------------------
    def tier(self, actor: Actor) -> Tier:
        return tier_for(self.tiers, actor.access.tier)

    def commit_write(self, actor: Actor, plan_for: Callable[[index.Snapshot], Plan]) -> dict[str, Any]:
        actor.require_write()
        repo = self.repo(actor.slug)
        if not repo.exists():
            raise NotFound(f"the wiki '{actor.slug}' has no repository yet", code="no_repository")
        if actor.proposes:
            return self.propose(actor, plan_for)
        with self._write_lock(actor.slug):
            plan, sha, snap = self.commit_in(actor, repo, plan_for)
            if sha is None:
                return {**plan.result, "changed": False, "commit": snap.head}
            self._record_usage(actor.slug, snap.usage)
        self._notify(actor, sha, plan.changes.paths)
        return {**plan.result, "changed": True, "commit": sha}

    # ``proposing.ProposalOps``: a write held for review, and the commit a proposal is at.
    def propose(self, actor: Actor, plan_for: Callable[[index.Snapshot], Plan]) -> dict[str, Any]:
        raise NotImplementedError

    def proposal_commit(self, actor: Actor, number: int) -> str:
        raise NotImplementedError

    def commit_in(
        self, actor: Actor, tree: Path, plan_for: Callable[[index.Snapshot], Plan]
    ) -> tuple[Plan, str | None, index.Snapshot]:
        """Plan against ``tree`` (main's working tree or a proposal's), check, commit there; the caller holds the
        wiki's lock. The plan, the new commit (None if the change was already there) and the snapshot after."""
        snap = self.snapshots.get(tree)
        token = _PLANNING_IN.set(tree if tree != self.repo(actor.slug) else None)
        try:
            plan = plan_for(snap)
        finally:
            _PLANNING_IN.reset(token)
        outside = actor.write_area.outside(plan.changes.paths)
        if outside:  # the path rules, before anything is written
            hint = plan.optional_hint if set(outside) <= plan.optional else ""
            actor.write_area.check(outside, hint=hint)
        if not plan.changes.writes and not plan.changes.deletes:
            return plan, None, snap
        check_growth(
            self.tier(actor),
            snap.usage,
            snap.usage_after(plan.changes),
            attachment_bytes=plan.attachment_bytes,
        )
        # the commit's date and the index's, to the second (another process reads git's)
        now = int(time.time())
        message = undo.signed(
            plan.message, actor.credential_kind, actor.credential
        )  # which agent: "undo this app"
        sha = gitrepo.commit(tree, plan.changes, message, actor.author, when=now)
        new = index.apply(snap, sha, plan.changes, now)
        self.snapshots.put(tree, new)
        return plan, sha, new

    def _record_usage(self, slug: str, usage: Usage) -> None:
        try:
            with self.db() as db:
                db.execute(
                    update(Wiki).where(Wiki.slug == slug).values(page_count=usage.pages, bytes=usage.bytes)
                )
                db.commit()
        except Exception as exc:  # noqa: BLE001 - the commit stands; the next write corrects the figures
            log.warning("could not record wiki usage", extra={"wiki": slug, "error": str(exc)})

    def _notify(self, actor: Actor, sha: str, paths: list[str]) -> None:
        try:
            notify_change(self.redis, actor.slug, source=actor.source, commit=sha, paths=paths)
        except Exception as exc:  # noqa: BLE001 - the embedder's sweep catches up with a lost notice
            log.warning("could not send a change notice", extra={"wiki": actor.slug, "error": str(exc)})
