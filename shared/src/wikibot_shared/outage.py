"""A dependency that is not answering, as a retryable answer: 503 with ``Retry-After`` (``errors.Unavailable``).

When the database, Redis or another service cannot be reached, a request can do nothing useful, and the right
answer is quick and says to try again — not a 500, not a hang. ``unavailable`` recognises the exceptions the
drivers raise for that (a refused or dropped connection, a timeout) and words them without internals; every
front door's catch-all asks it first (``asgi``, ``/mcp``, the MCP tools, Otterwiki's edge).
"""

from __future__ import annotations

import httpx
import redis.exceptions
import sqlalchemy.exc

from .errors import Unavailable

RETRY_AFTER = 5  # seconds: a restarted container is usually back within this


def unavailable(exc: BaseException) -> Unavailable | None:
    """``exc`` as a retryable 503, if it is a dependency not answering; None for anything else (a real bug)."""
    if isinstance(exc, Unavailable):
        return exc
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return _down("Redis")
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return _down("the database")
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return _down("the database")
    if isinstance(exc, httpx.ConnectError | httpx.TimeoutException | httpx.RemoteProtocolError):
        return _down("a service this request needs")
    cause = exc.__cause__ or exc.__context__
    return unavailable(cause) if cause is not None and cause is not exc else None


def _down(what: str) -> Unavailable:
    return Unavailable(
        f"{what} is not answering right now; nothing was changed — try again in a few seconds",
        retry_after=RETRY_AFTER,
    )
