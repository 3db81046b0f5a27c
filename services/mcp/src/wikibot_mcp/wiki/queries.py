"""Questions about a wiki: list, history, recent changes, links, orphans, search."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wikibot_shared import git, undo
from wikibot_shared.errors import Conflict, InputError

from . import gitrepo
from .context import Actor, Base, iso
from .errors import UnknownCommit
from .filters import PageFilter, parse_since
from .names import get_pagename, page_file
from .search import Mode

MAX_LIMIT = 500
MAX_SEARCH_PAGES = 100_000  # the embedder's limit on a search's page list (docs/search.md)
HOME = "Home.md"


def _limit(limit: int, maximum: int = MAX_LIMIT) -> int:
    if limit < 1 or limit > maximum:
        raise InputError(f"limit must be between 1 and {maximum}", code="invalid_limit")
    return limit


class QueryOps(Base):
    def list(
        self,
        actor: Actor,
        *,
        prefix: str | None = None,
        tag: str | None = None,
        category: str | None = None,
        updated_since: str | int | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        pages = PageFilter.parse(prefix=prefix, tag=tag, category=category, updated_since=updated_since)
        limit = _limit(limit)
        snap = self.snapshot(actor)
        matches = [(snap.pages[f].name, snap.pages[f], snap.files[f]) for f in pages.files(snap)]
        start = 0
        if cursor:
            start = next((i for i, (n, _p, _i) in enumerate(matches) if n > cursor), len(matches))
        window = matches[start : start + limit]
        items = [
            {
                "path": name,
                "title": page.title,
                "tags": list(page.tags),
                "categories": list(page.categories),
                "updated": iso(info.updated),
                "size": info.size,
            }
            for name, page, info in window
        ]
        more = start + limit < len(matches)
        return {
            "total": len(matches),
            "pages": items,
            "next_cursor": window[-1][0] if more and window else None,
        }

    def history(self, actor: Actor, path: str, *, limit: int = 20, offset: int = 0) -> dict[str, Any]:
        file = page_file(path)
        limit = _limit(limit, 200)
        if offset < 0:
            raise InputError("offset cannot be negative", code="invalid_offset")
        repo = self.repo(actor.slug)
        out = (
            git.run(
                repo,
                "log",
                "--follow",
                f"--max-count={limit}",
                f"--skip={offset}",
                "--format=%x01%H%x1f%an%x1f%ae%x1f%at%x1f%B",
                "--",
                file,
            )
            if gitrepo.read_head(repo)
            else b""
        )
        entries = []
        for record in out.decode("utf-8", errors="replace").split("\x01"):
            parts = record.split("\x1f")
            if len(parts) == 5:
                sha, name, email, ts, body = parts
                entries.append(
                    {
                        "commit": sha,
                        "author": name,
                        "author_id": email.removesuffix("@did.invalid"),
                        "date": iso(int(ts)),
                        "message": undo.without_trailer(body),
                    }
                )
        if not entries and offset == 0:
            raise self.not_found(self.snapshot(actor), file)
        return {
            "path": get_pagename(file),
            "history": entries,
            "next_offset": offset + limit if len(entries) == limit else None,
        }

    def changes(self, actor: Actor, *, limit: int = 20, since: str | int | None = None) -> dict[str, Any]:
        """The newest commits first, with the pages and files they touched."""
        limit = _limit(limit, 200)
        repo = self.repo(actor.slug)
        if not gitrepo.read_head(repo):
            return {"changes": []}
        args = [f"--max-count={limit}"]
        when = parse_since(since)
        if when is not None:
            args.append(f"--since=@{when}")
        found = _log(repo, *args)
        if when is not None:  # git's --since still lets some older commits through (root commits)
            found = [c for c in found if c["timestamp"] >= when]
        return {"changes": [_without_timestamp(c) for c in found]}

    def head(self, actor: Actor) -> str | None:
        """The commit the wiki is at."""
        return gitrepo.read_head(self.repo(actor.slug))

    def changes_after(self, actor: Actor, after: str | None, *, limit: int = 100) -> dict[str, Any]:
        """A follower's page of changes: the commits after ``after`` (a commit this gave before; none: from
        the newest ``limit``), oldest first along the branch, and ``next`` to ask with next time. A cursor the
        branch no longer holds (history rewritten by a push) is 409 ``cursor_gone``."""
        limit = _limit(limit, 200)
        repo = self.repo(actor.slug)
        head = gitrepo.read_head(repo)
        if not head:
            return {"changes": [], "next": after}
        if after is None:
            found = list(reversed(_log(repo, f"--max-count={limit}", "--first-parent")))
        else:
            cursor = after.strip()
            if not _COMMIT.fullmatch(cursor) or not git.succeeds(
                repo, "cat-file", "-e", f"{cursor}^{{commit}}"
            ):
                raise InputError(f"'{after[:64]}' is not a commit of this wiki", code="unknown_cursor")
            if not git.succeeds(repo, "merge-base", "--is-ancestor", cursor, head):
                raise Conflict(
                    f"the wiki's history was rewritten past '{cursor[:12]}'; start again without 'after'",
                    code="cursor_gone",
                )
            found = _log(repo, "--reverse", "--first-parent", f"{cursor}..{head}")[:limit]
        changes = [_without_timestamp(c) for c in found]
        return {"changes": changes, "next": changes[-1]["commit"] if changes else after or head}

    def links(self, actor: Actor, path: str) -> dict[str, Any]:
        file = page_file(path)
        snap = self.snapshot(actor)
        page = snap.pages.get(file)
        if page is None:
            raise self.not_found(snap, file)
        outgoing = sorted(page.links - {file})
        return {
            "path": page.name,
            "links_to": [get_pagename(f) for f in outgoing if f in snap.pages],
            "missing": [get_pagename(f) for f in outgoing if f not in snap.pages],
            "linked_from": sorted(get_pagename(f) for f in snap.backlinks.get(file, ())),
        }

    def orphans(self, actor: Actor, *, limit: int = 200) -> dict[str, Any]:
        snap = self.snapshot(actor)
        backlinks = snap.backlinks
        found = sorted(p.name for f, p in snap.pages.items() if f != HOME and not backlinks.get(f))
        return {"total": len(found), "orphans": found[: _limit(limit)]}

    def search(
        self,
        actor: Actor,
        query: str,
        *,
        mode: Mode = "hybrid",
        k: int = 10,
        max_chunks_per_page: int = 3,
        prefix: str | None = None,
        tag: str | None = None,
        category: str | None = None,
        updated_since: str | int | None = None,
        min_commit: str | None = None,
    ) -> dict[str, Any]:
        """The ``k`` best pages for ``query`` among those the filters (as ``list``'s) let through; with
        ``min_commit``, from an index that holds that commit, waiting a bounded time for it (``freshness``)."""
        if not query or not query.strip():
            raise InputError("a search query is required", code="invalid_search")
        if len(query) > 1000:
            raise InputError("the search query is longer than 1000 characters", code="invalid_search")
        k = _limit(k, 50)
        if not 1 <= max_chunks_per_page <= 10:
            raise InputError("max_chunks_per_page must be between 1 and 10", code="invalid_search")
        pages = PageFilter.parse(prefix=prefix, tag=tag, category=category, updated_since=updated_since)
        repo = self.repo(actor.slug)
        head = gitrepo.read_head(repo)
        paths = None
        if pages.active:
            snap = self.snapshot(actor)
            head, paths = snap.head, pages.files(snap)
            if len(paths) > MAX_SEARCH_PAGES:
                raise InputError(
                    f"the filters let {len(paths)} pages through, more than the {MAX_SEARCH_PAGES} a search "
                    "can be narrowed to; narrow them (a longer prefix, a tag)",
                    code="invalid_filter",
                )
        target = _min_commit(repo, head, min_commit)
        text = query.strip()
        found, freshness = self.index_watch.search(
            actor.slug,
            repo,
            target or head,
            asked=target is not None,
            ask=lambda: self.search_client.search(actor.slug, text, mode, k, max_chunks_per_page, paths),
        )
        results = []
        for hit in found.hits:
            name = hit.page or get_pagename(hit.path)
            results.append(
                {
                    "path": name,
                    "title": hit.title or name,
                    "url": self.page_url(actor.slug, name),
                    "score": round(hit.score, 4),
                    "matches": [
                        {
                            "section": c.section,
                            "snippet": c.snippet or c.text[:300],
                            "text": c.text,
                            "score": round(c.score, 4),
                        }
                        for c in hit.chunks
                    ],
                }
            )
        return {"query": text, "mode": found.mode, **freshness.fields(), "results": results}


def _min_commit(repo: Path, head: str | None, value: str | None) -> str | None:
    """``min_commit`` as a full commit id of the wiki's history (HEAD or before), or None if not given."""
    text = (value or "").strip()
    if not text:
        return None
    if not gitrepo.looks_like_commit(text):
        raise UnknownCommit(
            f"min_commit '{text[:80]}' is not a commit id; pass the 'commit' a write returned (hex digits)"
        )
    full = gitrepo.resolve_commit(repo, text)
    if full is None:
        raise UnknownCommit(
            f"min_commit '{text}' is not a commit of this wiki; pass the 'commit' a write returned, "
            "or leave min_commit out"
        )
    if head is None or gitrepo.commits_missing(repo, full, head) != 0:
        raise UnknownCommit(
            f"min_commit '{text}' is no longer in the wiki's history (a push rewrote it); search without "
            "it, or pass a commit from get_recent_changes"
        )
    return full


_COMMIT = re.compile(r"[0-9a-f]{7,64}")


def _log(repo: Path, *args: str) -> list[dict[str, Any]]:
    """``git log`` of the wiki as records: commit, author, date, message, the pages and files touched."""
    out = git.run(
        repo, "log", *args, "--format=%x01%H%x1f%an%x1f%at%x1f%s%x1f", "--name-status", "-z", "--no-renames"
    ).decode("utf-8", errors="replace")
    result = []
    for record in out.split("\x01"):
        parts = record.split("\x1f")
        if len(parts) != 5:
            continue
        sha, name, ts, subject, rest = parts
        fields = [f for f in rest.lstrip("\0\n").split("\0") if f]
        pages: list[dict[str, str]] = []
        files: list[dict[str, str]] = []
        for status, target in zip(fields[::2], fields[1::2], strict=False):
            kind = {"A": "created", "D": "deleted"}.get(status[:1], "modified")
            entry = {"path": get_pagename(target) if target.endswith(".md") else target, "change": kind}
            (pages if target.endswith(".md") else files).append(entry)
        result.append(
            {
                "commit": sha,
                "author": name,
                "date": iso(int(ts)),
                "timestamp": int(ts),
                "message": subject,
                "pages": pages,
                "files": files,
            }
        )
    return result


def _without_timestamp(change: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in change.items() if k != "timestamp"}
