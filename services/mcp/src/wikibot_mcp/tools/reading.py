"""Tools that read pages and find them: read_note, list_notes, search_notes, semantic_search."""

# No ``from __future__ import annotations``: FastMCP reads these signatures as objects to build the schemas.
from typing import Annotated

from pydantic import Field

from ..wiki import WikiCore
from .declare import Path, Result, Toolbox, actor


def register(tools: Toolbox, core: WikiCore) -> None:
    @tools.read
    def read_note(
        path: Path,
        section: Annotated[
            str | None,
            Field(description="Only this section: a heading ('Linux') or a heading path ('Setup > Linux')."),
        ] = None,
        revision: Annotated[
            str | None, Field(description="A commit id from get_history, to read the page as it was then.")
        ] = None,
    ) -> Result:
        """Read a page: its Markdown (with front matter), title, tags, sections and current revision.

        Pass the returned 'revision' to write_note/edit_note/delete_note so a concurrent change is never
        overwritten. Use 'section' to read one part of a long page; 'sections' lists the headings."""
        return core.read(actor(), path, section=section, revision=revision)

    @tools.read
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
    ) -> Result:
        """List pages (path, title, tags, categories, last update), sorted by path, optionally filtered.

        Use it to find a page's exact path or to see what the wiki holds. Fast on any wiki size."""
        return core.list(
            actor(),
            prefix=prefix,
            tag=tag,
            category=category,
            updated_since=updated_since,
            limit=limit,
            cursor=cursor,
        )

    @tools.read
    def search_notes(
        query: Annotated[str, Field(description="Words to find (full-text, ranked by BM25).")],
        limit: Annotated[int, Field(ge=1, le=50, description="How many pages to return.")] = 10,
    ) -> Result:
        """Full-text search for exact words, names or identifiers; returns pages with matching snippets.

        For questions or concepts phrased differently from the page text, use semantic_search. Pages written
        in the last seconds may not be indexed yet."""
        return core.search(actor(), query, mode="fulltext", k=limit, max_chunks_per_page=3)

    @tools.read
    def semantic_search(
        query: Annotated[str, Field(description="A question or description of what you are looking for.")],
        n: Annotated[int, Field(ge=1, le=50, description="How many pages to return.")] = 5,
        max_chunks_per_page: Annotated[
            int, Field(ge=1, le=10, description="Passages returned per page.")
        ] = 3,
    ) -> Result:
        """Search by meaning: returns the pages and passages (with their section) closest to the query.

        Best for questions ("how do we deploy?"); use search_notes for exact words."""
        return core.search(actor(), query, mode="semantic", k=n, max_chunks_per_page=max_chunks_per_page)
