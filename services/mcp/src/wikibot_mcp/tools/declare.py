"""How a tool is declared: once, with what it does to the wiki.

``@tools.read(title)``, ``@tools.write(title)``, ``@tools.idempotent_write(title)`` and
``@tools.destructive(title)`` register a typed function with FastMCP (its docstring is the description, its
``Annotated`` parameters the input schema, its return type — a model of ``results`` — the output schema) and set,
from that one word, both the MCP annotations (``readOnlyHint``, ``destructiveHint``, ``idempotentHint``) and the
action the call is authorized for. The transport (``mcp_http``) reads the action back from the tool registry,
so a write tool can never lose its step-up challenge by being left off a list.

Inside a tool, ``actor()`` is the wiki actor of the request (already authorized for the tool's action); a
domain error raised by the tool becomes actionable text (``mcp_errors``) and every call is counted.

Resource templates and prompts are declared the same way (``@tools.resource``, ``@tools.prompt``), and anything
else that reads the wiki for a request (the resource listing, completions) is wrapped with ``tools.reading``:
the same path as a tool's, authorized to read, its errors JSON-RPC errors (``mcp_errors.request_error``). Their
arguments that can be completed name their ``Completer`` where they are declared (``tools.completers``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

from fastmcp import FastMCP
from fastmcp.prompts import PromptResult
from fastmcp.prompts.function_prompt import FunctionPrompt
from fastmcp.tools.function_tool import FunctionTool
from mcp_types import Icon, ToolAnnotations
from pydantic import Field

from wikibot_shared import acl
from wikibot_shared.errors import AuthError, InputError

from ..actors import CURRENT_ACCESS, Actors
from ..mcp_errors import request_error, tool_error
from ..metrics import tool_called
from ..wiki import Actor

P = ParamSpec("P")
R = TypeVar("R")

# The actor of the tool call running now (set by the tool's wrapper for its duration).
_ACTOR: ContextVar[Actor | None] = ContextVar("wikibot_mcp_actor", default=None)

Completer = Callable[[str, Mapping[str, str]], Sequence[str]]
"""An argument's candidates, best first: from the value typed so far and the other arguments already given."""


@dataclass(frozen=True)
class Kind:
    action: acl.Action
    annotations: ToolAnnotations
    icon: str  # the name of its icon (``icons``)


READ = Kind(
    acl.Action.READ,
    ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
    "read",
)
WRITE = Kind(
    acl.Action.WRITE,
    ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
    ),
    "write",
)
IDEMPOTENT_WRITE = Kind(
    acl.Action.WRITE,
    ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False),
    "write",
)
DESTRUCTIVE = Kind(
    acl.Action.WRITE,
    ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
    ),
    "destructive",
)


class Icons:
    """Where the icons of the server and its tools are (2025-11-25 ``icons``): SVGs the platform serves at
    ``/app/static/icons/``, one per kind of tool (read, write, destructive) and one for the server. Without a base
    URL (a server built only to list its tools) there are none."""

    def __init__(self, base_url: str | None) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None

    def __call__(self, name: str) -> list[Icon] | None:
        if self.base_url is None:
            return None
        return [Icon(src=f"{self.base_url}/{name}.svg", mime_type="image/svg+xml", sizes=["any"])]


def compact(schema: Any, *, output: bool = False) -> Any:
    """The same JSON Schema in fewer bytes (``tools/list`` is context an agent pays for on every turn): an
    optional ``{"anyOf": [X, {"type": "null"}], "default": null}`` becomes X with ``"type": [X's type, "null"]``;
    an output schema drops ``additionalProperties`` (the server's models are strict; clients need not be)."""
    if isinstance(schema, list):
        return [compact(item, output=output) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: compact(value, output=output) for key, value in schema.items()}
    if output and "additionalProperties" in out and isinstance(out["additionalProperties"], bool):
        del out["additionalProperties"]
    options = out.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        (other,) = [o for o in options if o != {"type": "null"}]
        if isinstance(other, dict) and isinstance(other.get("type"), str):
            del out["anyOf"]
            out = {**out, **other, "type": [other["type"], "null"]}
            if out.get("default", 0) is None:
                del out["default"]
    return out


def actor() -> Actor:
    current = _ACTOR.get()
    if current is None:  # only reachable by calling a tool function outside a tool call
        raise AuthError("not authenticated")
    return current


