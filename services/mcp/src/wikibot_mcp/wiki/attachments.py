"""Files attached to a page. As in Otterwiki, the attachments of page ``Team/Setup`` are the non-page files
directly inside the folder ``Team/Setup/``."""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import quote

from . import gitrepo, index
from .context import Actor, Base, Plan, commit_message, iso
from .errors import AttachmentNotFound, PageExists
from .gitrepo import Changes
from .names import attachment_name, get_attachment_directoryname, get_pagename, page_file


class AttachmentOps(Base):
    def _folder(self, snap: index.Snapshot, path: str) -> tuple[str, str]:
        file = page_file(path)
        if file not in snap.files:
            raise self.not_found(snap, file)
        return file, get_attachment_directoryname(file) + "/"

    def attachment_url(self, slug: str, page: str, name: str) -> str:
        return f"{self.page_url(slug, page)}/a/{quote(name)}"

    def list_attachments(self, actor: Actor, path: str) -> dict[str, Any]:
        snap = self.snapshot(actor)
        file, folder = self._folder(snap, path)
        page = get_pagename(file)
        items = []
        for f in sorted(snap.files):
            rest = f[len(folder) :]
            if f.startswith(folder) and "/" not in rest and not f.endswith(".md"):
                info = snap.files[f]
                items.append(
                    {
                        "filename": rest,
                        "size": info.size,
                        "content_type": mimetypes.guess_type(rest)[0] or "application/octet-stream",
                        "updated": iso(info.updated),
                        "url": self.attachment_url(actor.slug, page, rest),
                    }
                )
        return {"path": page, "attachments": items}

    def read_attachment(self, actor: Actor, path: str, filename: str) -> tuple[bytes, str]:
        snap = self.snapshot(actor)
        _file, folder = self._folder(snap, path)
        name = attachment_name(filename)
        if folder + name not in snap.files:
            raise AttachmentNotFound(
                f"page '{path}' has no attachment '{name}'; list_attachments shows what it has"
            )
        try:
            data = gitrepo.safe_abspath(self.repo(actor.slug), folder + name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise AttachmentNotFound(f"page '{path}' has no attachment '{name}'") from None
        return data, mimetypes.guess_type(name)[0] or "application/octet-stream"

    def upload(
        self,
        actor: Actor,
        path: str,
        filename: str,
        data: bytes,
        *,
        overwrite: bool = False,
        message: str | None = None,
    ) -> dict[str, Any]:
        name = attachment_name(filename)

        def plan(snap: index.Snapshot) -> Plan:
            file, folder = self._folder(snap, path)
            page = get_pagename(file)
            target = folder + name
            existing = snap.files.get(target)
            if existing is not None and not overwrite:
                raise PageExists(
                    f"'{name}' is already attached to '{page}'; pass overwrite=true to replace it"
                )
            result = {
                "path": page,
                "filename": name,
                "size": len(data),
                "url": self.attachment_url(actor.slug, page, name),
            }
            if existing is not None and existing.blob == gitrepo.blob_id(data):
                return Plan(Changes({}), "", result, attachment_bytes=len(data))
            return Plan(
                Changes({target: data}),
                commit_message(message, f"Attach {name} to {page}"),
                result,
                attachment_bytes=len(data),
            )

        return self.commit_write(actor, plan)

    def delete_attachment(
        self, actor: Actor, path: str, filename: str, *, message: str | None = None
    ) -> dict[str, Any]:
        name = attachment_name(filename)

        def plan(snap: index.Snapshot) -> Plan:
            file, folder = self._folder(snap, path)
            page = get_pagename(file)
            if folder + name not in snap.files:
                raise AttachmentNotFound(
                    f"page '{page}' has no attachment '{name}'; list_attachments shows what it has"
                )
            result = {"path": page, "filename": name, "deleted": True}
            return Plan(
                Changes({}, [folder + name]), commit_message(message, f"Remove {name} from {page}"), result
            )

        return self.commit_write(actor, plan)
