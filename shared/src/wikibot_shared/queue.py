"""Redis: the connection, and the change-notice stream every writer feeds and the embedder consumes.

A notice says "wiki X changed (maybe at commit C)". It is a hint, not the truth: the embedder indexes the
diff from the last commit it indexed to HEAD, so lost or duplicate notices do no harm (ARCHITECTURE §6).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis

STREAM = "wikibot:changes"
STREAM_MAXLEN = 100_000


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=3)


@dataclass(frozen=True)
class ChangeNotice:
    wiki: str
    source: str
    commit: str | None = None
    paths: tuple[str, ...] = field(default_factory=tuple)
    at: float = 0.0
    id: str | None = None  # stream entry id, set when read
    # Not a commit on main but something that happened to a proposal ("proposal.opened", …) and its number.
    event: str | None = None
    proposal: int | None = None


def notify_change(
    client: redis.Redis,
    wiki: str,
    *,
    source: str,
    commit: str | None = None,
    paths: Iterable[str] = (),
    event: str | None = None,
    proposal: int | None = None,
) -> str:
    fields: dict[Any, Any] = {"wiki": wiki, "source": source, "at": f"{time.time():.6f}"}
    if commit:
        fields["commit"] = commit
    if event:
        fields["event"] = event
    if proposal is not None:
        fields["proposal"] = str(proposal)
    joined = "\n".join(paths)
    if joined:
        fields["paths"] = joined
    entry_id = client.xadd(STREAM, fields, maxlen=STREAM_MAXLEN, approximate=True)
    return str(entry_id)


def _parse(entry_id: str, fields: dict[str, str]) -> ChangeNotice:
    return ChangeNotice(
        wiki=fields.get("wiki", ""),
        source=fields.get("source", ""),
        commit=fields.get("commit") or None,
        paths=tuple(p for p in fields.get("paths", "").split("\n") if p),
        at=float(fields.get("at", "0") or 0),
        id=entry_id,
        event=fields.get("event") or None,
        proposal=int(fields["proposal"]) if fields.get("proposal", "").isdigit() else None,
    )


def ensure_group(client: redis.Redis, group: str, start: str = "0") -> None:
    try:
        client.xgroup_create(STREAM, group, id=start, mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def read_notices(
    client: redis.Redis,
    group: str,
    consumer: str,
    *,
    count: int = 100,
    block_ms: int = 1000,
    pending: bool = False,
) -> list[ChangeNotice]:
    """New notices for ``group``, waiting up to ``block_ms`` for one (0: not at all); with ``pending``, those
    this consumer read before and did not ack (after a crash: read them again before new ones)."""
    start = "0" if pending else ">"
    block = None if pending or block_ms <= 0 else block_ms  # Redis reads BLOCK 0 as "wait forever"
    reply: Any = client.xreadgroup(group, consumer, {STREAM: start}, count=count, block=block)
    notices: list[ChangeNotice] = []
    for _stream, entries in reply or []:
        for entry_id, fields in entries:
            notices.append(_parse(entry_id, fields))
    return notices


def ack(client: redis.Redis, group: str, ids: Iterable[str]) -> int:
    ids = list(ids)
    return int(client.xack(STREAM, group, *ids)) if ids else 0


def pending_count(client: redis.Redis, group: str) -> int:
    try:
        info = client.xpending(STREAM, group)
    except redis.ResponseError:
        return 0
    return int(info.get("pending", 0)) if isinstance(info, dict) else 0


def stream_length(client: redis.Redis) -> int:
    return int(client.xlen(STREAM))
