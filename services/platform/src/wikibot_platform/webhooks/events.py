"""From the commits a change notice covers to webhook events: one per file a commit changed.

A notice names a wiki and the commit its HEAD moved to; a git push of many commits sends one. The per-wiki
cursor (``webhook_cursors``) is the last commit already turned into events, so a notice covers the commits
from there (``rev-list --reverse cursor..commit``, first-parent order of landing). A notice for a commit the
cursor already holds (a late or repeated notice) covers nothing; one for a commit that is not a descendant
(a force push) covers that commit alone. Event ids are derived from the commit and the path, so a notice read
twice (a crash before its ack) makes the same events, which the outbox's unique key keeps once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote

from wikibot_shared import git
from wikibot_shared.models import Proposal

from ..schemas import EventName

MAX_COMMITS = 200  # per notice; a larger push is announced by its newest commits
EVENT_TYPES: tuple[str, ...] = get_args(EventName)  # declared once, in the API's schemas
_VERBS = {"A": "created", "M": "updated", "T": "updated", "D": "deleted", "R": "renamed"}


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    timestamp: str
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "timestamp": self.timestamp, "data": self.data}


def member_event(
    slug: str,
    kind: str,
    *,
    did: str,
    handle: str | None,
    role: str | None,
    by: str | None,
    paths: list[str] | None = None,
) -> Event:
    """A collaborator added, changed (role or folders) or removed; not a commit, so made where it happens."""
    now = datetime.now(UTC)
    digest = hashlib.sha256(f"{slug}\0{kind}\0{did}\0{now.timestamp():.6f}".encode())
    data: dict[str, Any] = {
        "wiki": slug,
        "member": {"did": did, "handle": handle, "role": role, "paths": paths},
        "by": by,
    }
    return Event(f"evt_{digest.hexdigest()[:32]}", f"member.{kind}", now.strftime("%Y-%m-%dT%H:%M:%SZ"), data)


def proposal_event(slug: str, kind: str, proposal: Proposal, *, at: float, url: str, wiki_url: str) -> Event:
    """A proposal opened, updated (another commit), approved or rejected: from the notice its writer sent, with
    the proposal as it is when the event is made. The id is the notice's (wiki, number, kind, time)."""
    digest = hashlib.sha256(f"{slug}\0{proposal.number}\0{kind}\0{at:.6f}".encode())
    data: dict[str, Any] = {
        "wiki": slug,
        "wiki_url": wiki_url,
        "proposal": {
            "id": proposal.number,
            "title": proposal.title,
            "state": proposal.state,
            "author": _who(proposal.author_name, f"{proposal.author_did}@did.invalid"),
            "pages": [_page(p) for p in proposal.paths],
            "commits": proposal.commits,
            "comment": proposal.comment,
            "decided_by": proposal.decided_by_name,
            "merged_commit": proposal.merged_commit,
            "url": url,
        },
    }
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Event(f"evt_{digest.hexdigest()[:32]}", kind, stamp, data)


def covered(repo: Path, cursor: str | None, commit: str) -> list[str]:
    """The commits a notice for ``commit`` covers, oldest first (see the module's docstring)."""
    if cursor == commit:
        return []
    if cursor is not None and _is_ancestor(repo, commit, cursor):
        return []
    if cursor is not None and _is_ancestor(repo, cursor, commit):
        out = git.run(repo, "rev-list", "--reverse", "--first-parent", f"{cursor}..{commit}").decode()
        commits = out.split()
        return commits[-MAX_COMMITS:]
    return [commit]


def _is_ancestor(repo: Path, a: str, b: str) -> bool:
    return git.succeeds(repo, "merge-base", "--is-ancestor", a, b)


def _page(path: str) -> str:
    return path[:-3] if path.endswith(".md") else path


def _who(name: str, email: str) -> dict[str, str | None]:
    person, _, app = name.partition(" via ")
    did = email[: -len("@did.invalid")] if email.endswith("@did.invalid") else None
    return {"name": person, "did": did, "app": app or None}


def commit_events(
    repo: Path, slug: str, commit: str, *, wiki_url: str, source: str, page_url: Callable[[str], str]
) -> list[Event]:
    """The events of one commit: each file it added, changed, removed or renamed (``git diff-tree --raw``
    against its first parent; a merge's content arrives with the commits it merged)."""
    head = git.run(repo, "show", "-s", "--format=%P%x00%an%x00%ae%x00%ct%x00%s", commit).decode()
    parents, name, email, when, message = [*head.rstrip("\n").split("\0"), "", "", "", "0", ""][:5]
    if len(parents.split()) > 1:
        return []
    raw = git.run(repo, "diff-tree", "-r", "-M", "--raw", "-z", "--no-commit-id", "--root", commit).decode(
        "utf-8", "surrogateescape"
    )
    fields = raw.split("\0")
    events: list[Event] = []
    stamp = datetime.fromtimestamp(int(when or 0), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    i = 0
    while i < len(fields) - 1:
        meta = fields[i]
        if not meta.startswith(":"):
            i += 1
            continue
        _old_mode, _new_mode, _old_blob, new_blob, status = meta[1:].split(" ")
        letter = status[0]
        if letter in ("R", "C"):
            old_path, path = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old_path, path = None, fields[i + 1]
            i += 2
        verb = _VERBS.get(letter)
        if verb is None:
            continue
        kind = "page" if path.endswith(".md") else "attachment"
        deleted = letter == "D"
        data: dict[str, Any] = {
            "wiki": slug,
            "wiki_url": wiki_url,
            kind: _page(path),
            "path": path,
            "commit": commit,
            "revision": None if deleted else new_blob,
            "message": message,
            "author": _who(name, email),
            "source": source,
            "url": None if deleted else page_url(_page(path) if kind == "page" else path),
            "diff_url": f"{wiki_url}/-/commit/{quote(commit)}",
        }
        if old_path is not None:
            data["old_" + kind] = _page(old_path)
        digest = hashlib.sha256(f"{slug}\0{commit}\0{path}\0{letter}".encode("utf-8", "surrogateescape"))
        events.append(Event(f"evt_{digest.hexdigest()[:32]}", f"{kind}.{verb}", stamp, data))
    return events
