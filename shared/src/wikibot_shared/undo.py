"""What one agent changed, and undoing it in one commit ("undo this app"; docs/proposals.md).

Every commit the wiki core makes for an agent — a connected app (OAuth grant) or a personal access token — ends
with a trailer naming the credential, ``Wikibot-Credential: oauth:<grant id>`` or ``pat:<token id>``; a
proposal's commits carry it onto main when approved. ``activity`` finds those commits on main (since a time),
and for each file they touched: what it was before the agent's first change in that window (the version to go
back to, or nothing if the agent created it), and whether anyone else changed it after the agent's last change.
``revert_tree`` is main's tree with the chosen files put back; the caller commits it under the wiki's lock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import git
from .errors import GitError

TRAILER = "Wikibot-Credential"
KINDS = ("oauth", "pat")
MAX_COMMITS = 2000  # looked at per request; older activity is "since" away
_TRAILER_LINE = re.compile(rf"\n*^{TRAILER}: [^\n]*\n?", re.MULTILINE)


def trailer(kind: str, credential_id: str) -> str:
    return f"{TRAILER}: {kind}:{credential_id}"


def signed(message: str, kind: str | None, credential_id: str | None) -> str:
    """``message`` with the credential's trailer (unchanged when no agent made it)."""
    if not kind or not credential_id:
        return message
    return f"{message.rstrip()}\n\n{trailer(kind, credential_id)}\n"


def without_trailer(message: str) -> str:
    """A commit message as people read it: our attribution trailer left out."""
    return _TRAILER_LINE.sub("", message).strip()


@dataclass(frozen=True)
class Commit:
    sha: str
    when: int
    subject: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class FileChange:
    path: str
    restore_to: (
        str | None
    )  # the blob before the agent's first change; None: it did not exist (undo deletes it)
    commits: int  # the agent's commits that touched it
    changed_since: list[str] = field(
        default_factory=list
    )  # other authors' commits after the agent's last one
    others: list[str] = field(default_factory=list)  # their authors

    @property
    def clean(self) -> bool:
        return not self.changed_since


@dataclass(frozen=True)
class Activity:
    head: str
    commits: list[Commit]  # newest first
    files: list[FileChange]


def _log(repo: Path, *args: str) -> list[tuple[str, int, str, str, tuple[str, ...]]]:
    out = git.run(
        repo,
        "log",
        "--first-parent",
        "--no-renames",
        "--name-only",
        "-z",
        "--format=%x01%H%x1f%ct%x1f%an%x1f%s",
        *args,
    ).decode("utf-8", errors="surrogateescape")
    found = []
    for record in out.split("\x01"):
        if not record.strip("\0\n"):
            continue
        meta, _, names = record.partition("\0")  # "meta\0\nfile\0file\0" (git log -z --name-only)
        parts = meta.split("\x1f")
        if len(parts) != 4:
            continue
        sha, ts, author, subject = parts
        paths = tuple(p for p in names.lstrip("\n").split("\0") if p)
        found.append((sha, int(ts), author, subject, paths))
    return found


def activity(repo: Path, kind: str, credential_id: str, since: datetime | None = None) -> Activity:
    head = git.run(repo, "rev-parse", "HEAD").decode().strip()
    mine = _log(
        repo, "-F", f"--grep={trailer(kind, credential_id)}", f"--max-count={MAX_COMMITS}", "HEAD", "--"
    )
    start = since.timestamp() if since else None  # by commit time (git's --since parses dates its own way)
    commits = [
        Commit(sha, ts, subject, paths)
        for sha, ts, _a, subject, paths in mine
        if start is None or ts >= start
    ]
    ours = {c.sha for c in commits}
    files: list[FileChange] = []
    touched: dict[str, list[Commit]] = {}
    for c in commits:
        for p in c.paths:
            touched.setdefault(p, []).append(c)
    for path in sorted(touched):
        by_me = touched[path]  # newest first
        first, last = by_me[-1], by_me[0]
        restore_to = _blob(repo, f"{first.sha}^", path)
        later = _log(repo, f"{last.sha}..HEAD", "--", path)
        others = [(sha, author) for sha, _ts, author, _s, _p in later if sha not in ours]
        files.append(
            FileChange(
                path,
                restore_to,
                len(by_me),
                [sha for sha, _ in others],
                sorted({author for _, author in others}),
            )
        )
    return Activity(head, commits, files)


def _blob(repo: Path, commit: str, path: str) -> str | None:
    try:
        entries = git.ls_tree(repo, commit, [path])
    except GitError:  # the agent's first commit is the repository's first
        return None
    return next((e.oid for e in entries if e.path == path and e.type == "blob"), None)


def revert_tree(repo: Path, head: str, files: Iterable[FileChange]) -> str:
    """``head``'s tree with each of ``files`` as it was before the agent changed it (removed if it created it)."""
    index = repo / ".git" / f"wikibot-undo-{head[:12]}.index"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git.run(repo, "read-tree", head, env=env)
        for f in files:
            if f.restore_to is None:
                git.run(repo, "update-index", "--force-remove", "--", f.path, env=env)
            else:
                mode = _mode(repo, f, head)
                git.run(
                    repo, "update-index", "--add", "--cacheinfo", f"{mode},{f.restore_to},{f.path}", env=env
                )
        return git.run(repo, "write-tree", env=env).decode().strip()
    finally:
        index.unlink(missing_ok=True)


def _mode(repo: Path, f: FileChange, head: str) -> str:
    for entry in git.ls_tree(repo, head, [f.path]):
        if entry.path == f.path:
            return entry.mode
    return "100644"
