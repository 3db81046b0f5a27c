"""A wiki's webhooks: made, listed, changed and removed by its owners; their deliveries listed and redelivered.

A URL is checked when it is set — its form (https; http only where the operator's test settings allow it) and
the addresses its host resolves to (no loopback, private, link-local or metadata address) — and again on every
delivery (``webhooks.worker``). URL and secret are sealed in the database. Delivering is the worker's.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wikibot_shared import git
from wikibot_shared.acl import Action
from wikibot_shared.crypto import Box
from wikibot_shared.errors import InputError, NotFound, WikibotError
from wikibot_shared.models import Webhook, WebhookCursor, WebhookDelivery
from wikibot_shared.safehttp import SafeHttp
from wikibot_shared.storage import wiki_paths
from wikibot_shared.verify import Principal

from ..schemas import DeliveryPublic, WebhookCreate, WebhookCreated, WebhookPublic, WebhookUpdate
from ..webhooks import events, formats
from ..webhooks.worker import sealed_context
from .wikis import access, did_of

log = logging.getLogger("wikibot.platform.webhooks")
MAX_PER_WIKI = 10


def _public(db: Session, row: Webhook) -> WebhookPublic:
    pending = db.scalar(
        select(func.count()).where(WebhookDelivery.webhook_id == row.id, WebhookDelivery.status == "pending")
    )
    return WebhookPublic(
        id=row.id,
        kind=row.kind,
        url_host=row.url_host,
        events=list(row.events),
        enabled=row.enabled,
        created_at=row.created_at,
        created_by=row.created_by,
        failing_since=row.failing_since,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        pending=int(pending or 0),
    )


def _events(given: list[str] | None) -> list[str]:
    if given is None:
        return list(events.EVENT_TYPES)
    unknown = [e for e in given if e not in events.EVENT_TYPES]
    if unknown or not given:
        raise InputError(
            f"events must be some of {', '.join(events.EVENT_TYPES)} (got {', '.join(unknown) or 'none'})",
            code="invalid_events",
        )
    return [e for e in events.EVENT_TYPES if e in given]


def _webhook(db: Session, slug: str, webhook_id: str) -> Webhook:
    row = db.get(Webhook, webhook_id)
    if row is None or row.wiki_slug != slug:
        raise NotFound(f"no webhook {webhook_id!r} on '{slug}'", code="unknown_webhook")
    return row


def list_webhooks(db: Session, slug: str, principal: Principal) -> list[WebhookPublic]:
    access(db, slug, principal, Action.MANAGE)
    rows = db.scalars(select(Webhook).where(Webhook.wiki_slug == slug).order_by(Webhook.created_at)).all()
    return [_public(db, row) for row in rows]


def create_webhook(
    db: Session,
    box: Box,
    http: SafeHttp,
    wikis_dir: Path,
    slug: str,
    principal: Principal,
    new: WebhookCreate,
) -> WebhookCreated:
    """A webhook gets what happens from now on: the wiki's cursor starts at its HEAD if it has none yet (so a
    push landing next is announced commit by commit)."""
    access(db, slug, principal, Action.MANAGE)
    url = new.url.strip()
    try:
        http.check_target(url)
    except WikibotError as exc:
        raise InputError(
            f"this URL cannot receive webhooks: {exc.message}", code="invalid_webhook_url"
        ) from None
    kind = new.kind or formats.kind_for(url)
    if kind not in formats.KINDS:
        raise InputError(f"kind must be one of {', '.join(formats.KINDS)}", code="invalid_kind")
    count = db.scalar(select(func.count()).where(Webhook.wiki_slug == slug)) or 0
    if count >= MAX_PER_WIKI:
        raise InputError(
            f"a wiki has at most {MAX_PER_WIKI} webhooks; remove one first", code="too_many_webhooks"
        )
    webhook_id = secrets.token_hex(8)
    secret = formats.new_secret() if kind == "standard" else None
    row = Webhook(
        id=webhook_id,
        wiki_slug=slug,
        url=box.seal(url, sealed_context(webhook_id, "url")),
        url_host=(urlsplit(url).hostname or "")[:255],
        kind=kind,
        events=_events(list(new.events) if new.events is not None else None),
        secret=box.seal(secret, sealed_context(webhook_id, "secret")) if secret else None,
        created_by=did_of(principal),
        created_at=datetime.now(UTC),
        enabled=True,
    )
    db.add(row)
    repo = wiki_paths(wikis_dir, slug).repo
    if db.get(WebhookCursor, slug) is None and repo.exists():
        head = git.run(repo, "rev-parse", "--verify", "-q", "HEAD", check=False).decode().strip()
        if head:
            db.add(WebhookCursor(wiki_slug=slug, last_commit=head))
    db.commit()
    log.info("webhook created", extra={"wiki": slug, "webhook": webhook_id, "kind": kind})
    return WebhookCreated(**dict(_public(db, row)), secret=secret)


def update_webhook(
    db: Session, slug: str, principal: Principal, webhook_id: str, change: WebhookUpdate
) -> WebhookPublic:
    access(db, slug, principal, Action.MANAGE)
    row = _webhook(db, slug, webhook_id)
    if change.events is not None:
        row.events = _events(list(change.events))
    if change.enabled is not None:
        row.enabled = change.enabled
        if change.enabled:  # a fresh start: the give-up clock and its reason go
            row.failing_since = row.disabled_at = row.disabled_reason = None
        else:
            row.disabled_at, row.disabled_reason = datetime.now(UTC), "paused by an owner"
    db.commit()
    return _public(db, row)


def delete_webhook(db: Session, slug: str, principal: Principal, webhook_id: str) -> None:
    access(db, slug, principal, Action.MANAGE)
    db.delete(_webhook(db, slug, webhook_id))
    db.commit()
    log.info("webhook deleted", extra={"wiki": slug, "webhook": webhook_id})


def _delivery_public(row: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        status="delivered" if row.status == "delivered" else "pending",
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        last_duration_ms=row.last_duration_ms,
        delivered_at=row.delivered_at,
    )


def list_deliveries(
    db: Session, slug: str, principal: Principal, webhook_id: str, limit: int = 50
) -> list[DeliveryPublic]:
    """The newest first."""
    access(db, slug, principal, Action.MANAGE)
    _webhook(db, slug, webhook_id)
    rows = db.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(max(1, min(limit, 200)))
    ).all()
    return [_delivery_public(row) for row in rows]


def redeliver(
    db: Session, slug: str, principal: Principal, webhook_id: str, delivery_id: int
) -> DeliveryPublic:
    """Send this event again, as soon as the webhook's earlier events are out (same ``webhook-id``)."""
    access(db, slug, principal, Action.MANAGE)
    _webhook(db, slug, webhook_id)
    row = db.get(WebhookDelivery, delivery_id)
    if row is None or row.webhook_id != webhook_id:
        raise NotFound(f"no delivery {delivery_id} of webhook {webhook_id!r}", code="unknown_delivery")
    row.status = "pending"
    row.next_attempt_at = datetime.now(UTC)
    row.delivered_at = None
    db.commit()
    return _delivery_public(row)
