"""A wiki's settings page ``/app/wikis/{slug}``: overview and connect panel, collaborators, tokens, connected
apps, settings, and deletion. Owners manage; collaborators see the wiki and manage their own tokens and apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from wikibot_shared import pathrules
from wikibot_shared.errors import AuthError, InputError, WikibotError
from wikibot_shared.models import Role
from wikibot_shared.verify import Principal

from ..schemas import (
    AppUpdate,
    MemberCreate,
    MemberUpdate,
    TokenCreate,
    TokenUpdate,
    WebhookCreate,
    WebhookUpdate,
    WikiUpdate,
)
from ..services import apps, members, proposals, tokens, webhooks, wikis
from ..services.bootstrap import connect_lines
from ..templating import render
from ..webhooks import outbound_for
from . import flash
from .common import Page, PageDep, form_shape, page_with_error

router = APIRouter(prefix="/app/wikis/{slug}")


WRITERS = (Role.OWNER.value, Role.EDITOR.value)
STEP_NAMES = {
    "registered": "Registered with Wikibot",
    "consented": "You allowed it",
    "token_issued": "Fetched its first token",
    "first_call": "First request to the wiki",
    "last_call": "Last request to the wiki",
    "last_refresh": "Last refreshed its token",
    "last_refusal": "Last refused",
}


def settings_page(
    page: Page, slug: str, *, error: WikibotError | None = None, section: str | None = None
) -> Response:
    db, settings, user = page.db, page.settings, page.user
    view = wikis.get_wiki(db, settings, slug, user)
    notice = flash.pop(page.redis, user)
    member = view.role is not None
    hooks = webhooks.list_webhooks(db, slug, user) if view.role == Role.OWNER.value else []
    context: dict[str, Any] = {
        "wiki": view,
        "is_owner": view.role == Role.OWNER.value,
        "can_write": view.role in (Role.OWNER.value, Role.EDITOR.value),
        "members": members.list_members(db, slug, user) if member else [],
        "tokens": tokens.list_tokens(db, slug, user) if member else [],
        "apps": apps.list_apps(db, slug, user) if member else [],
        "lines": connect_lines(settings, slug, notice.get("token")),
        "wiki_url": settings.wiki_url(slug),
        "new_token": notice.get("token"),
        "notice": notice.get("message"),
        "error": error,
        "error_section": section,
        "roles": members.ROLES,
        "webhooks": hooks,
        "deliveries": {h.id: webhooks.list_deliveries(db, slug, user, h.id, limit=10) for h in hooks},
        "new_webhook_secret": notice.get("webhook_secret"),
        "step_names": STEP_NAMES,
        "proposals": (
            proposals.list_proposals(db, settings, slug, user)[:50] if view.role in WRITERS else []
        ),
    }
    context["open_proposals"] = sum(p.state == "open" for p in context["proposals"])
    return page_with_error(render(page.request, "wiki.html", context), error)


@router.get("")
def show(slug: str, page: PageDep) -> Response:
    return settings_page(page, slug)


def act(page: Page, slug: str, section: str, action: Callable[[], str | None]) -> Response:
    """Run a form's action; on success go back to the page (its section) with a notice, else show why not."""
    try:
        message = action()
    except AuthError:
        raise
    except WikibotError as exc:
        page.db.rollback()
        return settings_page(page, slug, error=exc, section=section)
    if message:
        flash.push(page.redis, page.user, message=message)
    return RedirectResponse(f"{page.settings.platform_url}/app/wikis/{slug}#{section}", status_code=303)


@router.post("/settings")
def update(
    slug: str,
    page: PageDep,
    display_name: str = Form(""),
    visibility: str = Form("private"),
    agents_propose: str = Form(""),
) -> Response:
    def run() -> str:
        if visibility not in ("private", "public"):
            raise InputError("visibility must be private or public", code="invalid_request")
        change = form_shape(
            WikiUpdate,
            display_name=display_name,
            is_public=visibility == "public",
            agents_propose=agents_propose == "on",
        )
        wikis.update_wiki(page.db, page.settings, page.user, slug, change)
        return "Settings saved."

    return act(page, slug, "settings", run)


