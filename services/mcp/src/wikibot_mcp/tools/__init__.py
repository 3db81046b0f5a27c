"""The MCP tools: thin, typed functions over the wiki core, each declared once with what it does (``declare``).

``build_server(core, actors)`` makes the FastMCP server with every tool, grouped by what they are about:
reading and search, links and history, writing, attachments, and the ChatGPT connector pair. Each docstring
teaches an agent when to use the tool. The request was authorized by ``/mcp`` (``mcp_http``), which hands its
``Access`` over in ``actors.CURRENT_ACCESS``; tools run in a worker thread.
"""

from __future__ import annotations

from fastmcp import FastMCP

from wikibot_shared import __version__

from ..actors import Actors
from ..wiki import WikiCore
from . import attachments, chatgpt, history, reading, writing
from .declare import Toolbox

__all__ = ["INSTRUCTIONS", "build_server"]

INSTRUCTIONS = """\
This is a wiki: Markdown pages addressed by path ("Setup Guide", "Team/Onboarding"), kept in git.
Start with list_notes or search_notes/semantic_search to find pages, read_note to read one (optionally one
section). To change a page, prefer edit_note (replace a unique string, append, or work on one section);
use write_note to create a page or replace it whole, passing the revision you read. Every change is a
commit; get_history and get_recent_changes show them. Link pages with [[Page Name]].
"""


def build_server(core: WikiCore, actors: Actors) -> FastMCP:
    server = FastMCP(
        name="Wikibot",
        version=__version__,
        instructions=INSTRUCTIONS,
        mask_error_details=True,
        on_duplicate="error",
    )
    tools = Toolbox(server, actors)
    for area in (reading, history, writing, attachments, chatgpt):
        area.register(tools, core)
    return server
