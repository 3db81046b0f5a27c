"""``/api/wikis``: list, create, read, change and delete wikis."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from .. import limits
from ..config import PlatformSettings
from ..deps import DbDep, OptionalUserDep, RedisDep, SettingsDep, UserDep
from ..manage import wikis
from ..manage.bootstrap import connect_lines
from ..manage.wikis import WikiView
from .schemas import WikiCreate, WikiPublic, WikiUpdate

router = APIRouter(prefix="/wikis", tags=["wikis"])


def public(settings: PlatformSettings, view: WikiView) -> WikiPublic:
    lines = connect_lines(settings, view.slug)
    return WikiPublic(
        slug=view.slug,
        display_name=view.display_name,
        is_public=view.is_public,
        role=view.role,
        owner_did=view.owner_did,
        owner_handle=view.owner_handle,
        tier=view.tier,
        payment_status=view.payment_status,
        read_only=view.is_lapsed,
        created_at=view.created_at,
        page_count=view.page_count,
        bytes=view.bytes,
        url=settings.wiki_url(view.slug),
        mcp_url=lines["mcp_url"],
        git_url=f"{settings.wiki_url(view.slug)}/repo.git",
        settings_url=f"{settings.platform_url}/app/wikis/{view.slug}",
    )


@router.get("", response_model=list[WikiPublic])
def list_wikis(db: DbDep, settings: SettingsDep, user: UserDep) -> list[WikiPublic]:
    """Wikis you own, then wikis shared with you."""
    return [public(settings, v) for v in wikis.list_wikis(db, user)]


@router.post("", response_model=WikiPublic, status_code=201)
def create_wiki(
    request: Request, body: WikiCreate, db: DbDep, settings: SettingsDep, client: RedisDep, user: UserDep
) -> WikiPublic:
    """Create a wiki from the bootstrap template (a Home page and conventions for agents)."""
    limits.enforce(request, "wiki_create", str(user.did))
    view = wikis.create_wiki(
        db,
        settings,
        client,
        user,
        slug=body.slug,
        display_name=body.display_name,
        is_public=body.is_public,
    )
    return public(settings, view)


@router.get("/{slug}", response_model=WikiPublic)
def get_wiki(slug: str, db: DbDep, settings: SettingsDep, user: OptionalUserDep) -> WikiPublic:
    """A wiki you can read (public wikis need no sign-in)."""
    return public(settings, wikis.get_wiki(db, slug, user))


@router.patch("/{slug}", response_model=WikiPublic)
def update_wiki(slug: str, body: WikiUpdate, db: DbDep, settings: SettingsDep, user: UserDep) -> WikiPublic:
    """Change the display name or visibility (owners)."""
    view = wikis.update_wiki(db, user, slug, display_name=body.display_name, is_public=body.is_public)
    return public(settings, view)


@router.delete("/{slug}", status_code=204)
def delete_wiki(slug: str, db: DbDep, settings: SettingsDep, user: UserDep) -> Response:
    """Delete the wiki, its repository and search index, collaborators, tokens and connected apps (owners)."""
    wikis.delete_wiki(db, settings, user, slug)
    return Response(status_code=204)