class Toolbox:
    """The server's tools, resource templates and prompts, declared through it."""

    def __init__(self, server: FastMCP, actors: Actors, icons: Icons) -> None:
        self.server = server
        self.actors = actors
        self.icons = icons
        # (ref type, prompt name or template URI, argument) -> its completer
        self.completers: dict[tuple[str, str, str], Completer] = {}

    def read(self, title: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
        return lambda fn: self._register(fn, READ, title)

    def write(self, title: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
        return lambda fn: self._register(fn, WRITE, title)

    def idempotent_write(self, title: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
        return lambda fn: self._register(fn, IDEMPOTENT_WRITE, title)

    def destructive(self, title: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
        return lambda fn: self._register(fn, DESTRUCTIVE, title)

    def resource(
        self,
        uri_template: str,
        title: str,
        *,
        mime_type: str,
        complete: Mapping[str, Completer] | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """A resource template; reading it is a read of the wiki."""

        def register(fn: Callable[P, R]) -> Callable[P, R]:
            run = self.reading(fn)
            # The core validates page and file names and says what is wrong with one; FastMCP's own screening of
            # the parameters would answer a bare "Unknown resource" first.
            self.server.resource(uri_template, title=title, mime_type=mime_type, security=None)(run)
            self._completes("ref/resource", uri_template, complete)
            return run

        return register

    def prompt(
        self, title: str, *, complete: Mapping[str, Completer] | None = None
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """A prompt; rendering it is a read of the wiki. Its arguments are plain ``str`` (MCP passes strings),
        described in the docstring's ``Args:``."""

        def register(fn: Callable[P, R]) -> Callable[P, R]:
            run = self.reading(fn)
            self.server.add_prompt(_Prompt.from_function(run, title=title))
            self._completes("ref/prompt", fn.__name__, complete)
            return run

        return register

    def reading(self, fn: Callable[P, R]) -> Callable[P, R]:
        """``fn`` run as a read of the wiki by the request's actor, its errors JSON-RPC errors."""
        return self._acting(fn, acl.Action.READ, request_error, lambda exc: None)

    def _completes(self, ref: str, key: str, complete: Mapping[str, Completer] | None) -> None:
        for argument, completer in (complete or {}).items():
            self.completers[(ref, key, argument)] = completer

    def _acting(
        self,
        fn: Callable[P, R],
        action: acl.Action,
        refuse: Callable[[BaseException], Exception],
        record: Callable[[BaseException | None], None],
    ) -> Callable[P, R]:
        """``fn`` run with ``actor()`` set to the request's actor, authorized for ``action`` (the decision
        ``/mcp`` handed over in ``CURRENT_ACCESS``); what it raises goes out through ``refuse``."""

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                access = CURRENT_ACCESS.get()
                if access is None:
                    raise AuthError("not authenticated")
                token = _ACTOR.set(self.actors.actor(access, "mcp", action))
                try:
                    result = fn(*args, **kwargs)
                finally:
                    _ACTOR.reset(token)
            except Exception as exc:  # noqa: BLE001 - never a stack trace to the agent
                record(exc)
                raise refuse(exc) from None
            record(None)
            return result

        return run

    def _register(self, fn: Callable[P, R], kind: Kind, title: str) -> Callable[P, R]:
        run = self._acting(fn, kind.action, tool_error, functools.partial(tool_called, fn.__name__))
        tool = FunctionTool.from_function(
            run, annotations=kind.annotations, title=title, icons=self.icons(kind.icon), run_in_thread=True
        )
        tool.parameters = compact(tool.parameters)
        if tool.output_schema is not None:
            tool.output_schema = compact(tool.output_schema, output=True)
        self.server.add_tool(tool)
        return run


class _Prompt(FunctionPrompt):
    """FastMCP's prompt, but a missing required argument is refused in words (FastMCP's own check, ahead of its
    error handling, answers an internal error and logs a traceback)."""

    async def render(self, arguments: dict[str, Any] | None = None) -> PromptResult:
        missing = [a.name for a in self.arguments or () if a.required and a.name not in (arguments or {})]
        if missing:
            refusal = InputError(f"prompt '{self.name}' needs {', '.join(missing)}", code="missing_argument")
            raise request_error(refusal)
        return await super().render(arguments)


# Parameters several tools share.
Path = Annotated[str, Field(description="Page path, e.g. 'Team/Onboarding' (no .md)")]
BaseRevision = Annotated[
    str | None, Field(description="read_note's revision; refused if the page changed since")
]
Message = Annotated[str | None, Field(description="Commit message (optional)")]
Prefix = Annotated[str | None, Field(description="Only pages under this path, e.g. 'Team/'")]
Tag = Annotated[str | None, Field(description="Only pages with this front-matter tag")]
Category = Annotated[str | None, Field(description="Only pages with this front-matter category")]
UpdatedSince = Annotated[str | None, Field(description="Only pages changed since (ISO 8601)")]
MinCommit = Annotated[
    str | None, Field(description="A commit a write returned: wait (briefly) until the index holds it")
]