@router.post("/members")
def add_member(
    slug: str, page: PageDep, who: str = Form(""), role: str = Form("viewer"), paths: str = Form("")
) -> Response:
    def run() -> str:
        ref = who.strip()
        if not ref:
            raise InputError("enter a handle (alice.bsky.social) or a DID", code="invalid_request")
        is_did = ref.startswith("did:")
        new = form_shape(
            MemberCreate,
            role=role,
            handle=None if is_did else ref,
            did=ref if is_did else None,
            paths=_paths(paths),
        )
        resolver = page.request.app.state.handle_resolver
        view = members.add_member(page.db, page.user, slug, new, resolver=resolver)
        return f"Added {'@' + view.handle if view.handle else view.did} as {view.role}."

    return act(page, slug, "members", run)


@router.post("/members/{did}/role")
def set_role(slug: str, did: str, page: PageDep, role: str = Form(""), paths: str = Form("")) -> Response:
    def run() -> str:
        limit = _paths(paths) if role == Role.EDITOR.value else None
        change = form_shape(MemberUpdate, role=role, paths=limit)
        view = members.set_role(page.db, page.user, slug, did, change)
        where = f", writing only under {', '.join(view.paths)}" if view.paths else ""
        return f"{'@' + view.handle if view.handle else view.did} is now {view.role}{where}."

    return act(page, slug, "members", run)


@router.post("/members/{did}/remove")
def remove_member(slug: str, did: str, page: PageDep) -> Response:
    def run() -> str:
        members.remove_member(page.db, page.user, slug, did)
        return "You left the wiki." if did == page.user.did else "Collaborator removed."

    result = act(page, slug, "members", run)
    if did == page.user.did and result.status_code == 303:
        return RedirectResponse(f"{page.settings.platform_url}/app", status_code=303)
    return result


@router.post("/tokens")
def create_token(
    slug: str,
    page: PageDep,
    name: str = Form(""),
    access: str = Form("read"),
    expires_in_days: str = Form(""),
    paths: str = Form(""),
) -> Response:
    def run() -> None:
        if access not in ("read", "write"):
            raise InputError("access must be read or write", code="invalid_scope")
        days = expires_in_days.strip()
        if days and not days.isdigit():
            raise InputError("expiry: a number of days, or empty for none", code="invalid_expiry")
        scopes = ["wiki:read", "wiki:write"] if access == "write" else ["wiki:read"]
        new = form_shape(
            TokenCreate,
            name=name,
            scopes=scopes,
            expires_in_days=int(days) if days else None,
            paths=_paths(paths),
        )
        created = tokens.create_token(page.db, page.settings, page.redis, slug, page.user, new)
        flash.push(
            page.redis,
            page.user,
            message=f"Token “{created.name}” created. Copy it now: it will not be shown again.",
            token=created.token,
        )

    return act(page, slug, "tokens", run)


@router.post("/tokens/{token_id}/paths")
def set_token_paths(slug: str, token_id: str, page: PageDep, paths: str = Form("")) -> Response:
    def run() -> str:
        change = form_shape(TokenUpdate, paths=_paths(paths))
        view = tokens.set_token_paths(page.db, slug, page.user, token_id, change)
        where = f"writes only under {', '.join(view.paths)}" if view.paths else "writes anywhere in the wiki"
        return f"Token “{view.name}” now {where}."

    return act(page, slug, "tokens", run)


@router.post("/apps/{grant_id}/paths")
def set_app_paths(slug: str, grant_id: str, page: PageDep, paths: str = Form("")) -> Response:
    def run() -> str:
        view = apps.set_app_paths(
            page.db, slug, page.user, grant_id, form_shape(AppUpdate, paths=_paths(paths))
        )
        where = f"writes only under {', '.join(view.paths)}" if view.paths else "writes anywhere in the wiki"
        return f"{view.client_name} now {where}."

    return act(page, slug, "apps", run)


REVIEW_DONE = {
    "propose": "now proposes its writes for review",
    "direct": "now writes directly",
    "wiki": "follows the wiki's setting",
}


