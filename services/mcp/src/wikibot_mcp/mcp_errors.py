"""The one place where domain errors become MCP errors: actionable text for the agent, never internals.

Each message starts with the stable error code in brackets, then says what happened and what to do next. A tool
call answers with it as an error result (``tool_error``); the other requests (resources, prompts, completions)
have no error result, so they answer with a JSON-RPC error carrying the same text (``request_error``).
"""

from __future__ import annotations

import logging

from fastmcp.exceptions import FastMCPError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS

from wikibot_shared.errors import (
    AuthError,
    Forbidden,
    InputError,
    InsufficientScope,
    LimitExceeded,
    NotFound,
    RateLimited,
    ReadOnly,
    Unavailable,
    WikibotError,
)
from wikibot_shared.locks import LockTimeout
from wikibot_shared.outage import unavailable

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
    if isinstance(exc, SearchUnavailable | LockTimeout | RateLimited | Unavailable):
        return "Try again in a moment."
    if isinstance(exc, NotFound | InputError):
        return "Check the arguments against their descriptions."
    return ""


INTERNAL = (
    "[internal_error] the wiki could not complete this request; try again, and report it if it persists"
)


def actionable(exc: WikibotError) -> str:
    text = f"[{exc.code}] {exc.message}"
    hint = advice(exc)
    return f"{text}. {hint}" if hint and not text.endswith(".") else f"{text} {hint}".strip()


def tool_error(exc: BaseException) -> ToolError:
    if isinstance(exc, WikibotError):
        return ToolError(actionable(exc))
    down = unavailable(exc)
    if down is not None:  # the database or Redis not answering: retryable, in words
        log.warning("tool could not reach a dependency", extra={"error": type(exc).__name__})
        return ToolError(actionable(down))
    log.exception("tool failed", exc_info=exc)
    return ToolError(INTERNAL)


class RequestRefused(FastMCPError, MCPError):
    """A JSON-RPC error in words. As a ``FastMCPError`` FastMCP logs it at ``log_level`` instead of with a
    traceback (it is the caller's to act on, or was logged here already); as an ``MCPError`` it reaches the wire
    with its own code (``fastmcp.exceptions.to_mcp_error`` passes it through)."""

    def __init__(self, code: int, message: str) -> None:
        MCPError.__init__(self, code, message)
        self.log_level = logging.DEBUG


def request_error(exc: BaseException) -> RequestRefused:
    """``exc`` as the JSON-RPC error of a resources, prompts or completion request. A page or attachment that does
    not exist, or a bad argument, is Invalid Params (-32602, as the 2026-07-28 resources spec says of a missing
    resource and as FastMCP answers an unknown URI; 2025-11-25 named -32002); anything else is Internal Error."""
    if isinstance(exc, NotFound | InputError):
        return RequestRefused(INVALID_PARAMS, actionable(exc))
    if isinstance(exc, WikibotError):
        return RequestRefused(INTERNAL_ERROR, actionable(exc))
    down = unavailable(exc)
    if down is not None:
        return RequestRefused(INTERNAL_ERROR, actionable(down))
    log.exception("request failed", exc_info=exc)
    return RequestRefused(INTERNAL_ERROR, INTERNAL)
