"""Tools that read pages and find them: read_note, list_notes, search_notes, semantic_search."""

# No ``from __future__ import annotations``: FastMCP reads these signatures as objects to build the schemas.
from typing import Annotated

from pydantic import Field

from ..wiki import WikiCore
from .declare import Category, MinCommit, Path, Prefix, Tag, Toolbox, UpdatedSince, actor
from .results import Page, PageList, SearchResults


def register(tools: Toolbox, core: WikiCore) -> None:
    @tools.read("Read a page")
    def read_note(
        path: Path,
        section: Annotated[
            str | None,
            Field(description="Only this section: a heading ('Linux') or a heading path ('Setup > Linux')."),
        ] = None,
        revision: Annotated[
            str | None, Field(description="A commit id from get_history, to read the page as it was then.")
        ] = None,
        proposal: Annotated[
            int | None, Field(ge=1, description="A proposal's id, to read the page as it proposes it.")
        ] = None,
    ) -> Page:
        """Read a page (Markdown with front matter), its sections and revision. Pass 'revision' as
        base_revision when you change it; read one part of a long page with 'section'."""
        return Page.model_validate(
            core.read(actor(), path, section=section, revision=revision, proposal=proposal)
        )

    @tools.read("List pages")
    def list_notes(
        prefix: Prefix = None,
        tag: Tag = None,
        category: Category = None,
        updated_since: UpdatedSince = None,
        limit: Annotated[int, Field(ge=1, le=500, description="Pages per call.")] = 100,
        cursor: Annotated[
            str | None, Field(description="'next_cursor' from the previous call, for the next page.")
        ] = None,
    ) -> PageList:
        """List pages (path, title, tags, last update) sorted by path, optionally filtered."""
        found = core.list(
            actor(),
            prefix=prefix,
            tag=tag,
            category=category,
            updated_since=updated_since,
            limit=limit,
            cursor=cursor,
        )
        return PageList.model_validate(found)

    @tools.read("Search words")
    def search_notes(
        query: Annotated[str, Field(description="Words to find (full text, BM25).")],
        limit: Annotated[int, Field(ge=1, le=50, description="How many pages to return.")] = 10,
        prefix: Prefix = None,
        tag: Tag = None,
        category: Category = None,
        updated_since: UpdatedSince = None,
        min_commit: MinCommit = None,
    ) -> SearchResults:
        """Full-text search for exact words, names or identifiers; pages with matching snippets. For meaning,
        use semantic_search."""
        found = core.search(
            actor(),
            query,
            mode="fulltext",
            k=limit,
            max_chunks_per_page=3,
            prefix=prefix,
            tag=tag,
            category=category,
            updated_since=updated_since,
            min_commit=min_commit,
        )
        return SearchResults.model_validate(found)

    @tools.read("Search by meaning")
    def semantic_search(
        query: Annotated[str, Field(description="A question or description of what you are looking for.")],
        n: Annotated[int, Field(ge=1, le=50, description="How many pages to return.")] = 5,
        max_chunks_per_page: Annotated[int, Field(ge=1, le=10, description="Passages per page.")] = 3,
        prefix: Prefix = None,
        tag: Tag = None,
        category: Category = None,
        updated_since: UpdatedSince = None,
        min_commit: MinCommit = None,
    ) -> SearchResults:
        """Search by meaning: the pages and passages (with their section) closest to a question."""
        found = core.search(
            actor(),
            query,
            mode="semantic",
            k=n,
            max_chunks_per_page=max_chunks_per_page,
            prefix=prefix,
            tag=tag,
            category=category,
            updated_since=updated_since,
            min_commit=min_commit,
        )
        return SearchResults.model_validate(found)
