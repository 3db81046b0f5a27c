"""The management API under ``/api`` (OpenAPI at ``/api/docs``): the same operations as the UI, in JSON."""

from __future__ import annotations

from fastapi import APIRouter

from ..schemas import ErrorBody
from . import admin, me, members, proposals, tokens, undo, webhooks, wikis

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 412, 413, 422, 428, 429, 503)
}

router = APIRouter(prefix="/api", responses=ERRORS)
for module in (me, wikis, members, tokens, undo, proposals, webhooks, admin):
    router.include_router(module.router)
