"""The landing page and the dashboard (your wikis, and the form that creates one)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from wikibot_shared.errors import AuthError, WikibotError

from .. import limits
from ..deps import DbDep, OptionalUserDep, RedisDep, SettingsDep, UserDep
from ..manage import accounts, wikis
from ..templating import render
from . import flash
from .common import page_with_error

router = APIRouter()


@router.get("/")
def landing(request: Request, user: OptionalUserDep) -> Response:
    return render(request, "landing.html")


def dashboard_page(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
    *,
    error: WikibotError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    me = accounts.me(db, settings, user)
    context = {
        "me": me,
        "wikis": wikis.list_wikis(db, user),
        "notice": flash.pop(client, user).get("message"),
        "error": error,
        "form": form or {"slug": "", "display_name": "", "visibility": "private"},
    }
    return page_with_error(render(request, "dashboard.html", context), error)


@router.get("/app")
def dashboard(
    request: Request, db: DbDep, settings: SettingsDep, client: RedisDep, user: UserDep
) -> Response:
    return dashboard_page(request, db, settings, client, user)


@router.post("/app/wikis")
def create_wiki(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
    slug: str = Form(""),
    display_name: str = Form(""),
    visibility: str = Form("private"),
) -> Response:
    form = {"slug": slug, "display_name": display_name, "visibility": visibility}
    try:
        limits.enforce(request, "wiki_create", str(user.did))
        view = wikis.create_wiki(
            db,
            settings,
            client,
            user,
            slug=slug.strip().lower(),
            display_name=display_name,
            is_public=visibility == "public",
        )
    except AuthError:
        raise
    except WikibotError as exc:
        db.rollback()
        return dashboard_page(request, db, settings, client, user, error=exc, form=form)
    flash.push(client, user, message=f"Created {view.display_name}. Connect an agent below.")
    return RedirectResponse(f"{settings.platform_url}/app/wikis/{view.slug}", status_code=303)
