"""``/app/admin``: platform statistics for the DIDs in ``ADMIN_DIDS``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..deps import DbDep, SettingsDep, UserDep
from ..services import stats
from ..templating import render

router = APIRouter()


@router.get("/app/admin")
def show(request: Request, db: DbDep, settings: SettingsDep, user: UserDep) -> Response:
    stats.require_admin(settings, user)
    data = stats.platform_stats(db, settings, request.app.state.engine, request.app.state.redis)
    return render(request, "admin.html", {"stats": data})
