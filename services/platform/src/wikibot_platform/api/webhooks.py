"""``/api/wikis/{slug}/webhooks``: where a wiki's changes are sent (owners only; docs/webhooks.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ..deps import DbDep, UserDep
from ..schemas import DeliveryPublic, WebhookCreate, WebhookCreated, WebhookPublic, WebhookUpdate
from ..services import webhooks
from ..webhooks import outbound_for

router = APIRouter(prefix="/wikis/{slug}/webhooks", tags=["webhooks"])


@router.get("", response_model=list[WebhookPublic])
def list_webhooks(slug: str, db: DbDep, user: UserDep) -> list[WebhookPublic]:
    return webhooks.list_webhooks(db, slug, user)


@router.post("", response_model=WebhookCreated, status_code=201)
def create_webhook(
    slug: str, body: WebhookCreate, request: Request, db: DbDep, user: UserDep
) -> WebhookCreated:
    """A new webhook; a standard one's signing secret is in this response only."""
    box, http = outbound_for(request.app)
    wikis_dir = request.app.state.settings.wikis_dir
    return webhooks.create_webhook(db, box, http, wikis_dir, slug, user, body)


@router.patch("/{webhook_id}", response_model=WebhookPublic)
def update_webhook(
    slug: str, webhook_id: str, body: WebhookUpdate, db: DbDep, user: UserDep
) -> WebhookPublic:
    """Pause or enable it again, or change its events."""
    return webhooks.update_webhook(db, slug, user, webhook_id, body)


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(slug: str, webhook_id: str, db: DbDep, user: UserDep) -> Response:
    webhooks.delete_webhook(db, slug, user, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryPublic])
def list_deliveries(
    slug: str, webhook_id: str, db: DbDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[DeliveryPublic]:
    """Its deliveries, newest first: each one's status, attempts, last answer and timing."""
    return webhooks.list_deliveries(db, slug, user, webhook_id, limit)


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", response_model=DeliveryPublic)
def redeliver(slug: str, webhook_id: str, delivery_id: int, db: DbDep, user: UserDep) -> DeliveryPublic:
    """Send this event again (same ``webhook-id``), after the webhook's earlier undelivered events."""
    return webhooks.redeliver(db, slug, user, webhook_id, delivery_id)
