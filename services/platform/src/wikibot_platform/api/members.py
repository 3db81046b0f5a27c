"""``/api/wikis/{slug}/members`` (collaborators) and ``/api/wikis/{slug}/apps`` (connected apps)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..deps import DbDep, UserDep
from ..schemas import AppPublic, AppUpdate, MemberCreate, MemberPublic, MemberUpdate
from ..services import apps, members

router = APIRouter(prefix="/wikis/{slug}", tags=["collaborators"])


@router.get("/members", response_model=list[MemberPublic])
def list_members(slug: str, db: DbDep, user: UserDep) -> list[MemberPublic]:
    """Everyone with a role on the wiki, the owner of record first (collaborators only)."""
    return members.list_members(db, slug, user)


@router.post("/members", response_model=MemberPublic, status_code=201)
def add_member(request: Request, slug: str, body: MemberCreate, db: DbDep, user: UserDep) -> MemberPublic:
    """Add a collaborator by handle or DID (owners)."""
    return members.add_member(db, user, slug, body, resolver=request.app.state.handle_resolver)


@router.patch("/members/{did}", response_model=MemberPublic)
def set_role(slug: str, did: str, body: MemberUpdate, db: DbDep, user: UserDep) -> MemberPublic:
    """Change a collaborator's role (owners)."""
    return members.set_role(db, user, slug, did, body)


@router.delete("/members/{did}", status_code=204)
def remove_member(slug: str, did: str, db: DbDep, user: UserDep) -> Response:
    """Remove a collaborator (owners), or leave the wiki (your own DID); their tokens and apps end too."""
    members.remove_member(db, user, slug, did)
    return Response(status_code=204)


@router.get("/apps", response_model=list[AppPublic], tags=["connected apps"])
def list_apps(slug: str, db: DbDep, user: UserDep) -> list[AppPublic]:
    """MCP clients connected over OAuth: all of them for owners, your own otherwise."""
    return apps.list_apps(db, slug, user)


@router.patch("/apps/{grant_id}", response_model=AppPublic, tags=["connected apps"])
def set_app_paths(slug: str, grant_id: str, body: AppUpdate, db: DbDep, user: UserDep) -> AppPublic:
    """Limit where a connected app writes (your own; owners: anyone's), or lift it with ``paths: null``."""
    return apps.set_app_paths(db, slug, user, grant_id, body)


@router.delete("/apps/{grant_id}", status_code=204, tags=["connected apps"])
def revoke_app(slug: str, grant_id: str, db: DbDep, user: UserDep) -> Response:
    """Disconnect an app: its grant and refresh tokens are revoked, its access tokens stop working."""
    apps.revoke_app(db, slug, user, grant_id)
    return Response(status_code=204)
