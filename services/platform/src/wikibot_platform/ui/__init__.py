"""The management UI under ``/app`` (and the landing page): server-rendered forms, no JavaScript needed.

Every form posts with the session's CSRF token; after a change the browser is redirected (303) to the page,
which shows a one-time notice (``flash``) — including, once, the secret of a new token.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import account, admin, pages, proposals, undo, wiki

router = APIRouter(include_in_schema=False)
for module in (pages, wiki, proposals, undo, account, admin):
    router.include_router(module.router)
