"""Intake and delivery of webhook events, run by one leader among the platform's processes.

**Intake** reads the change stream in the consumer group ``webhooks`` (after a restart it first re-reads what it
had read but not acknowledged), turns each notice into events (``events``), writes one delivery row per
subscribed, enabled webhook of the wiki (the outbox; the unique ``(webhook_id, event_id)`` keeps a re-read notice
once), moves the wiki's cursor, commits, and only then acknowledges: a crash anywhere repeats work, never
loses it (at least once).

**Delivery** sends, for every enabled webhook, its oldest undelivered event when it is due — never a later one
before it (in order per webhook, so per wiki) — several webhooks at once in a small thread pool, so a slow or
dead receiver holds up only its own queue, and never a write (writes only append to the stream). A 2xx is
delivered; anything else (a refusal, a 3xx — redirects are not followed —, a timeout, a blocked address) is
retried after 5 s, 30 s, 2 min, 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, then every 8 h; a webhook failing for
``PLATFORM_WEBHOOKS_GIVE_UP_AFTER`` (a day) is disabled with the reason, and its events wait there until an owner
enables it again. Every attempt is recorded on its row (status code, error, duration, time, attempt number);
delivered rows are kept 30 days.

**Leader**: a Redis lease (``wikibot:webhooks:leader``, 30 s, renewed every loop), so that exactly one process
delivers — the order above needs one sender — and another takes over within 30 s if it dies.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import redis
from prometheus_client import Counter, Gauge
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from wikibot_shared import queue
from wikibot_shared.crypto import Box
from wikibot_shared.errors import WikibotError
from wikibot_shared.models import Proposal, Webhook, WebhookCursor, WebhookDelivery, Wiki
from wikibot_shared.safehttp import SafeHttp
from wikibot_shared.storage import wiki_paths

from ..config import PlatformSettings
from . import events, formats

log = logging.getLogger("wikibot.platform.webhooks")

GROUP = "webhooks"
LEADER_KEY = "wikibot:webhooks:leader"
LEASE_MS = 30_000
BACKOFF = (5, 30, 120, 300, 900, 1800, 3600, 7200, 14400, 28800)
MAX_RESPONSE_BYTES = 64 * 1024
KEEP_DELIVERED = timedelta(days=30)  # the delivery log keeps delivered events this long
PRUNE_EVERY = 3600.0

DELIVERIES = Counter("wikibot_webhook_deliveries_total", "Webhook delivery attempts by outcome", ["outcome"])
BACKLOG = Gauge(
    "wikibot_webhook_backlog",
    "Webhook events not yet delivered (enabled webhooks)",
    multiprocess_mode="livemax",
)
LAG = Gauge(
    "wikibot_webhook_lag_seconds",
    "Age of the oldest undelivered event of an enabled webhook",
    multiprocess_mode="livemax",
)


def sealed_context(webhook_id: str, column: str) -> str:
    return f"webhook:{webhook_id}:{column}"


def backoff(attempts: int) -> int:
    return BACKOFF[min(attempts, len(BACKOFF)) - 1] if attempts > 0 else 0


@dataclass
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookWorker:
    def __init__(
        self,
        settings: PlatformSettings,
        db: sessionmaker[Session],
        client: redis.Redis,
        box: Box,
        http: SafeHttp,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.db = db
        self.redis = client
        self.box = box
        self.http = http
        self.clock = clock
        self.name = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self.pool = ThreadPoolExecutor(
            max_workers=settings.webhooks_concurrency, thread_name_prefix="webhook"
        )
        self.in_flight: dict[str, Future[None]] = {}
        self._read_pending = True
        self._pruned_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- running -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.redis.get(LEADER_KEY) == self.name:
            self.redis.delete(LEADER_KEY)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.lead():
                    self._stop.wait(2.0)
                    continue
                self.intake(block_ms=500)
                self.deliver()
                if self.clock() - self._pruned_at > PRUNE_EVERY:
                    self.prune()
            except Exception:
                log.exception("webhook worker loop failed; retrying")
                self._stop.wait(2.0)

    def lead(self) -> bool:
        """Hold (or take) the lease; whether this process is the one that delivers."""
        if self.redis.set(LEADER_KEY, self.name, nx=True, px=LEASE_MS):
            # the group starts at the stream's end when first made: history is not replayed to new targets
            queue.ensure_group(self.redis, GROUP, start="$")
            self._read_pending = True
            return True
        if self.redis.get(LEADER_KEY) == self.name:
            self.redis.pexpire(LEADER_KEY, LEASE_MS)
            return True
        return False

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- intake --------------------------------------------------------------------------------------------
    def intake(self, block_ms: int = 0) -> int:
        """Read a batch of change notices and queue their events; returns how many events were queued."""
        notices: list[queue.ChangeNotice] = []
        if self._read_pending:
            notices = queue.read_notices(self.redis, GROUP, "leader", count=100, pending=True)
            self._read_pending = bool(notices)
        if not notices:
            notices = queue.read_notices(self.redis, GROUP, "leader", count=100, block_ms=block_ms)
        queued = 0
        for notice in notices:
            queued += self._take(notice)
            assert notice.id is not None
            queue.ack(self.redis, GROUP, [notice.id])
        return queued

    def _take(self, notice: queue.ChangeNotice) -> int:
        if notice.event and notice.proposal is not None:
            return self._take_proposal(notice, notice.proposal)
        if not notice.commit:
            return 0
        repo = wiki_paths(self.settings.wikis_dir, notice.wiki).repo
        with self.db() as db:
            if db.get(Wiki, notice.wiki) is None or not repo.exists():
                return 0
            cursor = db.get(WebhookCursor, notice.wiki)
            hooks = db.scalars(select(Webhook).where(Webhook.wiki_slug == notice.wiki)).all()
            if not hooks:  # nothing to announce: no git at all; a new webhook starts its cursor at HEAD
                if cursor is not None:
                    db.delete(cursor)
                    db.commit()
                return 0
            try:
                commits = events.covered(repo, cursor.last_commit if cursor else None, notice.commit)
            except WikibotError as exc:  # an unknown commit (rewritten away): nothing to announce
                log.warning(
                    "change notice names no commit", extra={"wiki": notice.wiki, "error": exc.message}
                )
                return 0
            if not commits:
                return 0
            wiki_url = self.settings.wiki_url(notice.wiki)
            queued = 0
            for commit in commits:
                found = events.commit_events(
                    repo,
                    notice.wiki,
                    commit,
                    wiki_url=wiki_url,
                    source=notice.source,
                    page_url=lambda name: f"{wiki_url}/{quote(name, safe='/')}",
                )
                queued += self._queue(db, hooks, found)
            if cursor is None:
                db.add(WebhookCursor(wiki_slug=notice.wiki, last_commit=commits[-1]))
            else:
                cursor.last_commit = commits[-1]
            db.commit()
            return queued

    def _take_proposal(self, notice: queue.ChangeNotice, number: int) -> int:
        if notice.event not in events.EVENT_TYPES:
            return 0
        with self.db() as db:
            hooks = db.scalars(select(Webhook).where(Webhook.wiki_slug == notice.wiki)).all()
            row = db.scalars(
                select(Proposal).where(Proposal.wiki_slug == notice.wiki, Proposal.number == number)
            ).first()
            if not hooks or row is None:
                return 0
            url = f"{self.settings.platform_url}/app/wikis/{notice.wiki}/proposals/{number}"
            found = events.proposal_event(
                notice.wiki,
                notice.event or "",
                row,
                at=notice.at,
                url=url,
                wiki_url=self.settings.wiki_url(notice.wiki),
            )
            queued = self._queue(db, hooks, [found])
            db.commit()
            return queued

    def _queue(self, db: Session, hooks: Any, found: list[events.Event]) -> int:
        return queue_events(db, hooks, found, self.now())

    def prune(self) -> int:
        """Forget delivered events older than ``KEEP_DELIVERED`` (undelivered ones are kept, however old)."""
        self._pruned_at = self.clock()
        with self.db() as db:
            gone = db.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.status == "delivered",
                    WebhookDelivery.delivered_at < self.now() - KEEP_DELIVERED,
                )
            ).rowcount
            db.commit()
        return int(gone or 0)

    # -- delivery ------------------------------------------------------------------------------------------
    def deliver(self, wait: bool = False) -> int:
        """Start the due head-of-queue delivery of every enabled webhook that has none in flight; with
        ``wait``, until each started one has finished. Returns how many were started."""
        self.in_flight = {k: f for k, f in self.in_flight.items() if not f.done()}
        started: list[Future[None]] = []
        for delivery_id, webhook_id in self.due():
            if webhook_id in self.in_flight:
                continue
            future = self.pool.submit(self._attempt, delivery_id)
            self.in_flight[webhook_id] = future
            started.append(future)
        if wait:
            for future in started:
                future.result()
        return len(started)

    def due(self) -> list[tuple[int, str]]:
        """(delivery, webhook) of each enabled webhook's oldest undelivered event, if it is due."""
        now = self.now()
        head = aliased(WebhookDelivery)
        oldest = (
            select(func.min(head.id))
            .where(head.webhook_id == WebhookDelivery.webhook_id, head.status == "pending")
            .scalar_subquery()
        )
        stmt = (
            select(WebhookDelivery.id, WebhookDelivery.webhook_id)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(
                Webhook.enabled.is_(True),
                WebhookDelivery.status == "pending",
                WebhookDelivery.id == oldest,
                WebhookDelivery.next_attempt_at <= now,
            )
            .limit(100)
        )
        with self.db() as db:
            rows = [(int(i), str(w)) for i, w in db.execute(stmt).all()]
            backlog = db.execute(
                select(func.count(), func.min(WebhookDelivery.created_at))
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .where(Webhook.enabled.is_(True), WebhookDelivery.status == "pending")
            ).one()
        BACKLOG.set(backlog[0])
        LAG.set((now - backlog[1]).total_seconds() if backlog[1] else 0)
        return rows

    def _attempt(self, delivery_id: int) -> None:
        with self.db() as db:
            delivery = db.get(WebhookDelivery, delivery_id)
            if delivery is None or delivery.status != "pending":
                return
            hook = db.get(Webhook, delivery.webhook_id)
            if hook is None or not hook.enabled:
                return
            url = self.box.open(hook.url, sealed_context(hook.id, "url")).decode()
            secret = (
                self.box.open(hook.secret, sealed_context(hook.id, "secret")).decode()
                if hook.secret
                else None
            )
            outcome = self.send(hook.kind, url, delivery.event_id, json.loads(delivery.payload), secret)
            now = self.now()
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.last_status_code = outcome.status_code
            delivery.last_error = outcome.error
            delivery.last_duration_ms = outcome.duration_ms
            if outcome.ok:
                delivery.status = "delivered"
                delivery.delivered_at = now
                hook.failing_since = None
            else:
                delivery.next_attempt_at = now + timedelta(seconds=backoff(delivery.attempts))
                hook.failing_since = hook.failing_since or now
                if now - hook.failing_since >= timedelta(seconds=self.settings.webhooks_give_up_after):
                    hook.enabled = False
                    hook.disabled_at = now
                    hook.disabled_reason = (
                        f"disabled after failing since {hook.failing_since:%Y-%m-%d %H:%M} UTC: {outcome.error}"
                    )[:300]
                    log.warning("webhook disabled", extra={"wiki": hook.wiki_slug, "webhook": hook.id})
            db.commit()
        DELIVERIES.labels("delivered" if outcome.ok else "failed").inc()
        log.info(
            "webhook delivery",
            extra={
                "webhook": hook.id,
                "wiki": hook.wiki_slug,
                "event": delivery.event_type,
                "attempt": delivery.attempts,
                "status_code": outcome.status_code,
                "outcome": "delivered" if outcome.ok else "failed",
                "duration_ms": outcome.duration_ms,
            },
        )

    def send(self, kind: str, url: str, event_id: str, event: dict[str, Any], secret: str | None) -> Outcome:
        """One attempt, through the hardened client (its address rules, no redirects, capped body, timeouts)."""
        body, headers = formats.request_for(kind, event_id, event, secret, int(self.clock()))
        started = time.monotonic()
        try:
            response = self.http.request(
                "POST", url, headers=headers, body=body, max_bytes=MAX_RESPONSE_BYTES
            )
        except WikibotError as exc:
            return Outcome(False, None, exc.message[:300], _ms(started))
        took = _ms(started)
        if 200 <= response.status_code < 300:
            return Outcome(True, response.status_code, None, took)
        where = f" to {response.header('location')}" if response.is_redirect else ""
        host = urlsplit(url).hostname
        return Outcome(False, response.status_code, f"{host} answered {response.status_code}{where}", took)


