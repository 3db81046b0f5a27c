"""``completion/complete``: candidates for the arguments that name a page, or a file attached to one.

An argument that can be completed names its completer where its template or prompt is declared
(``tools.resource(…, complete=…)``, ``tools.prompt(…, complete=…)``). The one handler here finds it by reference
and argument, runs it as a read of the request's wiki (``tools.reading``), and answers at most the spec's 100
values, with ``total`` and ``hasMore`` when there are more (completion spec, "Completion Results"). A reference or
argument nothing completes gets no values, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mcp_types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from wikibot_shared.errors import InputError, NotFound

from ..wiki import WikiCore
from .declare import Completer, Toolbox, actor

MAX_VALUES = 100


def page_paths(core: WikiCore) -> Completer:
    """Page paths starting with the value (case-insensitive, as ``list_notes(prefix=…)``), in path order."""

    def complete(value: str, arguments: Mapping[str, str]) -> Sequence[str]:
        folded = value.strip().lstrip("/").casefold()
        names = (page.name for page in core.snapshot(actor()).pages.values())
        return sorted(name for name in names if name.casefold().startswith(folded))

    return complete


def attachment_names(core: WikiCore, page_argument: str = "page") -> Completer:
    """File names attached to the page given in ``page_argument``, starting with the value."""

    def complete(value: str, arguments: Mapping[str, str]) -> Sequence[str]:
        page = arguments.get(page_argument)
        if not page:
            return []
        try:
            attached = core.list_attachments(actor(), page)["attachments"]
        except (NotFound, InputError):  # no such page (yet): nothing to offer
            return []
        folded = value.casefold()
        return [a["filename"] for a in attached if a["filename"].casefold().startswith(folded)]

    return complete


def register(tools: Toolbox, core: WikiCore) -> None:
    def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion:
        key = ref.name if isinstance(ref, PromptReference) else ref.uri
        completer = tools.completers.get((ref.type, key, argument.name))
        if completer is None:
            return Completion(values=[])
        given = (context.arguments if context is not None else None) or {}
        found = list(completer(argument.value, given))
        more = len(found) > MAX_VALUES
        return Completion(values=found[:MAX_VALUES], total=len(found), has_more=more)

    tools.server.completion(tools.reading(complete))
