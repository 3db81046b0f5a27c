"""The mcp service's own errors (they become responses in ``wikibot_shared.asgi.install_error_handlers``)."""

from __future__ import annotations

from wikibot_shared.errors import WikibotError


class McpError(WikibotError):
    """Root of the mcp service's own errors."""


class PreconditionFailed(McpError):
    """RFC 9110 §13.1.1: If-Match named a revision that is not the page's current one."""

    status = 412
    code = "precondition_failed"


class PreconditionRequired(McpError):
    """RFC 6585 §3: replacing an existing page needs If-Match (the ETag it was read at)."""

    status = 428
    code = "precondition_required"
