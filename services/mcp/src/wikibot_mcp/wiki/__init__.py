"""The wiki core: page operations over a wiki's git repository, framework-free.

Used by the MCP tools, the REST API and (for push checks) the git endpoint; none of it knows HTTP.
"""

from .context import Actor
from .core import WikiCore
from .edits import EDIT_OPS, Edit
from .search import SearchClient

__all__ = ["EDIT_OPS", "Actor", "Edit", "SearchClient", "WikiCore"]
