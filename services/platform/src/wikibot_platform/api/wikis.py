"""``/api/wikis``: list, create, read, change and delete wikis."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..deps import DbDep, OptionalUserDep, RedisDep, SettingsDep, UserDep
from ..schemas import WikiCreate, WikiPublic, WikiUpdate
from ..services import wikis

router = APIRouter(prefix="/wikis", tags=["wikis"])


@router.get("", response_model=list[WikiPublic])
def list_wikis(db: DbDep, settings: SettingsDep, user: UserDep) -> list[WikiPublic]:
    """Wikis you own, then wikis shared with you."""
    return wikis.list_wikis(db, settings, user)


@router.post("", response_model=WikiPublic, status_code=201)
def create_wiki(
    body: WikiCreate, db: DbDep, settings: SettingsDep, client: RedisDep, user: UserDep
) -> WikiPublic:
    """Create a wiki from the bootstrap template (a Home page and conventions for agents)."""
    return wikis.create_wiki(db, settings, client, user, body)


@router.get("/{slug}", response_model=WikiPublic)
def get_wiki(slug: str, db: DbDep, settings: SettingsDep, user: OptionalUserDep) -> WikiPublic:
    """A wiki you can read (public wikis need no sign-in)."""
    return wikis.get_wiki(db, settings, slug, user)


@router.patch("/{slug}", response_model=WikiPublic)
def update_wiki(slug: str, body: WikiUpdate, db: DbDep, settings: SettingsDep, user: UserDep) -> WikiPublic:
    """Change the display name or visibility (owners)."""
    return wikis.update_wiki(db, settings, user, slug, body)


@router.delete("/{slug}", status_code=204)
def delete_wiki(slug: str, db: DbDep, settings: SettingsDep, user: UserDep) -> Response:
    """Delete the wiki, its repository and search index, collaborators, tokens and connected apps (owners)."""
    wikis.delete_wiki(db, settings, user, slug)
    return Response(status_code=204)
