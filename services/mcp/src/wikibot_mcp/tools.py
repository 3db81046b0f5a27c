"""The MCP tools: thin, typed wrappers over the wiki core. Each docstring teaches an agent when to use it.

The HTTP gate (``mcp_http``) has authenticated the request: the fast path (``mcp_fast``) hands its ``Access``
over in ``CURRENT_ACCESS``, the SDK path in the ASGI scope. Tools are plain functions run in a worker thread
(FastMCP runs sync tools in its thread pool; the fast path calls them in the thread that authorized the
request); they check the action they need, run the core and turn domain errors into actionable text
(``mcp_errors``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from contextvars import ContextVar
from typing import Annotated, Any, Literal, TypeVar

from fastmcp import FastMCP
from fastmcp.server.dependencies import get_http_request
from mcp_types import ToolAnnotations
from pydantic import Field

from wikibot_shared import __version__, acl
from wikibot_shared.errors import AuthError, InputError
from wikibot_shared.verify import Access

from .actors import Actors
from .mcp_errors import tool_error
from .metrics import tool_called
from .wiki import Actor, Edit, WikiCore

T = TypeVar("T")

# The request's authorization, set by the fast path for the duration of one tool call (never across requests).
CURRENT_ACCESS: ContextVar[Access | None] = ContextVar("wikibot_mcp_access", default=None)

INSTRUCTIONS = """\
This is a wiki: Markdown pages addressed by path ("Setup Guide", "Team/Onboarding"), kept in git.
Start with list_notes or search_notes/semantic_search to find pages, read_note to read one (optionally one
section). To change a page, prefer edit_note (replace a unique string, append, or work on one section);
use write_note to create a page or replace it whole, passing the revision you read. Every change is a
commit; get_history and get_recent_changes show them. Link pages with [[Page Name]].
"""

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
IDEMPOTENT_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
DESTRUCTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
)

WRITE_TOOLS = frozenset(
    {"write_note", "edit_note", "rename_note", "delete_note", "upload_attachment", "delete_attachment"}
)

Path = Annotated[
    str, Field(description="Page path, e.g. 'Setup Guide' or 'Team/Onboarding' (no '.md', no leading '/').")
]
BaseRevision = Annotated[
    str | None,
    Field(description="The 'revision' read_note returned. The change is refused if the page changed since."),
]
Message = Annotated[str | None, Field(description="Commit message; a sensible one is made if omitted.")]


def build_server(core: WikiCore, actors: Actors) -> FastMCP:
    mcp = FastMCP(
        name="Wikibot",
        version=__version__,
        instructions=INSTRUCTIONS,
        mask_error_details=True,
        on_duplicate="error",
    )

    def actor(action: acl.Action) -> Actor:
        access = CURRENT_ACCESS.get()
        if access is None:
            access = get_http_request().scope.get("wikibot.access")
        if access is None:
            raise AuthError("not authenticated")
        return actors.actor(access, "mcp", action)

    def call(tool: str, action: acl.Action, fn: Callable[[Actor], T]) -> T:
        try:
            result = fn(actor(action))
        except Exception as exc:  # noqa: BLE001 - never a stack trace to the agent
            tool_called(tool, exc)
            raise tool_error(exc) from None
        tool_called(tool)
        return result

    # -- reading -------------------------------------------------------------------------------------------
    @mcp.tool(annotations=READ)
    def read_note(
        path: Path,
        section: Annotated[
            str | None,
            Field(description="Only this section: a heading ('Linux') or a heading path ('Setup > Linux')."),
        ] = None,
        revision: Annotated[
            str | None, Field(description="A commit id from get_history, to read the page as it was then.")
        ] = None,
    ) -> dict[str, Any]:
        """Read a page: its Markdown (with front matter), title, tags, sections and current revision.

        Pass the returned 'revision' to write_note/edit_note/delete_note so a concurrent change is never
        overwritten. Use 'section' to read one part of a long page; 'sections' lists the headings."""
        return call(
            "read_note", acl.Action.READ, lambda a: core.read(a, path, section=section, revision=revision)
        )

    @mcp.tool(annotations=READ)
    def list_notes(
        prefix: Annotated[
            str | None, Field(description="Only pages whose path starts with this, e.g. 'Team/'.")
        ] = None,
        tag: Annotated[
            str | None, Field(description="Only pages with this tag in their front matter.")
        ] = None,
        category: Annotated[
            str | None, Field(description="Only pages with this category in their front matter.")
        ] = None,
        updated_since: Annotated[
            str | None,
            Field(description="Only pages changed at or after this time (ISO 8601, e.g. 2025-01-31)."),
        ] = None,
        limit: Annotated[int, Field(ge=1, le=500, description="Pages per call.")] = 100,
        cursor: Annotated[
            str | None, Field(description="'next_cursor' from the previous call, for the next page.")
        ] = None,
    ) -> dict[str, Any]:
        """List pages (path, title, tags, categories, last update), sorted by path, optionally filtered.

        Use it to find a page's exact path or to see what the wiki holds. Fast on any wiki size."""
        return call(
            "list_notes",
            acl.Action.READ,
            lambda a: core.list(
                a,
                prefix=prefix,
                tag=tag,
                category=category,
                updated_since=updated_since,
                limit=limit,
                cursor=cursor,
            ),
        )

    @mcp.tool(annotations=READ)
    def search_notes(
        query: Annotated[str, Field(description="Words to find (full-text, ranked by BM25).")],
        limit: Annotated[int, Field(ge=1, le=50, description="How many pages to return.")] = 10,
    ) -> dict[str, Any]:
        """Full-text search for exact words, names or identifiers; returns pages with matching snippets.

        For questions or concepts phrased differently from the page text, use semantic_search. Pages written
        in the last seconds may not be indexed yet."""
        return call(
            "search_notes",
            acl.Action.READ,
            lambda a: core.search(a, query, mode="fulltext", k=limit, max_chunks_per_page=3),
        )

    @mcp.tool(annotations=READ)
    def semantic_search(
        query: Annotated[str, Field(description="A question or description of what you are looking for.")],
        n: Annotated[int, Field(ge=1, le=50, description="How many pages to return.")] = 5,
        max_chunks_per_page: Annotated[
            int, Field(ge=1, le=10, description="Passages returned per page.")
        ] = 3,
    ) -> dict[str, Any]:
        """Search by meaning: returns the pages and passages (with their section) closest to the query.

        Best for questions ("how do we deploy?"); use search_notes for exact words."""
        return call(
            "semantic_search",
            acl.Action.READ,
            lambda a: core.search(a, query, mode="semantic", k=n, max_chunks_per_page=max_chunks_per_page),
        )

    @mcp.tool(annotations=READ)
    def get_links(path: Path) -> dict[str, Any]:
        """Links of a page: pages it links to, links to pages that do not exist yet, and pages linking to it."""
        return call("get_links", acl.Action.READ, lambda a: core.links(a, path))

    @mcp.tool(annotations=READ)
    def get_history(
        path: Path,
        limit: Annotated[int, Field(ge=1, le=200, description="Commits per call, newest first.")] = 20,
        offset: Annotated[
            int, Field(ge=0, description="Commits to skip ('next_offset' of the previous call).")
        ] = 0,
    ) -> dict[str, Any]:
        """The commits that changed a page (who, when, message). Read an old version with read_note(revision=…)."""
        return call(
            "get_history", acl.Action.READ, lambda a: core.history(a, path, limit=limit, offset=offset)
        )

    @mcp.tool(annotations=READ)
    def get_recent_changes(
        limit: Annotated[int, Field(ge=1, le=200, description="How many commits, newest first.")] = 20,
        since: Annotated[
            str | None, Field(description="Only commits at or after this time (ISO 8601).")
        ] = None,
    ) -> dict[str, Any]:
        """What changed in the wiki recently: commits with their author, message and the pages they touched."""
        return call(
            "get_recent_changes", acl.Action.READ, lambda a: core.changes(a, limit=limit, since=since)
        )

    @mcp.tool(annotations=READ)
    def find_orphaned_notes(
        limit: Annotated[int, Field(ge=1, le=500, description="At most this many paths.")] = 200,
    ) -> dict[str, Any]:
        """Pages no other page links to (the Home page excepted): candidates for linking or clean-up."""
        return call("find_orphaned_notes", acl.Action.READ, lambda a: core.orphans(a, limit=limit))

    @mcp.tool(annotations=READ)
    def list_attachments(path: Path) -> dict[str, Any]:
        """Files attached to a page (name, size, type, URL). Download one with download_attachment."""
        return call("list_attachments", acl.Action.READ, lambda a: core.list_attachments(a, path))

    @mcp.tool(annotations=READ)
    def download_attachment(
        path: Path,
        filename: Annotated[str, Field(description="The attachment's file name, e.g. 'diagram.png'.")],
    ) -> dict[str, Any]:
        """Download a file attached to a page; its bytes come back base64-encoded."""

        def run(a: Actor) -> dict[str, Any]:
            data, content_type = core.read_attachment(a, path, filename)
            return {
                "filename": filename,
                "content_type": content_type,
                "size": len(data),
                "content_base64": base64.b64encode(data).decode(),
            }

        return call("download_attachment", acl.Action.READ, run)

    # -- writing -------------------------------------------------------------------------------------------
    @mcp.tool(annotations=IDEMPOTENT_WRITE)
    def write_note(
        path: Path,
        content: Annotated[
            str, Field(description="The whole page in Markdown. Front matter is kept if you omit it.")
        ],
        base_revision: BaseRevision = None,
        message: Message = None,
    ) -> dict[str, Any]:
        """Create a page, or replace a whole page.

        Creating needs no revision. Replacing an existing page needs 'base_revision' from read_note; if the
        page changed since, nothing is written and you are told to re-read. To change part of a page, use
        edit_note instead."""
        return call(
            "write_note",
            acl.Action.WRITE,
            lambda a: core.write(a, path, content, base_revision=base_revision, message=message),
        )

    @mcp.tool(annotations=WRITE)
    def edit_note(
        path: Path,
        operation: Annotated[
            Literal[
                "replace",
                "append",
                "prepend",
                "replace_section",
                "insert_before_section",
                "insert_after_section",
            ],
            Field(
                description="replace: swap 'old_text' (must occur exactly once) for 'content'. append/prepend: add "
                "'content' at the end/start (after front matter). replace_section: new body under the heading "
                "'section'. insert_before_section/insert_after_section: add 'content' around that section."
            ),
        ],
        content: Annotated[str, Field(description="The new text (Markdown).")] = "",
        old_text: Annotated[
            str | None, Field(description="For 'replace': the exact existing text, unique on the page.")
        ] = None,
        section: Annotated[
            str | None,
            Field(description="For section operations: heading text or path, e.g. 'Setup Guide > Linux'."),
        ] = None,
        base_revision: BaseRevision = None,
        message: Message = None,
    ) -> dict[str, Any]:
        """Change part of a page without resending it: replace a unique string, append, prepend, or replace or
        insert around a section. Applied to the page as it is now, atomically; pass 'base_revision' to
        refuse the edit if the page changed since you read it."""
        edit = Edit(op=operation, content=content, old_text=old_text, section=section)
        return call(
            "edit_note",
            acl.Action.WRITE,
            lambda a: core.edit(a, path, edit, base_revision=base_revision, message=message),
        )

    @mcp.tool(annotations=DESTRUCTIVE)
    def rename_note(
        path: Path,
        new_path: Annotated[str, Field(description="The new page path.")],
        update_links: Annotated[
            bool, Field(description="Rewrite links to the page in other pages (same commit).")
        ] = True,
        base_revision: BaseRevision = None,
        message: Message = None,
    ) -> dict[str, Any]:
        """Rename or move a page, with its attachments and subpages; links to it in other pages are updated in
        the same commit."""
        return call(
            "rename_note",
            acl.Action.WRITE,
            lambda a: core.rename(
                a, path, new_path, base_revision=base_revision, message=message, update_links=update_links
            ),
        )

    @mcp.tool(annotations=DESTRUCTIVE)
    def delete_note(
        path: Path, base_revision: BaseRevision = None, message: Message = None
    ) -> dict[str, Any]:
        """Delete a page and its attachments (subpages stay). It remains in the history and can be restored by
        reading an old revision and writing it back."""
        return call(
            "delete_note",
            acl.Action.WRITE,
            lambda a: core.delete(a, path, base_revision=base_revision, message=message),
        )

    @mcp.tool(annotations=WRITE)
    def upload_attachment(
        path: Path,
        filename: Annotated[str, Field(description="File name, e.g. 'diagram.png' (no folders).")],
        content_base64: Annotated[str, Field(description="The file's bytes, base64-encoded.")],
        overwrite: Annotated[bool, Field(description="Replace an existing attachment of that name.")] = False,
        message: Message = None,
    ) -> dict[str, Any]:
        """Attach a file to a page (size limits depend on the wiki's plan). Link it from the page with
        ![alt](/Page/a/filename) or [name](/Page/a/filename)."""

        def run(a: Actor) -> dict[str, Any]:
            try:
                data = base64.b64decode(content_base64, validate=True)
            except (binascii.Error, ValueError):
                raise InputError("'content_base64' is not valid base64", code="invalid_base64") from None
            return core.upload(a, path, filename, data, overwrite=overwrite, message=message)

        return call("upload_attachment", acl.Action.WRITE, run)

    @mcp.tool(annotations=DESTRUCTIVE)
    def delete_attachment(
        path: Path,
        filename: Annotated[str, Field(description="The attachment's file name.")],
        message: Message = None,
    ) -> dict[str, Any]:
        """Remove a file attached to a page (it stays in the history). list_attachments shows the names."""
        return call(
            "delete_attachment",
            acl.Action.WRITE,
            lambda a: core.delete_attachment(a, path, filename, message=message),
        )

    # -- ChatGPT connectors (search + fetch) ---------------------------------------------------------------
    @mcp.tool(annotations=READ)
    def search(query: Annotated[str, Field(description="What to look for.")]) -> dict[str, Any]:
        """Search the wiki; returns results with an id (the page path), title and URL. Use fetch to read one."""

        def run(a: Actor) -> dict[str, Any]:
            found = core.search(a, query, mode="hybrid", k=10, max_chunks_per_page=1)
            return {
                "results": [{"id": r["path"], "title": r["title"], "url": r["url"]} for r in found["results"]]
            }

        return call("search", acl.Action.READ, run)

    @mcp.tool(annotations=READ)
    def fetch(
        id: Annotated[str, Field(description="A result id from search (the page path).")],
    ) -> dict[str, Any]:
        """Fetch a whole page by the id search returned: its text, title, URL and metadata."""

        def run(a: Actor) -> dict[str, Any]:
            page = core.read(a, id)
            meta = {"revision": page["revision"], "updated": page.get("updated"), "tags": page["tags"]}
            return {
                "id": page["path"],
                "title": page["title"],
                "text": page["content"],
                "url": page["url"],
                "metadata": meta,
            }

        return call("fetch", acl.Action.READ, run)

    return mcp
