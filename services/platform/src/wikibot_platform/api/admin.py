"""``/api/admin``: platform statistics for the DIDs in ``ADMIN_DIDS``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..deps import DbDep, SettingsDep, UserDep
from ..services import stats

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/stats")
def platform_stats(request: Request, db: DbDep, settings: SettingsDep, user: UserDep) -> dict[str, Any]:
    """Users, wikis, pages, storage, queue depth and the health of every service."""
    stats.require_admin(settings, user)
    return stats.platform_stats(db, settings, request.app.state.engine, request.app.state.redis)
