"""REST for a page across its history: ``GET /api/v1/diff/{path}?from=&to=`` and
``POST /api/v1/pages/{path}/restore`` (``If-Match``: the page's current ETag, as for every replacement); and
``GET /api/v1/proposals``, what an agent proposed (people review them in the platform, ``/api/wikis/{slug}``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from wikibot_shared.asgi import error_responses
from wikibot_shared.errors import WikibotError

from .rest import WRITTEN, Core, IfMatch, Reader, Writer, _base, _preconditions, _with_etag, _written_status

router = APIRouter(prefix="/api/v1", responses=error_responses())


class PageRestore(BaseModel):
    commit: str = Field(description="a commit from the page's history")
    message: str | None = None


@router.get("/diff/{path:path}", tags=["history"])
def page_diff(
    path: str,
    actor: Reader,
    core: Core,
    from_commit: Annotated[str, Query(alias="from", description="a commit from the page's history")],
    to_commit: Annotated[str | None, Query(alias="to", description="another commit; default: now")] = None,
) -> dict[str, Any]:
    """The page's unified diff between two commits, or from one to now."""
    return core.diff(actor, path, from_commit, to_commit)


@router.post("/pages/{path:path}/restore", tags=["pages"], responses=WRITTEN)
def restore_page(
    path: str, body: PageRestore, actor: Writer, core: Core, if_match: IfMatch = None
) -> JSONResponse:
    """Put the page back as it was at a commit, as a new commit (a deleted page comes back without If-Match)."""
    try:
        result = core.restore(
            actor, path, body.commit, base_revision=_base(if_match)[0], message=body.message
        )
    except WikibotError as exc:
        raise _preconditions(exc, if_match) from None
    return _with_etag(result, _written_status(result))


@router.get("/proposals", tags=["proposals"])
def list_proposals(
    actor: Reader, core: Core, state: Literal["open", "approved", "rejected"] | None = None
) -> dict[str, Any]:
    """An agent's own proposals (on a wiki where its writes are reviewed), or every proposal for a writer."""
    return core.list_proposals(actor, state=state)
