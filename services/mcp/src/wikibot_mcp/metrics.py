"""The mcp service's own Prometheus series: tool calls by tool and outcome (docs/observability.md).

Labels are bounded: ``tool`` is one of the registered tools' names, ``outcome`` one of ``OUTCOMES``."""

from __future__ import annotations

from prometheus_client import Counter

from wikibot_shared.errors import (
    AuthError,
    Conflict,
    Forbidden,
    InputError,
    LimitExceeded,
    NotFound,
    RateLimited,
    WikibotError,
)

TOOL_CALLS = Counter(
    "wikibot_mcp_tool_calls_total", "MCP tool calls by tool and outcome", ["tool", "outcome"]
)

# first match wins: subclasses before their parents
_OUTCOMES: tuple[tuple[type[WikibotError], str], ...] = (
    (AuthError, "unauthenticated"),
    (Forbidden, "forbidden"),
    (InputError, "invalid"),
    (NotFound, "not_found"),
    (Conflict, "conflict"),
    (RateLimited, "rate_limited"),
    (LimitExceeded, "limit_exceeded"),
)
OUTCOMES = ("ok", *(name for _, name in _OUTCOMES), "refused", "error")


def outcome_of(exc: BaseException | None) -> str:
    """``ok``, the kind of refusal an agent can act on, or ``error`` (ours: a bug or an outage)."""
    if exc is None:
        return "ok"
    for kind, name in _OUTCOMES:
        if isinstance(exc, kind):
            return name
    return "refused" if isinstance(exc, WikibotError) else "error"


def tool_called(tool: str, exc: BaseException | None = None) -> None:
    TOOL_CALLS.labels(tool, outcome_of(exc)).inc()
