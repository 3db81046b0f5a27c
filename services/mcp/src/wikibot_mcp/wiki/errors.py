"""Errors of the wiki core: each a subclass of the shared tree, with a stable code and a message an agent can act on.

InputError (400)      InvalidPath, InvalidEdit, AmbiguousMatch (from the Markdown model), UnknownCommit
NotFound (404)        PageNotFound, SectionNotFound (from the Markdown model), AttachmentNotFound, RevisionNotFound
Conflict (409)        StaleRevision, PageExists
WikibotError (503)    SearchUnavailable
"""

from __future__ import annotations

from collections.abc import Sequence

from wikibot_shared.errors import Conflict, InputError, NotFound, WikibotError
from wikibot_shared.markdown import AmbiguousMatch as AmbiguousMatch
from wikibot_shared.markdown import SectionNotFound as SectionNotFound


class InvalidPath(InputError):
    code = "invalid_path"


class InvalidEdit(InputError):
    code = "invalid_edit"


class UnknownCommit(InputError):
    """A search's ``min_commit`` names no commit of the wiki's history."""

    code = "unknown_commit"


class PageNotFound(NotFound):
    code = "page_not_found"

    def __init__(self, page: str, *, suggestions: Sequence[str] = ()) -> None:
        message = f"there is no page '{page}'"
        if suggestions:
            message += "; did you mean " + ", ".join(f"'{s}'" for s in suggestions) + "?"
        super().__init__(message)
        self.page = page
        self.suggestions = list(suggestions)


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"


class RevisionNotFound(NotFound):
    code = "revision_not_found"


class StaleRevision(Conflict):
    """A write named a revision that is no longer the page's current one."""

    code = "stale_revision"

    def __init__(self, page: str, given: str | None, current: str | None) -> None:
        if current is None:
            message = f"page '{page}' no longer exists (it was deleted or renamed since you read it)"
        else:
            message = (
                f"page '{page}' changed since you read it (you sent revision {given}, "
                f"it is now {current}); read it again and apply your change to the new text"
            )
        super().__init__(message)
        self.page = page
        self.given = given
        self.current = current


class PageExists(Conflict):
    code = "page_exists"


class SearchUnavailable(WikibotError):
    status = 503
    code = "search_unavailable"


class RevisionRequired(Conflict):
    """Replacing an existing page needs the revision it was read at."""

    code = "revision_required"

    def __init__(self, page: str, current: str) -> None:
        super().__init__(
            f"page '{page}' already exists; read it first and pass its revision ({current}) to replace it, "
            "or use edit_note to change part of it"
        )
        self.page = page
        self.current = current
