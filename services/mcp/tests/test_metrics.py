"""The tool-call outcome labels: bounded, and the refusals an agent can act on told apart from our failures."""

from __future__ import annotations

import pytest

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
