"""Tools that change pages: write_note, edit_note, rename_note, delete_note."""

# No ``from __future__ import annotations``: FastMCP reads these signatures as objects to build the schemas.
from typing import Annotated

from pydantic import Field

from ..wiki import WikiCore
from ..wiki.edits import OPS_HELP, Edit, EditOp
from .declare import BaseRevision, Message, Path, Result, Toolbox, actor


def register(tools: Toolbox, core: WikiCore) -> None:
    @tools.idempotent_write
    def write_note(
        path: Path,
        content: Annotated[
            str, Field(description="The whole page in Markdown. Front matter is kept if you omit it.")
        ],
        base_revision: BaseRevision = None,
        message: Message = None,
    ) -> Result:
        """Create a page, or replace a whole page.

        Creating needs no revision. Replacing an existing page needs 'base_revision' from read_note; if the
        page changed since, nothing is written and you are told to re-read. To change part of a page, use
        edit_note instead."""
        return core.write(actor(), path, content, base_revision=base_revision, message=message)

    @tools.write
    def edit_note(
        path: Path,
        operation: Annotated[EditOp, Field(description=OPS_HELP)],
        content: Annotated[str, Field(description="The new text (Markdown).")] = "",
        old_text: Annotated[
            str | None, Field(description="For 'replace': the exact existing text, unique on the page.")
        ] = None,
        section: Annotated[
            str | None,
            Field(description="For section operations: heading text or path, e.g. 'Setup Guide > Linux'."),
        ] = None,
        base_revision: BaseRevision = None,
        message: Message = None,
    ) -> Result:
        """Change part of a page without resending it: replace a unique string, append, prepend, or replace or
        insert around a section. Applied to the page as it is now, atomically; pass 'base_revision' to
        refuse the edit if the page changed since you read it."""
        edit = Edit(op=operation, content=content, old_text=old_text, section=section)
        return core.edit(actor(), path, edit, base_revision=base_revision, message=message)

    @tools.destructive
    def rename_note(
        path: Path,
        new_path: Annotated[str, Field(description="The new page path.")],
        update_links: Annotated[
            bool, Field(description="Rewrite links to the page in other pages (same commit).")
        ] = True,
        base_revision: BaseRevision = None,
        message: Message = None,
    ) -> Result:
        """Rename or move a page, with its attachments and subpages; links to it in other pages are updated in
        the same commit."""
        return core.rename(
            actor(), path, new_path, base_revision=base_revision, message=message, update_links=update_links
        )

    @tools.destructive
    def delete_note(path: Path, base_revision: BaseRevision = None, message: Message = None) -> Result:
        """Delete a page and its attachments (subpages stay). It remains in the history and can be restored by
        reading an old revision and writing it back."""
        return core.delete(actor(), path, base_revision=base_revision, message=message)
