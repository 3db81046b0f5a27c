"""``/app/account``: who you are, your tier, export everything, delete your account."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from wikibot_shared.errors import AuthError, WikibotError

from ..api.me import export_response
from ..deps import DbDep, RedisDep, SettingsDep, UserDep
from ..manage import accounts
from ..sessions import clear_session_cookie
from ..templating import render
from . import flash
from .common import page_with_error

router = APIRouter(prefix="/app/account")


def account_page(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
    error: WikibotError | None = None,
) -> Response:
    context = {
        "me": accounts.me(db, settings, user),
        "notice": flash.pop(client, user).get("message"),
        "error": error,
    }
    return page_with_error(render(request, "account.html", context), error)


@router.get("")
def show(request: Request, db: DbDep, settings: SettingsDep, client: RedisDep, user: UserDep) -> Response:
    return account_page(request, db, settings, client, user)


@router.get("/export")
def export(db: DbDep, settings: SettingsDep, user: UserDep) -> FileResponse:
    return export_response(db, settings, user)


@router.post("/delete")
def delete(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
    confirm: str = Form(""),
) -> Response:
    try:
        accounts.delete_account(db, settings, user, confirm)
    except AuthError:
        raise
    except WikibotError as exc:
        db.rollback()
        return account_page(request, db, settings, client, user, error=exc)
    response = RedirectResponse(f"{settings.platform_url}/?deleted=1", status_code=303)
    clear_session_cookie(response, settings)
    return response
