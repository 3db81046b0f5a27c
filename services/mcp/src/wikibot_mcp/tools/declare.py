"""How a tool is declared: once, with what it does to the wiki.

``@tools.read``, ``@tools.write``, ``@tools.idempotent_write`` and ``@tools.destructive`` register a typed
function with FastMCP (its docstring is the description, its ``Annotated`` parameters the input schema) and set,
from that one word, both the MCP annotations (``readOnlyHint``, ``destructiveHint``, ``idempotentHint``) and the
action the call is authorized for. The transport (``mcp_http``) reads the action back from the tool registry,
so a write tool can never lose its step-up challenge by being left off a list.

Inside a tool, ``actor()`` is the wiki actor of the request (already authorized for the tool's action); a
domain error raised by the tool becomes actionable text (``mcp_errors``) and every call is counted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

from fastmcp import FastMCP
from mcp_types import ToolAnnotations
from pydantic import Field

from wikibot_shared import acl
from wikibot_shared.errors import AuthError

from ..actors import CURRENT_ACCESS, Actors
from ..mcp_errors import tool_error
from ..metrics import tool_called
from ..wiki import Actor

P = ParamSpec("P")
R = TypeVar("R")

# The actor of the tool call running now (set by the tool's wrapper for its duration).
_ACTOR: ContextVar[Actor | None] = ContextVar("wikibot_mcp_actor", default=None)


@dataclass(frozen=True)
class Kind:
    action: acl.Action
    annotations: ToolAnnotations


READ = Kind(
    acl.Action.READ,
    ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
)
WRITE = Kind(
    acl.Action.WRITE,
    ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
    ),
)
IDEMPOTENT_WRITE = Kind(
    acl.Action.WRITE,
    ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False),
)
DESTRUCTIVE = Kind(
    acl.Action.WRITE,
    ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
    ),
)


def actor() -> Actor:
    current = _ACTOR.get()
    if current is None:  # only reachable by calling a tool function outside a tool call
        raise AuthError("not authenticated")
    return current


class Toolbox:
    """The server's tools, declared through it."""

    def __init__(self, server: FastMCP, actors: Actors) -> None:
        self.server = server
        self.actors = actors

    def read(self, fn: Callable[P, R]) -> Callable[P, R]:
        return self._register(fn, READ)

    def write(self, fn: Callable[P, R]) -> Callable[P, R]:
        return self._register(fn, WRITE)

    def idempotent_write(self, fn: Callable[P, R]) -> Callable[P, R]:
        return self._register(fn, IDEMPOTENT_WRITE)

    def destructive(self, fn: Callable[P, R]) -> Callable[P, R]:
        return self._register(fn, DESTRUCTIVE)

    def _register(self, fn: Callable[P, R], kind: Kind) -> Callable[P, R]:
        name = fn.__name__

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                access = CURRENT_ACCESS.get()
                if access is None:
                    raise AuthError("not authenticated")
                token = _ACTOR.set(self.actors.actor(access, "mcp", kind.action))
                try:
                    result = fn(*args, **kwargs)
                finally:
                    _ACTOR.reset(token)
            except Exception as exc:  # noqa: BLE001 - never a stack trace to the agent
                tool_called(name, exc)
                raise tool_error(exc) from None
            tool_called(name)
            return result

        self.server.tool(annotations=kind.annotations)(run)
        return run


# Parameters several tools share.
Path = Annotated[
    str, Field(description="Page path, e.g. 'Setup Guide' or 'Team/Onboarding' (no '.md', no leading '/').")
]
BaseRevision = Annotated[
    str | None,
    Field(description="The 'revision' read_note returned. The change is refused if the page changed since."),
]
Message = Annotated[str | None, Field(description="Commit message; a sensible one is made if omitted.")]
Result = dict[str, Any]
