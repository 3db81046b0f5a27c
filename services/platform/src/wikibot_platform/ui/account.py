"""``/app/account``: who you are, your tier, export everything, delete your account."""

from __future__ import annotations

from fastapi import APIRouter, Form
from fastapi.responses import FileResponse, RedirectResponse, Response

from wikibot_shared.errors import AuthError, WikibotError

from ..api.me import export_response
from ..auth.sessions import clear_session_cookie
from ..deps import DbDep, SettingsDep, UserDep
from ..services import accounts
from ..templating import render
from . import flash
from .common import Page, PageDep, page_with_error

router = APIRouter(prefix="/app/account")


def account_page(page: Page, error: WikibotError | None = None) -> Response:
    context = {
        "me": accounts.me(page.db, page.settings, page.user),
        "notice": flash.pop(page.redis, page.user).get("message"),
        "error": error,
    }
    return page_with_error(render(page.request, "account.html", context), error)


@router.get("")
def show(page: PageDep) -> Response:
    return account_page(page)


@router.get("/export")
def export(db: DbDep, settings: SettingsDep, user: UserDep) -> FileResponse:
    return export_response(db, settings, user)


@router.post("/delete")
def delete(page: PageDep, confirm: str = Form("")) -> Response:
    try:
        accounts.delete_account(page.db, page.settings, page.user, confirm)
    except AuthError:
        raise
    except WikibotError as exc:
        page.db.rollback()
        return account_page(page, error=exc)
    response = RedirectResponse(f"{page.settings.platform_url}/?deleted=1", status_code=303)
    clear_session_cookie(response, page.settings)
    return response
