"""The wiki's pages and attachments as MCP resources: two templates to read them, and a listing of them all.

URIs are ``wiki://page/{path*}`` (``wiki://page/Team/Setup%20Guide``, ``text/markdown``) and
``wiki://attachment/{page*}/{filename}`` (``wiki://attachment/Team/Setup%20Guide/diagram.png``, its own MIME type,
sent as a blob), percent-encoded per segment. Not the page's web URL: a resource is read through this server with
the request's credentials, and the spec reserves ``https://`` for what a client can fetch on its own
(resources, "Common URI Schemes"); one server serves one wiki, so the URI needs no wiki name.

``resources/list`` is answered here rather than by FastMCP: its list is the whole registry, built and sliced by
offset on every page, and a wiki may hold 100,000 pages. This one takes the next files of the index snapshot of
the request's wiki (``core.snapshot``) in file order (a page, then the files in its folder) after an opaque cursor
naming the last file sent, which stays valid when pages come and go between calls (pagination spec: "stable
cursors"; a bad one is Invalid Params). It runs as a read by the request's actor, like every tool; nothing is
remembered between calls.
"""

# No ``from __future__ import annotations``: FastMCP reads these signatures as objects to build the templates.
import base64
import binascii
import heapq
import mimetypes
from urllib.parse import quote

import anyio
import mcp_types
from fastmcp.resources import ResourceContent, ResourceResult
from mcp.server.context import ServerRequestContext
from mcp_types import ListResourcesResult, PaginatedRequestParams

from wikibot_shared.errors import InputError

from ..wiki import WikiCore
from ..wiki.context import iso
from ..wiki.index import Snapshot
from .completions import attachment_names, page_paths
from .declare import Toolbox, actor

PAGE_TEMPLATE = "wiki://page/{path*}"
ATTACHMENT_TEMPLATE = "wiki://attachment/{page*}/{filename}"
MARKDOWN = "text/markdown"
PAGE_SIZE = 100  # resources per resources/list answer


def page_uri(name: str) -> str:
    return "wiki://page/" + quote(name, safe="/")


def attachment_uri(page: str, filename: str) -> str:
    return f"wiki://attachment/{quote(page, safe='/')}/{quote(filename, safe='')}"


def register(tools: Toolbox, core: WikiCore) -> None:
    @tools.resource(PAGE_TEMPLATE, "Wiki page", mime_type=MARKDOWN, complete={"path": page_paths(core)})
    def page(path: str) -> ResourceResult:
        """A page of this wiki, its Markdown with front matter (what read_note returns as 'content'). Its _meta
        'revision' is what write_note and edit_note take as base_revision."""
        read = core.read(actor(), path)
        meta = {"revision": read["revision"], "url": read["url"]}
        return ResourceResult([ResourceContent(read["content"], mime_type=MARKDOWN, meta=meta)])

    @tools.resource(
        ATTACHMENT_TEMPLATE,
        "Attachment of a page",
        mime_type="application/octet-stream",
        complete={"page": page_paths(core), "filename": attachment_names(core)},
    )
    def attachment(page: str, filename: str) -> ResourceResult:
        """A file attached to a page, as a blob with its own MIME type (list_attachments names them)."""
        data, content_type = core.read_attachment(actor(), page, filename)
        return ResourceResult([ResourceContent(data, mime_type=content_type)])

    def listing(cursor: str | None) -> ListResourcesResult:
        snap = core.snapshot(actor())
        after = _decode(cursor) if cursor else ""
        # the next PAGE_SIZE listable files, and one more to know there are more: O(files), not a sort of them
        files = heapq.nsmallest(PAGE_SIZE + 1, (f for f in snap.files if f > after and _listed(snap, f)))
        resources = [_resource(snap, f) for f in files[:PAGE_SIZE]]
        more = len(files) > PAGE_SIZE
        return ListResourcesResult(
            resources=resources, next_cursor=_encode(files[PAGE_SIZE - 1]) if more else None
        )

    reading = tools.reading(listing)

    async def list_resources(
        ctx: ServerRequestContext, params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        return await anyio.to_thread.run_sync(reading, params.cursor if params else None)

    # Replaces FastMCP's handler (see the module's docstring); FastMCP's own registry holds no resources here.
    tools.server._mcp_server.add_request_handler("resources/list", PaginatedRequestParams, list_resources)


def _listed(snap: Snapshot, file: str) -> bool:
    """A page, or a file attached to one (directly in its folder); a file beside no page is not addressable."""
    if file in snap.pages:
        return True
    folder, _, _ = file.rpartition("/")
    return bool(folder) and not file.endswith(".md") and folder + ".md" in snap.pages


def _resource(snap: Snapshot, file: str) -> mcp_types.Resource:
    info = snap.files[file]
    annotations = mcp_types.Annotations(last_modified=iso(info.updated))
    meta = {"revision": info.blob}  # what read_note calls the revision: the git blob id
    page = snap.pages.get(file)
    if page is not None:
        return mcp_types.Resource(
            uri=page_uri(page.name),
            name=page.name,
            title=page.title,
            mime_type=MARKDOWN,
            size=info.size,
            annotations=annotations,
            _meta=meta,
        )
    folder, _, filename = file.rpartition("/")
    owner = snap.pages[folder + ".md"].name
    return mcp_types.Resource(
        uri=attachment_uri(owner, filename),
        name=f"{owner}/{filename}",
        title=filename,
        mime_type=mimetypes.guess_type(filename)[0] or "application/octet-stream",
        size=info.size,
        annotations=annotations,
        _meta=meta,
    )


def _encode(file: str) -> str:
    return base64.urlsafe_b64encode(file.encode()).decode()


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise InputError(
            "this cursor is not one resources/list gave; list again without a cursor", code="invalid_cursor"
        ) from None
