"""A page across its history: the diff between two commits (or a commit and now), and restoring a page to what a
commit held — a new commit, checked against the current revision like every write (``context.Base.commit_write``).

Commits are named as ``get_history`` gives them (full or abbreviated ids); the page's path is its path now, so a
page renamed since is read under its new name (``get_history`` follows renames and says which commits to use).
"""

from __future__ import annotations

import difflib
from typing import Any

from wikibot_shared.errors import NotFound

from . import gitrepo, index
from .context import Actor, Base, Plan, commit_message
from .errors import RevisionRequired, StaleRevision
from .gitrepo import Changes
from .names import get_pagename, page_file

MAX_DIFF_CHARS = 200_000


def _lines(data: bytes | None) -> list[str]:
    return [] if data is None else data.decode("utf-8", errors="replace").splitlines(keepends=True)


class RevisionOps(Base):
    def _at(self, actor: Actor, file: str, commit: str) -> bytes | None:
        return gitrepo.show(self.repo(actor.slug), commit, file)

    def diff(self, actor: Actor, path: str, from_commit: str, to_commit: str | None = None) -> dict[str, Any]:
        """The page's unified diff from ``from_commit`` to ``to_commit`` (default: the page as it is now). A page
        absent at one side diffs against nothing (created or deleted in between)."""
        file = page_file(path)
        name = get_pagename(file)
        before = self._at(actor, file, from_commit)
        if to_commit is None:
            snap = self.snapshot(actor)
            after = (
                gitrepo.safe_abspath(self.repo(actor.slug), file).read_bytes() if file in snap.files else None
            )
        else:
            after = self._at(actor, file, to_commit)
        if before is None and after is None:
            raise NotFound(
                f"page '{name}' exists at neither side of this diff; get_history lists its commits",
                code="not_at_revision",
            )
        old, new = _lines(before), _lines(after)
        text = "".join(
            difflib.unified_diff(
                old, new, f"a/{name}@{from_commit[:12]}", f"b/{name}@{(to_commit or 'now')[:12]}"
            )
        )
        added = sum(1 for line in text.splitlines() if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in text.splitlines() if line.startswith("-") and not line.startswith("---"))
        return {
            "path": name,
            "from_commit": from_commit,
            "to_commit": to_commit,
            "changed": before != after,
            "lines_added": added,
            "lines_removed": removed,
            "diff": text[:MAX_DIFF_CHARS],
            "truncated": len(text) > MAX_DIFF_CHARS,
        }

    def restore(
        self,
        actor: Actor,
        path: str,
        commit: str,
        *,
        base_revision: str | None = None,
        message: str | None = None,
        require_base: bool = True,
    ) -> dict[str, Any]:
        """The page as ``commit`` had it, byte for byte, as a new commit. An existing page needs its current
        ``base_revision`` (from read_note), so a change made since is never undone unseen (``require_base=False``:
        REST's ``If-Match: *``); a page deleted since comes back without one."""
        file = page_file(path)
        name = get_pagename(file)
        data = self._at(actor, file, commit)
        if data is None:
            raise NotFound(
                f"page '{name}' did not exist under this name at {commit}; get_history lists the commits where it did",
                code="not_at_revision",
            )

        def plan(snap: index.Snapshot) -> Plan:
            current = snap.files.get(file)
            if current is not None:
                if base_revision is None and require_base:
                    raise RevisionRequired(name, current.blob)
                self.check_base(snap, file, base_revision)
            elif base_revision is not None:
                raise StaleRevision(name, base_revision, None)
            revision = gitrepo.blob_id(data)
            result = {
                "path": name,
                "url": self.page_url(actor.slug, name),
                "restored_from": commit,
                "revision": revision,
                "created": current is None,
            }
            if current is not None and current.blob == revision:
                return Plan(Changes({}), "", result)
            return Plan(
                Changes({file: data}), commit_message(message, f"Restore {name} to {commit[:12]}"), result
            )

        return self.commit_write(actor, plan)
