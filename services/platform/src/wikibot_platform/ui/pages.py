"""The landing page and the dashboard (your wikis, and the form that creates one)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from wikibot_shared.errors import AuthError, WikibotError

from ..deps import OptionalUserDep
from ..schemas import WikiCreate
from ..services import accounts, wikis
from ..templating import render
from . import flash
from .common import Page, PageDep, form_shape, page_with_error

router = APIRouter()


@router.get("/")
def landing(request: Request, user: OptionalUserDep) -> Response:
    return render(request, "landing.html")


def dashboard_page(
    page: Page, *, error: WikibotError | None = None, form: dict[str, str] | None = None
) -> Response:
    context = {
        "me": accounts.me(page.db, page.settings, page.user),
        "wikis": wikis.list_wikis(page.db, page.settings, page.user),
        "notice": flash.pop(page.redis, page.user).get("message"),
        "error": error,
        "form": form or {"slug": "", "display_name": "", "visibility": "private"},
    }
    return page_with_error(render(page.request, "dashboard.html", context), error)


@router.get("/app")
def dashboard(page: PageDep) -> Response:
    return dashboard_page(page)


@router.post("/app/wikis")
def create_wiki(
    page: PageDep,
    slug: str = Form(""),
    display_name: str = Form(""),
    visibility: str = Form("private"),
) -> Response:
    form = {"slug": slug, "display_name": display_name, "visibility": visibility}
    new = form_shape(
        WikiCreate, slug=slug.strip().lower(), display_name=display_name, is_public=visibility == "public"
    )
    try:
        view = wikis.create_wiki(page.db, page.settings, page.redis, page.user, new)
    except AuthError:
        raise
    except WikibotError as exc:
        page.db.rollback()
        return dashboard_page(page, error=exc, form=form)
    flash.push(page.redis, page.user, message=f"Created {view.display_name}. Connect an agent below.")
    return RedirectResponse(f"{page.settings.platform_url}/app/wikis/{view.slug}", status_code=303)
