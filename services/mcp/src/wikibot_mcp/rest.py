"""REST ``/api/v1``: the wiki core over HTTP, documented by OpenAPI at ``/api/v1/openapi.json``.

Pages carry ``ETag`` = their revision. Writes take ``If-Match`` (RFC 9110 §13.1.1): a stale one is 412, and
replacing an existing page without one is 428 (RFC 6585 §3); ``If-None-Match: *`` creates only. Errors are
JSON ``{"error": code, "message"}`` with stable codes. Credentials: a personal access token or OAuth access
token as Bearer, or the platform session cookie — for which writes must come from the wiki's own origin.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from wikibot_shared import acl
from wikibot_shared.asgi import error_responses
from wikibot_shared.errors import Forbidden, InputError, LimitExceeded, WikibotError
from wikibot_shared.tiers import tier_for
from wikibot_shared.web import client_address, read_body

from .errors import PreconditionFailed, PreconditionRequired
from .wiki import Actor, Edit, WikiCore
from .wiki.errors import PageExists, RevisionRequired, StaleRevision

router = APIRouter(prefix="/api/v1", responses=error_responses())
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# -- who is asking ----------------------------------------------------------------------------------------


def _actor(request: Request, action: acl.Action) -> Actor:
    actors = request.app.state.actors
    access = actors.authorize(
        request.headers.get("host"), request.headers, request.cookies, action, address=address_of(request)
    )
    if access.principal.method == "session" and request.method not in SAFE_METHODS:
        # A cookie rides along on cross-site requests; a write must come from the wiki's own pages.
        expected = request.app.state.settings.wiki_url(access.wiki.slug)
        if request.headers.get("origin") != expected:
            raise Forbidden(
                "cross-site request refused: send it from the wiki itself or use a token", code="csrf"
            )
    return actors.actor(access, "rest", action)  # type: ignore[no-any-return]


def address_of(request: Request) -> str:
    return client_address(request.headers, request.client.host if request.client else None)


def read_actor(request: Request) -> Actor:
    return _actor(request, acl.Action.READ)


def write_actor(request: Request) -> Actor:
    return _actor(request, acl.Action.WRITE)


def core_of(request: Request) -> WikiCore:
    return request.app.state.core  # type: ignore[no-any-return]


Reader = Annotated[Actor, Depends(read_actor)]
Writer = Annotated[Actor, Depends(write_actor)]
Core = Annotated[WikiCore, Depends(core_of)]
IfMatch = Annotated[
    str | None, Header(description="The page's ETag; the write is refused (412) if it changed.")
]


def _etags(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip().removeprefix("W/").strip('"') for v in value.split(",") if v.strip()]


def _base(if_match: str | None) -> tuple[str | None, bool]:
    """(base revision, whether one is required) from If-Match; ``*`` means any existing version."""
    tags = _etags(if_match)
    if tags is None:
        return None, True
    if not tags:  # a header sent empty (found by schemathesis: it was a 500)
        raise InputError(
            "If-Match is empty: send the page's ETag (its revision) or *", code="invalid_if_match"
        )
    if "*" in tags:
        return None, False
    return tags[0], True


# The statuses a write answers besides 200, for its OpenAPI.
WRITTEN: dict[int | str, dict[str, Any]] = {
    201: {"description": "the page was created"},
    202: {"description": "held for review: the body's proposal says where it went (docs/proposals.md)"},
}


def _written_status(result: dict[str, Any]) -> int:
    """202 for a change held for review (``proposal`` in the body), 201 for a page created, else 200."""
    if result.get("proposal") and result.get("changed"):
        return 202
    return 201 if result.get("created") and result.get("changed") else 200


def _with_etag(body: dict[str, Any], status: int = 200) -> JSONResponse:
    headers = {"ETag": f'"{body["revision"]}"'} if body.get("revision") else {}
    return JSONResponse(body, status_code=status, headers=headers)


def _preconditions(exc: WikibotError, if_match: str | None) -> WikibotError:
    if isinstance(exc, StaleRevision) and if_match is not None:
        return PreconditionFailed(exc.message)
    if isinstance(exc, RevisionRequired):
        return PreconditionRequired(
            f"page '{exc.page}' exists: send If-Match with its ETag (\"{exc.current}\") to replace it, "
            "or If-Match: * to overwrite whatever is there"
        )
    return exc


# -- schemas ----------------------------------------------------------------------------------------------


class PageWrite(BaseModel):
    content: str = Field(description="The whole page in Markdown.")
    message: str | None = Field(None, description="Commit message.")


class PageEdit(Edit):
    message: str | None = Field(None, description="Commit message.")


class PageRename(BaseModel):
    new_path: str
    update_links: bool = True
    message: str | None = None


# -- pages ------------------------------------------------------------------------------------------------


@router.get("/pages", tags=["pages"])
def list_pages(
    actor: Reader,
    core: Core,
    prefix: str | None = None,
    tag: str | None = None,
    category: str | None = None,
    updated_since: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Pages sorted by path, filtered by path prefix, front-matter tag or category, or last change."""
    return core.list(
        actor,
        prefix=prefix,
        tag=tag,
        category=category,
        updated_since=updated_since,
        limit=limit,
        cursor=cursor,
    )


