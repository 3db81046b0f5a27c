"""``WikiCore``: every operation on a wiki, for MCP tools, REST and tests alike."""

from __future__ import annotations

from .attachments import AttachmentOps
from .pages import PageOps
from .proposing import ProposalOps
from .queries import QueryOps
from .revisions import RevisionOps


class WikiCore(PageOps, QueryOps, RevisionOps, AttachmentOps, ProposalOps):
    """Pages (read, write, edit, delete, rename), queries (list, history, changes, links, orphans, search),
    revisions (diff, restore), attachments and proposals (writes held for review), over the git repository of each wiki. See ``context.Base`` for the write pipeline."""
