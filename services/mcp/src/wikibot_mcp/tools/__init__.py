"""The MCP tools: thin, typed functions over the wiki core, each declared once with what it does (``declare``).

``build_server(core, actors, icons_url)`` makes the FastMCP server with every tool, grouped by what they are about:
reading and search, links and history, writing, attachments, and the ChatGPT connector pair. Each docstring
teaches an agent when to use the tool. The request was authorized by ``/mcp`` (``mcp_http``), which hands its
``Access`` over in ``actors.CURRENT_ACCESS``; tools run in a worker thread.
"""

from __future__ import annotations

from fastmcp import FastMCP

from wikibot_shared import __version__

from ..actors import Actors
from ..wiki import WikiCore
from . import attachments, chatgpt, completions, history, prompts, reading, resources, writing
from .declare import Icons, Toolbox

__all__ = ["INSTRUCTIONS", "build_server"]

INSTRUCTIONS = """\
A wiki of Markdown pages addressed by path ("Setup Guide", "Team/Onboarding"), kept in git; people edit it too.
- First read the page named "Conventions" or "Home" if there is one: it says how this wiki is organised.
- Find pages with list_notes, search_notes (exact words) or semantic_search (meaning); read with read_note.
- Read before you write: pass the 'revision' read_note gave you as base_revision, so you never overwrite a
  change you have not seen. Prefer edit_note for part of a page; write_note creates or replaces a page.
- Every change is a commit with a message (get_history, get_recent_changes); link pages with [[Page Name]].
- After writing, search with min_commit set to the commit you got, to see your own change in the results.
"""


def build_server(core: WikiCore, actors: Actors, icons_url: str | None = None) -> FastMCP:
    """``icons_url``: where the platform serves the icons (``{platform_url}/app/static/icons``); none without."""
    icons = Icons(icons_url)
    server = FastMCP(
        name="Wikibot",
        version=__version__,
        instructions=INSTRUCTIONS,
        icons=icons("wikibot"),
        mask_error_details=True,
        on_duplicate="error",
    )
    tools = Toolbox(server, actors, icons)
    for area in (reading, history, writing, attachments, chatgpt, resources, prompts, completions):
        area.register(tools, core)
    return server