@router.get("/pages/{path:path}", tags=["pages"])
def read_page(
    path: str,
    actor: Reader,
    core: Core,
    section: str | None = None,
    revision: Annotated[
        str | None, Query(description="A commit id, to read the page as it was then.")
    ] = None,
    proposal: Annotated[
        int | None, Query(ge=1, description="A proposal's id, to read the page as it proposes it.")
    ] = None,
    format: Literal["json", "markdown"] = "json",
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A page (or one section of it), with ``ETag`` = its revision; ``format=markdown`` returns the text alone."""
    page = core.read(actor, path, section=section, revision=revision, proposal=proposal)
    etag = f'"{page["revision"]}"'
    if page["revision"] in (_etags(if_none_match) or []):
        return Response(status_code=304, headers={"ETag": etag})
    if format == "markdown":
        return Response(page["content"], media_type="text/markdown; charset=utf-8", headers={"ETag": etag})
    return _with_etag(page)


@router.put("/pages/{path:path}", tags=["pages"], status_code=200, responses=WRITTEN)
def put_page(
    path: str,
    body: PageWrite,
    actor: Writer,
    core: Core,
    if_match: IfMatch = None,
    if_none_match: Annotated[str | None, Header(description="'*' to create only.")] = None,
) -> JSONResponse:
    """Create a page, or replace it (If-Match required: 428 without, 412 if stale)."""
    base, required = _base(if_match)
    create_only = (_etags(if_none_match) or []) == ["*"]
    try:
        result = core.write(
            actor,
            path,
            body.content,
            base_revision=base,
            message=body.message,
            create_only=create_only,
            require_base=required,
        )
    except WikibotError as exc:
        if create_only and isinstance(exc, PageExists):
            raise PreconditionFailed(str(exc)) from None
        raise _preconditions(exc, if_match) from None
    return _with_etag(result, _written_status(result))


@router.patch("/pages/{path:path}", tags=["pages"], responses=WRITTEN)
def patch_page(
    path: str, body: PageEdit, actor: Writer, core: Core, if_match: IfMatch = None
) -> JSONResponse:
    """Edit part of a page: unique-string replace, append, prepend, section operations, or front-matter keys."""
    try:  # a PageEdit is an Edit, with the commit message beside it
        result = core.edit(actor, path, body, base_revision=_base(if_match)[0], message=body.message)
    except WikibotError as exc:
        raise _preconditions(exc, if_match) from None
    return _with_etag(result, _written_status(result))


@router.delete("/pages/{path:path}", tags=["pages"], responses=WRITTEN)
def delete_page(
    path: str, actor: Writer, core: Core, if_match: IfMatch = None, message: str | None = None
) -> dict[str, Any]:
    """Delete a page and its attachments (subpages stay)."""
    try:
        return core.delete(actor, path, base_revision=_base(if_match)[0], message=message)
    except WikibotError as exc:
        raise _preconditions(exc, if_match) from None


@router.post("/pages/{path:path}/rename", tags=["pages"], responses=WRITTEN)
def rename_page(
    path: str, body: PageRename, actor: Writer, core: Core, if_match: IfMatch = None
) -> JSONResponse:
    """Rename or move a page with its folder; links in other pages are rewritten in the same commit."""
    try:
        result = core.rename(
            actor,
            path,
            body.new_path,
            base_revision=_base(if_match)[0],
            message=body.message,
            update_links=body.update_links,
        )
    except WikibotError as exc:
        raise _preconditions(exc, if_match) from None
    return _with_etag(result, _written_status(result))


# -- history, links, search -------------------------------------------------------------------------------


@router.get("/history/{path:path}", tags=["history"])
def page_history(
    path: str,
    actor: Reader,
    core: Core,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Commits that changed a page, newest first."""
    return core.history(actor, path, limit=limit, offset=offset)


@router.get("/changes", tags=["history"])
def recent_changes(
    actor: Reader,
    core: Core,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    since: str | None = None,
    after: Annotated[
        str | None, Query(description="a `next` this gave: the changes since, oldest first")
    ] = None,
) -> dict[str, Any]:
    """Recent commits of the wiki with the pages they touched, newest first, and `next`: the cursor to follow
    from. With `after`, the commits after that cursor, oldest first, and the `next` one (docs/webhooks.md)."""
    if after is not None:
        return core.changes_after(actor, after, limit=limit)
    return {**core.changes(actor, limit=limit, since=since), "next": core.head(actor)}


@router.get("/links/{path:path}", tags=["links"])
def page_links(path: str, actor: Reader, core: Core) -> dict[str, Any]:
    """Outgoing links (existing and missing pages) and backlinks of a page."""
    return core.links(actor, path)


@router.get("/orphans", tags=["links"])
def orphans(actor: Reader, core: Core, limit: Annotated[int, Query(ge=1, le=500)] = 200) -> dict[str, Any]:
    """Pages no other page links to."""
    return core.orphans(actor, limit=limit)


@router.get("/search", tags=["search"])
def search(
    actor: Reader,
    core: Core,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="What to look for.")],
    mode: Annotated[
        Literal["fulltext", "semantic", "hybrid"],
        Query(description="fulltext: exact words (BM25); semantic: by meaning; hybrid: both, fused."),
    ] = "hybrid",
    k: Annotated[int, Query(ge=1, le=50, description="How many pages to return.")] = 10,
    max_chunks_per_page: Annotated[int, Query(ge=1, le=10, description="Passages per page.")] = 3,
    prefix: Annotated[
        str | None, Query(description="Only pages whose path starts with this, e.g. 'Team/'.")
    ] = None,
    tag: Annotated[str | None, Query(description="Only pages with this tag in their front matter.")] = None,
    category: Annotated[
        str | None, Query(description="Only pages with this category in their front matter.")
    ] = None,
    updated_since: Annotated[
        str | None, Query(description="Only pages changed at or after this time (ISO 8601, e.g. 2025-01-31).")
    ] = None,
    min_commit: Annotated[
        str | None,
        Query(
            description="A commit id, e.g. the `commit` a write returned: answer from an index that holds it, "
            "waiting a few seconds for it if needed; if it does not arrive in time, `fresh` is false."
        ),
    ] = None,
) -> dict[str, Any]:
    """Full-text, semantic or hybrid search (answered by the search service), optionally filtered.

    Beside `results`, the answer says how fresh the index was: `indexed_commit` (the commit it was built
    from), `min_commit` (as asked, in full), `fresh` (it holds `min_commit`, or without one the wiki's latest
    commit), `behind_commits` (commits it lacks; null when history was rewritten) and, when not fresh, a
    `message` saying what to do."""
    return core.search(
        actor,
        q,
        mode=mode,
        k=k,
        max_chunks_per_page=max_chunks_per_page,
        prefix=prefix,
        tag=tag,
        category=category,
        updated_since=updated_since,
        min_commit=min_commit,
    )


