""" "Undo this app" in the UI: ``/app/wikis/{slug}/{apps|tokens}/{id}/changes`` lists what one connected app or
token changed (optionally since a date), marks files others changed afterwards (left alone unless ticked), and
reverts the rest in one commit (``services.undo``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from wikibot_shared.errors import AuthError, InputError, WikibotError

from ..schemas import UndoRequest
from ..services import undo
from ..templating import render
from . import flash
from .common import Page, PageDep, form_shape, page_with_error

router = APIRouter(prefix="/app/wikis/{slug}/{kind}/{item_id}")
Kind = Literal["apps", "tokens"]


def _since(text: str | None) -> datetime | None:
    """A form's date (YYYY-MM-DD, UTC midnight) or date and time; blank: everything."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError("the date is YYYY-MM-DD (or YYYY-MM-DDTHH:MM)", code="invalid_date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def changes_page(
    page: Page, slug: str, kind: Kind, item_id: str, since: str | None, *, error: WikibotError | None = None
) -> Response:
    found = undo.activity(page.db, page.settings, slug, page.user, kind, item_id, _since(since))
    context: dict[str, Any] = {
        "slug": slug,
        "a": found,
        "since_text": since or "",
        "error": error,
        "notice": flash.pop(page.redis, page.user).get("message"),
    }
    return page_with_error(render(page.request, "changes.html", context), error)


@router.get("/changes")
def show(slug: str, kind: Kind, item_id: str, page: PageDep, since: str | None = None) -> Response:
    try:
        return changes_page(page, slug, kind, item_id, since)
    except InputError as exc:
        return changes_page(page, slug, kind, item_id, None, error=exc)


@router.post("/undo")
async def revert(slug: str, kind: Kind, item_id: str, request: Request, page: PageDep) -> Response:
    form = await request.form()
    since = str(form.get("since") or "")
    try:
        change = form_shape(
            UndoRequest,
            since=_since(since),
            expect_head=str(form.get("expect_head") or "") or None,
            confirm=[str(k)[len("confirm:") :] for k in form if str(k).startswith("confirm:")] or None,
        )
        done = undo.revert(page.db, page.settings, page.redis, slug, page.user, kind, item_id, change)
    except AuthError:
        raise
    except WikibotError as exc:
        page.db.rollback()
        return changes_page(
            page, slug, kind, item_id, since if not isinstance(exc, InputError) else None, error=exc
        )
    left = f"; left alone (changed by others since): {', '.join(done.left_alone)}" if done.left_alone else ""
    flash.push(page.redis, page.user, message=f"Undone in one commit: {', '.join(done.reverted)}{left}.")
    query = f"?since={since}" if since else ""
    return RedirectResponse(
        f"{page.settings.platform_url}/app/wikis/{slug}/{kind}/{item_id}/changes{query}", 303
    )
