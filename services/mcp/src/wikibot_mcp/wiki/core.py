"""``WikiCore``: every operation on a wiki, for MCP tools, REST and tests alike."""

from __future__ import annotations

from .attachments import AttachmentOps
from .pages import PageOps
from .queries import QueryOps


class WikiCore(PageOps, QueryOps, AttachmentOps):
    """Pages (read, write, edit, delete, rename), queries (list, history, changes, links, orphans, search)
    and attachments, over the git repository of each wiki. See ``context.Base`` for the write pipeline."""
