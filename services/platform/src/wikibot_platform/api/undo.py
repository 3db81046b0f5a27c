"""``/api/wikis/{slug}/{apps|tokens}/{id}/changes`` and ``…/undo``: what one connected app or token changed on the
wiki, and reverting all of it (since a time) as one commit — "undo this app" (docs/proposals.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ..deps import DbDep, RedisDep, SettingsDep, UserDep
from ..schemas import AgentActivity, UndoRequest, UndoResult
from ..services import undo

router = APIRouter(prefix="/wikis/{slug}", tags=["connected apps"])
Kind = Literal["apps", "tokens"]


@router.get("/{kind}/{item_id}/changes", response_model=AgentActivity)
def changes(
    slug: str,
    kind: Kind,
    item_id: str,
    db: DbDep,
    settings: SettingsDep,
    user: UserDep,
    since: Annotated[datetime | None, Query(description="only from then on (ISO 8601)")] = None,
) -> AgentActivity:
    """Its commits and the files they touched; for each file what undoing would do and who changed it since."""
    return undo.activity(db, settings, slug, user, kind, item_id, since)


@router.post("/{kind}/{item_id}/undo", response_model=UndoResult)
def revert(
    slug: str,
    kind: Kind,
    item_id: str,
    body: UndoRequest,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
) -> UndoResult:
    """Put back every file it changed (since ``since``) as it was before, in one commit; files others changed
    since are left alone unless listed in ``confirm``."""
    return undo.revert(db, settings, client, slug, user, kind, item_id, body)
