"""Page operations: read, write, edit, delete, rename."""

from __future__ import annotations

from typing import Any

from wikibot_shared import markdown
from wikibot_shared.errors import InputError, LimitExceeded, NotFound

from . import edits, gitrepo, index, links
from .context import Actor, Base, Plan, commit_message, iso
from .errors import InvalidEdit, PageExists, RevisionRequired, StaleRevision
from .gitrepo import Changes
from .names import get_attachment_directoryname, get_pagename, page_file


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"page '{name}' is not UTF-8 text", code="not_text") from None


class PageOps(Base):
    def _current_text(self, actor: Actor, snap: index.Snapshot, file: str) -> str:
        if file not in snap.files:
            raise self.not_found(snap, file)
        data = gitrepo.safe_abspath(self.tree(actor), file).read_bytes()
        return _decode(data, get_pagename(file))

    def _check_size(self, text: str) -> bytes:
        data = text.encode("utf-8")
        if len(data) > self.max_page_bytes:
            raise LimitExceeded(
                f"a page may hold at most {self.max_page_bytes} bytes; this one would be {len(data)}",
                code="page_too_large",
            )
        if "\x00" in text:
            raise InvalidEdit("page text cannot contain NUL characters")
        return data

    def _describe(self, actor: Actor, snap: index.Snapshot, file: str) -> dict[str, Any]:
        info = snap.files.get(file)
        page = snap.pages.get(file)
        name = get_pagename(file)
        return {
            "path": name,
            "title": page.title if page else name,
            "url": self.page_url(actor.slug, name),
            **({"updated": iso(info.updated), "last_commit": info.commit} if info else {}),
        }

    # -- read ----------------------------------------------------------------------------------------------
    def read(
        self,
        actor: Actor,
        path: str,
        *,
        section: str | None = None,
        revision: str | None = None,
        proposal: int | None = None,
    ) -> dict[str, Any]:
        """The page now, at an old ``revision`` (a commit), or as open ``proposal`` #n would make it."""
        file = page_file(path)
        if proposal is not None:
            if revision is not None:
                raise InputError("pass a revision or a proposal, not both", code="invalid_request")
            revision = self.proposal_commit(actor, proposal)
        repo = self.repo(actor.slug)
        snap = self.snapshots.get(repo)
        if revision is not None:
            data = gitrepo.show(repo, revision, file)
            if data is None:
                if file not in snap.files:
                    raise self.not_found(snap, file)
                raise NotFound(
                    f"page '{get_pagename(file)}' did not exist under this name at {revision}; "
                    "get_history lists the commits where it did",
                    code="not_at_revision",
                )
            result: dict[str, Any] = {"path": get_pagename(file), "at_commit": revision}
            if proposal is not None:
                result["proposal"] = proposal
        else:
            try:
                data = gitrepo.safe_abspath(repo, file).read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise self.not_found(snap, file) from None
            result = self._describe(actor, snap, file)
        text = _decode(data, get_pagename(file))
        doc = markdown.parse(text)
        result["revision"] = gitrepo.blob_id(data)
        result["meta"] = doc.meta
        result["tags"] = markdown.tags(doc.meta)
        result["categories"] = markdown.categories(doc.meta)
        result["size"] = len(data)
        if section is not None:
            result["section"] = markdown.find_section(doc.body, section).label
            result["content"] = markdown.section_text(doc.body, section)
        else:
            result["content"] = text
            result["sections"] = [h.label for h in markdown.headings(doc.body)][:100]
        return result

    # -- write (create or replace) -------------------------------------------------------------------------
    def write(
        self,
        actor: Actor,
        path: str,
        content: str,
        *,
        base_revision: str | None = None,
        message: str | None = None,
        create_only: bool = False,
        require_base: bool = True,
    ) -> dict[str, Any]:
        file = page_file(path)
        name = get_pagename(file)

        def plan(snap: index.Snapshot) -> Plan:
            current = snap.files.get(file)
            text = content
            if current is not None:
                if create_only:
                    raise PageExists(
                        f"page '{name}' already exists; read it and pass its revision to replace it"
                    )
                if base_revision is None and require_base:
                    raise RevisionRequired(name, current.blob)
                self.check_base(snap, file, base_revision)
                old = markdown.parse(self._current_text(actor, snap, file))
                new = markdown.parse(text)
                if old.front_matter and not new.front_matter:
                    text = old.front_matter + text  # front matter is kept unless the new text brings its own
            elif base_revision is not None:
                raise StaleRevision(name, base_revision, None)
            data = self._check_size(text)
            created = current is None
            result = {
                **self._describe(actor, snap, file),
                "created": created,
                "revision": gitrepo.blob_id(data),
            }
            if current is not None and current.blob == result["revision"]:
                return Plan(Changes({}), "", result)
            verb = "Create" if created else "Update"
            return Plan(Changes({file: data}), commit_message(message, f"{verb} {name}"), result)

        return self.commit_write(actor, plan)

    # -- edit ----------------------------------------------------------------------------------------------
    def edit(
        self,
        actor: Actor,
        path: str,
        edit: edits.Edit,
        *,
        base_revision: str | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        file = page_file(path)
        name = get_pagename(file)
        if edit.op not in edits.EDIT_OPS:
            raise InvalidEdit(f"unknown edit operation '{edit.op}'; use one of {', '.join(edits.EDIT_OPS)}")

        def plan(snap: index.Snapshot) -> Plan:
            self.check_base(snap, file, base_revision)
            text = self._current_text(actor, snap, file)
            new_text = edits.apply(text, edit)
            data = self._check_size(new_text)
            result = {**self._describe(actor, snap, file), "revision": gitrepo.blob_id(data), "op": edit.op}
            if new_text == text:
                return Plan(Changes({}), "", result)
            return Plan(Changes({file: data}), commit_message(message, f"Edit {name} ({edit.op})"), result)

        return self.commit_write(actor, plan)

    # -- delete --------------------------------------------------------------------------------------------
    def delete(
        self, actor: Actor, path: str, *, base_revision: str | None = None, message: str | None = None
    ) -> dict[str, Any]:
        file = page_file(path)
        name = get_pagename(file)

        def plan(snap: index.Snapshot) -> Plan:
            if file not in snap.files:
                raise self.not_found(snap, file)
            self.check_base(snap, file, base_revision)
            folder = get_attachment_directoryname(file) + "/"
            attached = [
                f
                for f in snap.files
                if f.startswith(folder) and "/" not in f[len(folder) :] and not f.endswith(".md")
            ]
            result = {
                "path": name,
                "deleted": True,
                "attachments_deleted": [f[len(folder) :] for f in attached],
            }
            return Plan(Changes({}, [file, *attached]), commit_message(message, f"Delete {name}"), result)

        return self.commit_write(actor, plan)

    # -- rename --------------------------------------------------------------------------------------------
    def rename(
        self,
        actor: Actor,
        path: str,
        new_path: str,
        *,
        base_revision: str | None = None,
        message: str | None = None,
        update_links: bool = True,
    ) -> dict[str, Any]:
        old_file, new_file = page_file(path), page_file(new_path)
        old_name, new_name = get_pagename(old_file), get_pagename(new_file)
        if old_file == new_file:
            raise InvalidEdit("the new path is the same as the old one")
        old_dir, new_dir = (
            get_attachment_directoryname(old_file) + "/",
            get_attachment_directoryname(new_file) + "/",
        )
        if new_dir.startswith(old_dir):
            raise InvalidEdit("a page cannot be moved below itself")

        def plan(snap: index.Snapshot) -> Plan:
            repo = self.tree(actor)
            if old_file not in snap.files:
                raise self.not_found(snap, old_file)
            self.check_base(snap, old_file, base_revision)
            if new_file in snap.files:
                raise PageExists(f"page '{new_name}' already exists; pick another name or delete it first")
            if snap.files[old_file].mode == "120000":
                raise InvalidEdit(f"page '{old_name}' is a link to another page; rename that page instead")
            # Like Otterwiki's rename: the page, and its folder (attachments and subpages) with it.
            moves = {old_file: new_file}
            moves.update({f: new_dir + f[len(old_dir) :] for f in snap.files if f.startswith(old_dir)})
            clash = [t for t in moves.values() if t in snap.files]
            if clash:
                raise PageExists(f"'{clash[0]}' already exists under the new name; move it away first")
            writes: dict[str, bytes] = {}
            for src, dst in moves.items():
                writes[dst] = gitrepo.safe_abspath(repo, src).read_bytes()
            rewritten: list[str] = []
            if update_links:
                moved_pages = {s: d for s, d in moves.items() if s.endswith(".md")}
                referrers = {r for s in moved_pages for r in snap.backlinks.get(s, ())} | set(moved_pages)
                for ref in sorted(referrers):
                    target = moves.get(ref, ref)
                    original = (
                        writes[target] if target in writes else gitrepo.safe_abspath(repo, ref).read_bytes()
                    )
                    text = original.decode("utf-8", errors="surrogateescape")
                    for src, dst in moved_pages.items():
                        text = links.rewrite_links(text, src, get_pagename(dst))
                    data = text.encode("utf-8", errors="surrogateescape")
                    if data != original:
                        writes[target] = data
                        if ref not in moves:
                            rewritten.append(get_pagename(ref))
            result = {
                "path": new_name,
                "old_path": old_name,
                "url": self.page_url(actor.slug, new_name),
                "moved": {
                    get_pagename(s) if s.endswith(".md") else s: d for s, d in moves.items() if s != old_file
                },
                "links_updated_in": rewritten,
                "revision": gitrepo.blob_id(writes[new_file]),
            }
            return Plan(
                Changes(writes, list(moves)),
                commit_message(message, f"Rename {old_name} to {new_name}"),
                result,
                optional=frozenset(w for w in writes if w not in moves.values()),
                optional_hint="Rename with update_links=false to leave the pages that link to it unchanged, "
                "or ask the wiki's owner for more.",
            )

        return self.commit_write(actor, plan)