@router.post("/tokens/{token_id}/review")
def set_token_review(slug: str, token_id: str, page: PageDep, review: str = Form("")) -> Response:
    def run() -> str:
        view = tokens.set_token_paths(
            page.db, slug, page.user, token_id, form_shape(TokenUpdate, review=review)
        )
        return f"Token “{view.name}” {REVIEW_DONE[view.review]}."

    return act(page, slug, "tokens", run)


@router.post("/apps/{grant_id}/review")
def set_app_review(slug: str, grant_id: str, page: PageDep, review: str = Form("")) -> Response:
    def run() -> str:
        view = apps.set_app_paths(page.db, slug, page.user, grant_id, form_shape(AppUpdate, review=review))
        return f"{view.client_name} {REVIEW_DONE[view.review]}."

    return act(page, slug, "apps", run)


def _paths(text: str) -> list[str] | None:
    """A form's folders (comma-separated; blank: the whole wiki), checked as the API checks them."""
    parsed = pathrules.parse_text(text)
    return None if parsed is None else list(parsed)


Revoke = Callable[[Session, str, Principal, str], None]


def _revoke_route(section: str, revoke: Revoke, done: str) -> Callable[..., Response]:
    """The form that revokes one of the wiki's credentials (a token, a connected app) by its id."""

    def revoke_one(slug: str, item_id: str, page: PageDep) -> Response:
        def run() -> str:
            revoke(page.db, slug, page.user, item_id)
            return done

        return act(page, slug, section, run)

    return revoke_one


router.post("/tokens/{item_id}/revoke", name="revoke_token")(
    _revoke_route("tokens", tokens.revoke_token, "Token revoked.")
)
router.post("/apps/{item_id}/revoke", name="revoke_app")(
    _revoke_route(
        "apps", apps.revoke_app, "App disconnected. “What it changed (undo)” beside it reverts what it wrote."
    )
)


@router.post("/webhooks")
def add_webhook(slug: str, page: PageDep, url: str = Form("")) -> Response:
    def run() -> None:
        box, http = outbound_for(page.request.app)
        new = form_shape(WebhookCreate, url=url, kind=None, events=None)
        made = webhooks.create_webhook(page.db, box, http, page.settings.wikis_dir, slug, page.user, new)
        message = f"Webhook to {made.url_host} added ({made.kind})."
        if made.secret:
            message += " Copy its signing secret now: it will not be shown again."
        flash.push(page.redis, page.user, message=message, webhook_secret=made.secret)

    return act(page, slug, "webhooks", run)


@router.post("/webhooks/{webhook_id}/enable")
def enable_webhook(slug: str, webhook_id: str, page: PageDep) -> Response:
    def run() -> str:
        webhooks.update_webhook(
            page.db, slug, page.user, webhook_id, form_shape(WebhookUpdate, enabled=True, events=None)
        )
        return "Webhook enabled; it resumes with the events it had not delivered yet."

    return act(page, slug, "webhooks", run)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
def redeliver(slug: str, webhook_id: str, delivery_id: int, page: PageDep) -> Response:
    def run() -> str:
        again = webhooks.redeliver(page.db, slug, page.user, webhook_id, delivery_id)
        return f"{again.event_type} will be sent again, after this webhook's earlier events."

    return act(page, slug, "webhooks", run)


@router.post("/webhooks/{webhook_id}/delete")
def delete_webhook(slug: str, webhook_id: str, page: PageDep) -> Response:
    def run() -> str:
        webhooks.delete_webhook(page.db, slug, page.user, webhook_id)
        return "Webhook removed."

    return act(page, slug, "webhooks", run)


@router.post("/delete")
def delete(slug: str, page: PageDep, confirm: str = Form("")) -> Response:
    def run() -> None:
        if confirm.strip() != slug:
            raise InputError(
                f"type the wiki's name ({slug}) to confirm deletion", code="confirmation_mismatch"
            )
        wikis.delete_wiki(page.db, page.settings, page.user, slug)

    result = act(page, slug, "delete", run)
    if result.status_code == 303:
        flash.push(page.redis, page.user, message=f"Deleted {slug}.")
        return RedirectResponse(f"{page.settings.platform_url}/app", status_code=303)
    return result