# -- attachments ------------------------------------------------------------------------------------------


@router.get("/attachments", tags=["attachments"])
def list_attachments(actor: Reader, core: Core, page: Annotated[str, Query(min_length=1)]) -> dict[str, Any]:
    """Files attached to a page."""
    return core.list_attachments(actor, page)


@router.get("/attachments/{path:path}/{filename}", tags=["attachments"])
def download_attachment(path: str, filename: str, actor: Reader, core: Core) -> Response:
    """An attachment's bytes."""
    data, content_type = core.read_attachment(actor, path, filename)
    return Response(
        data,
        media_type=content_type,
        headers={"Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"},
    )


def _attachment_too_large(limit: int) -> LimitExceeded:
    return LimitExceeded(
        f"attachment is larger than the {limit} bytes per file the wiki's plan allows",
        code="attachment_too_large",
    )


@router.put("/attachments/{path:path}/{filename}", tags=["attachments"], responses=WRITTEN)
async def upload_attachment(
    path: str, filename: str, request: Request, overwrite: bool = False, message: str | None = None
) -> JSONResponse:
    """Attach the request body to a page as ``filename`` (limit: the wiki's plan)."""
    actor = await anyio.to_thread.run_sync(write_actor, request)
    core = core_of(request)
    limit = tier_for(core.tiers, actor.access.tier).attachment_bytes
    data = await read_body(request.receive, limit, _attachment_too_large)
    result = await anyio.to_thread.run_sync(
        lambda: core.upload(actor, path, filename, data, overwrite=overwrite, message=message)
    )
    return JSONResponse(result, status_code=201 if result.get("changed") else 200)


@router.delete("/attachments/{path:path}/{filename}", tags=["attachments"])
def delete_attachment(
    path: str, filename: str, actor: Writer, core: Core, message: str | None = None
) -> dict[str, Any]:
    """Remove an attachment."""
    return core.delete_attachment(actor, path, filename, message=message)
