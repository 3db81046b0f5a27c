"""The one place where domain errors become MCP tool errors: actionable text for the agent, never internals.

Each message starts with the stable error code in brackets, then says what happened and what to do next.
"""

from __future__ import annotations

import logging

from fastmcp.exceptions import ToolError

from wikibot_shared.errors import (
    AuthError,
    Forbidden,
    InputError,
    InsufficientScope,
    LimitExceeded,
    NotFound,
    RateLimited,
    ReadOnly,
    WikibotError,
)
from wikibot_shared.locks import LockTimeout

from .wiki.errors import (
    AttachmentNotFound,
    PageExists,
    PageNotFound,
    RevisionNotFound,
    RevisionRequired,
    SearchUnavailable,
    SectionNotFound,
    StaleRevision,
)

log = logging.getLogger("wikibot.mcp.tools")


def advice(exc: WikibotError) -> str:
    """What the agent should do about ``exc``."""
    if isinstance(exc, PageNotFound):
        return "Use list_notes (with a prefix) or search_notes to find the page's exact path."
    if isinstance(exc, SectionNotFound):
        return "Call read_note without 'section' to see the page's sections."
    if isinstance(exc, AttachmentNotFound):
        return "Call list_attachments to see the files attached to the page."
    if isinstance(exc, RevisionNotFound):
        return "Call get_history to see the page's commits."
    if isinstance(exc, StaleRevision | RevisionRequired):
        return "Call read_note again, apply your change to the current text, and pass the new revision."
    if isinstance(exc, PageExists):
        return "Read the existing page first, or choose another name."
    if isinstance(exc, LimitExceeded):
        return "Nothing was written. Make the content smaller, or delete pages or attachments you no longer need."
    if isinstance(exc, ReadOnly):
        return "Only reading tools work on this wiki until its owner restores it."
    if isinstance(exc, InsufficientScope):
        return "Reconnect to the wiki and grant write access (wiki:write)."
    if isinstance(exc, Forbidden):
        return "Ask the wiki's owner for a role that allows this."
    if isinstance(exc, AuthError):
        return "Reconnect to the wiki to sign in again."
    if isinstance(exc, SearchUnavailable | LockTimeout | RateLimited):
        return "Try again in a moment."
    if isinstance(exc, NotFound | InputError):
        return "Check the arguments against the tool's description."
    return ""


def tool_error(exc: BaseException) -> ToolError:
    if isinstance(exc, WikibotError):
        text = f"[{exc.code}] {exc.message}"
        hint = advice(exc)
        return ToolError(f"{text}. {hint}" if hint and not text.endswith(".") else f"{text} {hint}".strip())
    log.exception("tool failed", exc_info=exc)
    return ToolError(
        "[internal_error] the wiki could not complete this request; try again, and report it if it persists"
    )
