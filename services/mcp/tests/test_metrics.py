"""The tool-call outcome labels: bounded, and the refusals an agent can act on told apart from our failures; and
the series a served tool call moves."""

from __future__ import annotations

import pytest

from services.mcp.tests.support.served import Served
from services.mcp.tests.support.world import CAROL
from wikibot_mcp.metrics import OUTCOMES, outcome_of
from wikibot_shared.errors import (
    AuthError,
    Conflict,
    InputError,
    InsufficientScope,
    InvalidHost,
    LimitExceeded,
    NotFound,
    RateLimited,
    ReadOnly,
    WikibotError,
)


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (None, "ok"),
        (AuthError("no"), "unauthenticated"),
        (InsufficientScope("needs write", scope="wiki:write"), "forbidden"),
        (ReadOnly("lapsed"), "forbidden"),
        (InvalidHost("x"), "invalid"),
        (InputError("bad"), "invalid"),
        (NotFound("gone"), "not_found"),
        (Conflict("moved on"), "conflict"),
        (RateLimited("slow down", retry_after=3), "rate_limited"),
        (LimitExceeded("too big"), "limit_exceeded"),
        (WikibotError("other"), "refused"),
        (RuntimeError("bug"), "error"),
    ],
)
def test_outcome_of(exc: BaseException | None, outcome: str) -> None:
    assert outcome_of(exc) == outcome
    assert outcome in OUTCOMES


def test_tool_calls_and_mcp_requests_are_counted(served: Served) -> None:
    """``wikibot_mcp_tool_calls_total{tool,outcome}`` and the request series for ``/mcp`` (docs/observability.md)."""
    from prometheus_client import REGISTRY

    def tool_calls(tool: str, outcome: str) -> float:
        labels = {"tool": tool, "outcome": outcome}
        return REGISTRY.get_sample_value("wikibot_mcp_tool_calls_total", labels) or 0.0

    def mcp_posts() -> float:
        labels = {"service": "mcp", "method": "POST", "route": "/mcp", "status": "200"}
        return REGISTRY.get_sample_value("wikibot_http_requests_total", labels) or 0.0

    before = {
        "ok": tool_calls("read_note", "ok"),
        "not_found": tool_calls("read_note", "not_found"),
        "forbidden": tool_calls("write_note", "forbidden"),
        "invalid": tool_calls("read_note", "invalid"),
        "posts": mcp_posts(),
    }
    served.ok("read_note", {"path": "Home"})
    served.fail("read_note", {"path": "No Such Page"})
    served.fail("read_note", {"path": "../secret"})
    served.fail("write_note", {"path": "Carol", "content": "c"}, who=CAROL)
    assert tool_calls("read_note", "ok") == before["ok"] + 1
    assert tool_calls("read_note", "not_found") == before["not_found"] + 1
    assert tool_calls("read_note", "invalid") == before["invalid"] + 1
    assert tool_calls("write_note", "forbidden") == before["forbidden"] + 1
    assert mcp_posts() >= before["posts"] + 4  # the SDK also initializes and lists tools