def queue_events(db: Session, hooks: Any, found: list[events.Event], now: datetime) -> int:
    """Outbox rows for ``found`` on each enabled webhook subscribed to their types, once per event (an event
    already queued for a webhook is not queued again). The caller commits."""
    if not found:
        return 0
    ids = [e.id for e in found]
    queued = 0
    for hook in hooks:
        if not hook.enabled:  # paused or given up on: it gets what happens after it is enabled again
            continue
        wanted = set(hook.events)
        known = set(
            db.scalars(
                select(WebhookDelivery.event_id).where(
                    WebhookDelivery.webhook_id == hook.id, WebhookDelivery.event_id.in_(ids)
                )
            )
        )
        for event in found:
            if event.type in wanted and event.id not in known:
                db.add(
                    WebhookDelivery(
                        webhook_id=hook.id,
                        event_id=event.id,
                        event_type=event.type,
                        payload=json.dumps(event.as_json(), separators=(",", ":")),
                        next_attempt_at=now,
                    )
                )
                queued += 1
    return queued


def announce(db: Session, slug: str, event: events.Event) -> None:
    """Queue an event that is not a commit (a collaborator change) for the wiki's webhooks; the caller commits."""
    hooks = db.scalars(select(Webhook).where(Webhook.wiki_slug == slug)).all()
    queue_events(db, hooks, [event], datetime.now(UTC))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
