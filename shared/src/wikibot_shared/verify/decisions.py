"""Access decisions kept for a moment, and the epoch that ends them the moment anything they read changes.

A decision (``Verifier.authorize``: the credential's row, the member's role, the wiki's state) costs database
lookups on every request. ``DecisionCache`` keeps one per (host, credential, action) for ``TTL_S`` seconds, never
past the credential's own expiry, tagged with the **authorization epoch**: a counter in Redis (``EPOCH_KEY``).
Every committed change to a table decisions read (tokens, OAuth grants, sessions, roles, wikis, users; columns
that only record use — ``last_used_at``, usage figures — excepted, and new credentials, wikis and users, which no
kept decision is about) increments it, from any process that called
``watch_auth_changes``: the platform, its admin CLI, and every service. A request reads the epoch (in the same
Redis round trip as its rate limits) and uses a kept decision only if the epoch is the one it was made under, so
a revoked token, a removed member or a lapsed wiki is refused on its very next request, on every replica.

Without Redis no decision is kept or used (every request decides afresh), so an outage cannot serve a stale one.
A change made outside these sessions (raw SQL by hand, a restored backup) is not seen by the epoch; ``TTL_S``
bounds how long a kept decision can outlive it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from .. import acl
from ..tokens import SESSION_COOKIE
from .verifier import Access

EPOCH_KEY = "wikibot:authz:epoch"
TTL_S = 2.0
MAX_ENTRIES = 4096
AUTH_TABLES = frozenset({"access_tokens", "oauth_grants", "sessions", "acls", "wikis", "users"})
# A new row of these ends no kept decision (a new credential or wiki has none yet): sign-ins do not move the epoch.
NEW_ROWS_END_NOTHING = frozenset({"access_tokens", "oauth_grants", "sessions", "wikis", "users"})
# Written on use, read by no decision: changing them must not end every kept decision.
USE_COLUMNS = frozenset(
    {"last_used_at", "first_used_at", "last_refusal_at", "last_refusal", "page_count", "bytes"}
)
_CHANGED = "wikibot_auth_changed"

log = logging.getLogger("wikibot.verify.decisions")


@dataclass(frozen=True)
class _Kept:
    access: Access
    epoch: str
    until: float


class DecisionCache:
    """Decisions of this process, bounded (``MAX_ENTRIES``, least recently used out), per epoch."""

    def __init__(self, ttl: float = TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(
        host: str | None,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        action: acl.Action,
        word_refusals: bool,
    ) -> str:
        """What a decision depends on from the request: its host, its credential (hashed: no token is kept in
        memory in the clear) and what it asks."""
        parts = (host or "", headers.get("authorization") or "", cookies.get(SESSION_COOKIE) or "")
        material = "\0".join((*parts, action.value, "w" if word_refusals else ""))
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, key: str, now: float) -> _Kept | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None or kept.until <= now:
                self._kept.pop(key, None)
                self.misses += 1
                return None
            self._kept.move_to_end(key)
            self.hits += 1
            return kept

    def put(self, key: str, access: Access, epoch: str, now: float) -> None:
        until = now + self.ttl
        expires = access.principal.expires_at
        if expires is not None:
            until = min(until, expires)
        if until <= now:
            return
        with self._lock:
            self._kept[key] = _Kept(access, epoch, until)
            self._kept.move_to_end(key)
            while len(self._kept) > self.max_entries:
                self._kept.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            self._kept.pop(key, None)


def epoch_value(raw: Any) -> str:
    """The epoch as kept with a decision (a missing key is epoch "0": Redis restarted empty)."""
    return str(raw) if raw is not None else "0"


def read_epoch(client: redis.Redis) -> str | None:
    """The current epoch; None if Redis cannot be reached (then nothing is kept or used)."""
    try:
        return epoch_value(client.get(EPOCH_KEY))
    except redis.RedisError:
        return None


# -- the epoch: bumped after every commit that changed what decisions read ---------------------------------

_watching: dict[str, redis.Redis] = {}
_install_lock = threading.Lock()


def watch_auth_changes(client: redis.Redis) -> None:
    """Increment ``EPOCH_KEY`` in ``client`` after every commit, of any ``Session`` in this process, that
    changed a table access decisions read. Idempotent; the last client given is used."""
    with _install_lock:
        first = not _watching
        _watching["client"] = client
        if first:
            event.listen(Session, "after_flush", _after_flush)
            event.listen(Session, "do_orm_execute", _on_execute)
            event.listen(Session, "after_commit", _after_commit)
            event.listen(Session, "after_rollback", _after_rollback)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    for obj in session.deleted:
        if getattr(obj, "__tablename__", None) in AUTH_TABLES:
            session.info[_CHANGED] = True
            return
    for obj in session.new:
        table = getattr(obj, "__tablename__", None)
        if table in AUTH_TABLES and table not in NEW_ROWS_END_NOTHING:
            session.info[_CHANGED] = True
            return
    for obj in session.dirty:
        if getattr(obj, "__tablename__", None) not in AUTH_TABLES:
            continue
        state = inspect(obj)
        for attr in state.attrs:
            if attr.key not in USE_COLUMNS and attr.history.has_changes():
                session.info[_CHANGED] = True
                return


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    if name not in AUTH_TABLES or (state.is_insert and name in NEW_ROWS_END_NOTHING):
        return
    if state.is_update:
        # SQLAlchemy has no public reader of an UPDATE's SET columns short of compiling it. Should ``_values``
        # go away, ``names`` is empty and the change counts: more decisions end, none outlives a change.
        values = getattr(state.statement, "_values", None) or {}
        names = {getattr(column, "key", str(column)) for column in values}
        if names and names <= USE_COLUMNS:
            return
    state.session.info[_CHANGED] = True


def _after_commit(session: Session) -> None:
    if not session.info.pop(_CHANGED, False):
        return
    client = _watching.get("client")
    if client is None:
        return
    try:
        client.incr(EPOCH_KEY)
    except redis.RedisError as exc:
        # The change is committed; kept decisions end within TTL_S, and none is used while Redis is away.
        log.error("could not advance the authorization epoch", extra={"error": type(exc).__name__})


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
