"""``/api/me``: who is signed in, their export, and deleting the account."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from ..auth import csrf
from ..auth.sessions import clear_session_cookie
from ..deps import DbDep, SettingsDep, UserDep
from ..schemas import MePublic
from ..services import accounts

router = APIRouter(tags=["account"])


@router.get("/me", response_model=MePublic)
def get_me(request: Request, db: DbDep, settings: SettingsDep, user: UserDep) -> MePublic:
    """The signed-in person, their tier's limits and the CSRF token for cookie-authenticated scripts."""
    me = accounts.me(db, settings, user)
    return MePublic(**dict(me), csrf_token=csrf.token_for(request, user))


def export_response(db: DbDep, settings: SettingsDep, user: UserDep) -> FileResponse:
    workdir = Path(tempfile.mkdtemp(prefix="wikibot-export-"))
    try:
        archive = accounts.export_archive(db, settings, user, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    name = f"wikibot-export-{(user.handle or 'me').replace('/', '_')}.tar"
    return FileResponse(
        archive,
        media_type="application/x-tar",
        filename=name,
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True),
    )


@router.get(
    "/me/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/x-tar": {}}}},
)
def export(db: DbDep, settings: SettingsDep, user: UserDep) -> FileResponse:
    """A tar of git bundles, one per wiki you own or share, and a JSON manifest."""
    return export_response(db, settings, user)


@router.delete("/me", status_code=204)
def delete_me(
    db: DbDep,
    settings: SettingsDep,
    user: UserDep,
    confirm: str = Query(..., max_length=600, description="your username (or handle, or DID)"),
) -> Response:
    """Delete your account, every wiki you own and your place on others' wikis. Cannot be undone."""
    accounts.delete_account(db, settings, user, confirm)
    response = Response(status_code=204)
    clear_session_cookie(response, settings)
    return response
