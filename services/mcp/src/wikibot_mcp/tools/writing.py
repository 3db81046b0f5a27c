"""Tools that change pages: write_note, edit_note, rename_note, delete_note."""

# No ``from __future__ import annotations``: FastMCP reads these signatures as objects to build the schemas.
from typing import Annotated

from pydantic import Field

from ..wiki import WikiCore
from ..wiki.edits import FRONT_MATTER_HELP, OPS_HELP, Edit, EditOp
from ..wiki.frontmatter import FrontMatterChanges
from .declare import BaseRevision, Message, Path, Toolbox, actor
from .results import PageDeleted, PageEdited, PageRenamed, PageWritten


def register(tools: Toolbox, core: WikiCore) -> None:
    @tools.idempotent_write("Write a page")
    def write_note(
        path: Path,
        content: Annotated[
            str, Field(description="The whole page in Markdown. Front matter is kept if you omit it.")
        ],
        base_revision: BaseRevision = None,
        message: Message = None,
    ) -> PageWritten:
        """Create a page, or replace a whole page (replacing needs base_revision from read_note). For part of
        a page use edit_note."""
        return PageWritten.model_validate(
            core.write(actor(), path, content, base_revision=base_revision, message=message)
        )

    @tools.write("Edit part of a page")
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
        front_matter: Annotated[FrontMatterChanges | None, Field(description=FRONT_MATTER_HELP)] = None,
        base_revision: BaseRevision = None,
        message: Message = None,
    ) -> PageEdited:
        """Change part of a page without resending it, atomically; with base_revision it is refused if the page
        changed since you read it."""
        edit = Edit(
            op=operation, content=content, old_text=old_text, section=section, front_matter=front_matter
        )
        return PageEdited.model_validate(
            core.edit(actor(), path, edit, base_revision=base_revision, message=message)
        )

    @tools.destructive("Rename or move a page")
    def rename_note(
        path: Path,
        new_path: Annotated[str, Field(description="The new page path.")],
        update_links: Annotated[
            bool, Field(description="Rewrite links to the page in other pages (same commit).")
        ] = True,
        base_revision: BaseRevision = None,
        message: Message = None,
    ) -> PageRenamed:
        """Rename or move a page, with its attachments and subpages; links to it in other pages are updated in
        the same commit."""
        renamed = core.rename(
            actor(), path, new_path, base_revision=base_revision, message=message, update_links=update_links
        )
        return PageRenamed.model_validate(renamed)

    @tools.destructive("Delete a page")
    def delete_note(path: Path, base_revision: BaseRevision = None, message: Message = None) -> PageDeleted:
        """Delete a page and its attachments (subpages stay). It remains in the history and can be restored by
        reading an old revision and writing it back."""
        return PageDeleted.model_validate(
            core.delete(actor(), path, base_revision=base_revision, message=message)
        )
