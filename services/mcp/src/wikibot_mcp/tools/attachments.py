"""Tools for files attached to pages: list_attachments, download_attachment, upload_attachment,
delete_attachment."""

# No ``from __future__ import annotations``: FastMCP reads these signatures as objects to build the schemas.
import base64
import binascii
from typing import Annotated

from pydantic import Field

from wikibot_shared.errors import InputError

from ..wiki import WikiCore
from .declare import Message, Path, Toolbox, actor
from .results import AttachmentDeleted, AttachmentFile, Attachments, AttachmentUploaded


def register(tools: Toolbox, core: WikiCore) -> None:
    @tools.read("List attachments")
    def list_attachments(path: Path) -> Attachments:
        """Files attached to a page (name, size, type, URL). Download one with download_attachment."""
        return Attachments.model_validate(core.list_attachments(actor(), path))

    @tools.read("Download an attachment")
    def download_attachment(
        path: Path,
        filename: Annotated[str, Field(description="The attachment's file name, e.g. 'diagram.png'.")],
    ) -> AttachmentFile:
        """Download a file attached to a page; its bytes come back base64-encoded."""
        data, content_type = core.read_attachment(actor(), path, filename)
        return AttachmentFile(
            filename=filename,
            content_type=content_type,
            size=len(data),
            content_base64=base64.b64encode(data).decode(),
        )

    @tools.write("Attach a file")
    def upload_attachment(
        path: Path,
        filename: Annotated[str, Field(description="File name, e.g. 'diagram.png' (no folders).")],
        content_base64: Annotated[str, Field(description="The file's bytes, base64-encoded.")],
        overwrite: Annotated[bool, Field(description="Replace an existing attachment of that name.")] = False,
        message: Message = None,
    ) -> AttachmentUploaded:
        """Attach a file to a page (size limits depend on the wiki's plan). Link it from the page with
        ![alt](/Page/a/filename) or [name](/Page/a/filename)."""
        try:
            data = base64.b64decode(content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InputError("'content_base64' is not valid base64", code="invalid_base64") from None
        return AttachmentUploaded.model_validate(
            core.upload(actor(), path, filename, data, overwrite=overwrite, message=message)
        )

    @tools.destructive("Delete an attachment")
    def delete_attachment(
        path: Path,
        filename: Annotated[str, Field(description="The attachment's file name.")],
        message: Message = None,
    ) -> AttachmentDeleted:
        """Remove a file attached to a page (it stays in the history). list_attachments shows the names."""
        return AttachmentDeleted.model_validate(
            core.delete_attachment(actor(), path, filename, message=message)
        )
