"""A wiki's settings page ``/app/wikis/{slug}``: overview and connect panel, collaborators, tokens, connected
apps, settings, and deletion. Owners manage; collaborators see the wiki and manage their own tokens and apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from wikibot_shared.errors import AuthError, InputError, WikibotError
from wikibot_shared.models import Role
from wikibot_shared.verify import Principal

from .. import limits
from ..deps import DbDep, RedisDep, SettingsDep, UserDep
from ..manage import apps, members, tokens, wikis
from ..manage.bootstrap import connect_lines
from ..templating import render
from . import flash
from .common import page_with_error

router = APIRouter(prefix="/app/wikis/{slug}")


def settings_page(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
    slug: str,
    *,
    error: WikibotError | None = None,
    section: str | None = None,
) -> Response:
    view = wikis.get_wiki(db, slug, user)
    notice = flash.pop(client, user)
    member = view.role is not None
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
    }
    return page_with_error(render(request, "wiki.html", context), error)


@router.get("")
def show(
    request: Request, slug: str, db: DbDep, settings: SettingsDep, client: RedisDep, user: UserDep
) -> Response:
    return settings_page(request, db, settings, client, user, slug)


def act(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: Principal,
    slug: str,
    section: str,
    action: Callable[[], str | None],
) -> Response:
    """Run a form's action; on success go back to the page (its section) with a notice, else show why not."""
    try:
        message = action()
    except AuthError:
        raise
    except WikibotError as exc:
        db.rollback()
        return settings_page(request, db, settings, client, user, slug, error=exc, section=section)
    if message:
        flash.push(client, user, message=message)
    return RedirectResponse(f"{settings.platform_url}/app/wikis/{slug}#{section}", status_code=303)


@router.post("/settings")
def update(
    request: Request,
    slug: str,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
    display_name: str = Form(""),
    visibility: str = Form("private"),
) -> Response:
    def run() -> str:
        if visibility not in ("private", "public"):
            raise InputError("visibility must be private or public", code="invalid_request")
        wikis.update_wiki(db, user, slug, display_name=display_name, is_public=visibility == "public")
        return "Settings saved."

    return act(request, db, settings, client, user, slug, "settings", run)


@router.post("/members")
def add_member(
    request: Request,
    slug: str,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
    who: str = Form(""),
    role: str = Form("viewer"),
) -> Response:
    def run() -> str:
        ref = who.strip()
        if not ref:
            raise InputError("enter a handle (alice.bsky.social) or a DID", code="invalid_request")
        is_did = ref.startswith("did:")
        view = members.add_member(
            db,
            user,
            slug,
            role=role,
            handle=None if is_did else ref,
            did=ref if is_did else None,
            resolver=request.app.state.handle_resolver,
        )
        return f"Added {'@' + view.handle if view.handle else view.did} as {view.role}."

    return act(request, db, settings, client, user, slug, "members", run)


@router.post("/members/{did}/role")
def set_role(
    request: Request,
    slug: str,
    did: str,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
    role: str = Form(""),
) -> Response:
    def run() -> str:
        view = members.set_role(db, user, slug, did, role)
        return f"{'@' + view.handle if view.handle else view.did} is now {view.role}."

    return act(request, db, settings, client, user, slug, "members", run)


@router.post("/members/{did}/remove")
def remove_member(
    request: Request, slug: str, did: str, db: DbDep, settings: SettingsDep, client: RedisDep, user: UserDep
) -> Response:
    def run() -> str:
        members.remove_member(db, user, slug, did)
        return "You left the wiki." if did == user.did else "Collaborator removed."

    if did == user.did:
        result = act(request, db, settings, client, user, slug, "members", run)
        if result.status_code == 303:
            return RedirectResponse(f"{settings.platform_url}/app", status_code=303)
        return result
    return act(request, db, settings, client, user, slug, "members", run)


@router.post("/tokens")
def create_token(
    request: Request,
    slug: str,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
    name: str = Form(""),
    access: str = Form("read"),
    expires_in_days: str = Form(""),
) -> Response:
    def run() -> None:
        if access not in ("read", "write"):
            raise InputError("access must be read or write", code="invalid_scope")
        days = expires_in_days.strip()
        if days and not days.isdigit():
            raise InputError("expiry: a number of days, or empty for none", code="invalid_expiry")
        limits.enforce(request, "token_create", str(user.did))
        scopes = ["wiki:read", "wiki:write"] if access == "write" else ["wiki:read"]
        view, secret = tokens.create_token(
            db, slug, user, name=name, scopes=scopes, expires_in_days=int(days) if days else None
        )
        flash.push(
            client,
            user,
            message=f"Token “{view.name}” created. Copy it now: it will not be shown again.",
            token=secret,
        )

    return act(request, db, settings, client, user, slug, "tokens", run)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    slug: str,
    token_id: str,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
) -> Response:
    def run() -> str:
        tokens.revoke_token(db, slug, user, token_id)
        return "Token revoked."

    return act(request, db, settings, client, user, slug, "tokens", run)


@router.post("/apps/{grant_id}/revoke")
def revoke_app(
    request: Request,
    slug: str,
    grant_id: str,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
) -> Response:
    def run() -> str:
        apps.revoke_app(db, slug, user, grant_id)
        return "App disconnected."

    return act(request, db, settings, client, user, slug, "apps", run)


@router.post("/delete")
def delete(
    request: Request,
    slug: str,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
    confirm: str = Form(""),
) -> Response:
    def run() -> None:
        if confirm.strip() != slug:
            raise InputError(
                f"type the wiki's name ({slug}) to confirm deletion", code="confirmation_mismatch"
            )
        wikis.delete_wiki(db, settings, user, slug)

    result = act(request, db, settings, client, user, slug, "delete", run)
    if result.status_code == 303:
        flash.push(client, user, message=f"Deleted {slug}.")
        return RedirectResponse(f"{settings.platform_url}/app", status_code=303)
    return result
