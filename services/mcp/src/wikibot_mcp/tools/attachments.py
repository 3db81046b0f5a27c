"""Tools for files attached to pages: list_attachments, download_attachment, upload_attachment,
delete_attachment."""

# No ``from __future__ import annotations``: FastMCP reads these signatures as objects to build the schemas.
import base64
import binascii
from typing import Annotated

from pydantic import Field

from wikibot_shared.errors import InputError

from ..wiki import WikiCore
from .declare import Message, Path, Result, Toolbox, actor


def register(tools: Toolbox, core: WikiCore) -> None:
    @tools.read
    def list_attachments(path: Path) -> Result:
        """Files attached to a page (name, size, type, URL). Download one with download_attachment."""
        return core.list_attachments(actor(), path)

    @tools.read
    def download_attachment(
        path: Path,
        filename: Annotated[str, Field(description="The attachment's file name, e.g. 'diagram.png'.")],
    ) -> Result:
        """Download a file attached to a page; its bytes come back base64-encoded."""
        data, content_type = core.read_attachment(actor(), path, filename)
        return {
            "filename": filename,
            "content_type": content_type,
            "size": len(data),
            "content_base64": base64.b64encode(data).decode(),
        }

    @tools.write
    def upload_attachment(
        path: Path,
        filename: Annotated[str, Field(description="File name, e.g. 'diagram.png' (no folders).")],
        content_base64: Annotated[str, Field(description="The file's bytes, base64-encoded.")],
        overwrite: Annotated[bool, Field(description="Replace an existing attachment of that name.")] = False,
        message: Message = None,
    ) -> Result:
        """Attach a file to a page (size limits depend on the wiki's plan). Link it from the page with
        ![alt](/Page/a/filename) or [name](/Page/a/filename)."""
        try:
            data = base64.b64decode(content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InputError("'content_base64' is not valid base64", code="invalid_base64") from None
        return core.upload(actor(), path, filename, data, overwrite=overwrite, message=message)

    @tools.destructive
    def delete_attachment(
        path: Path,
        filename: Annotated[str, Field(description="The attachment's file name.")],
        message: Message = None,
    ) -> Result:
        """Remove a file attached to a page (it stays in the history). list_attachments shows the names."""
        return core.delete_attachment(actor(), path, filename, message=message)
