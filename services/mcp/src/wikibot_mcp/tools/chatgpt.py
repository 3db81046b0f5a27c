"""The two tools ChatGPT's connectors call by name: ``search`` (ids, titles, URLs) and ``fetch`` (a whole page)."""

# No ``from __future__ import annotations``: FastMCP reads these signatures as objects to build the schemas.
from typing import Annotated

from pydantic import Field

from ..wiki import WikiCore
from .declare import Toolbox, actor
from .results import Fetched, FetchedMeta, Found, FoundPage


def register(tools: Toolbox, core: WikiCore) -> None:
    @tools.read("Search (connectors)")
    def search(query: Annotated[str, Field(description="What to look for.")]) -> Found:
        """Search the wiki; returns results with an id (the page path), title and URL. Use fetch to read one."""
        found = core.search(actor(), query, mode="hybrid", k=10, max_chunks_per_page=1)
        return Found(
            results=[FoundPage(id=r["path"], title=r["title"], url=r["url"]) for r in found["results"]]
        )

    @tools.read("Fetch a page (connectors)")
    def fetch(
        id: Annotated[str, Field(description="A result id from search (the page path).")],
    ) -> Fetched:
        """Fetch a whole page by the id search returned: its text, title, URL and metadata."""
        page = core.read(actor(), id)
        meta = FetchedMeta(revision=page["revision"], updated=page.get("updated"), tags=page["tags"])
        return Fetched(
            id=page["path"], title=page["title"], text=page["content"], url=page["url"], metadata=meta
        )
