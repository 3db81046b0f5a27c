"""What the indexer reads from a wiki's repository: committed state only (HEAD), never the working tree."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from wikibot_shared import git
from wikibot_shared.errors import GitError
from wikibot_shared.storage import read_head

from .chunking import is_page

# The data volume may be owned by another uid than the embedder's (a restored backup, a shared volume);
# the embedder only reads, so git's ownership check is waived for it.
_CONFIG = git.ANY_OWNER
_BLOB_MODES = ("100644", "100755")


def _git(repo: Path, *args: str) -> bytes:
    return git.run(repo, *args, config=_CONFIG)


def head(repo: Path) -> str | None:
    """The commit HEAD points to, or None for a repository without commits. Read from the ref files (the sweep
    asks it of every wiki each minute: a ``git`` process each cost 2.5 ms of CPU, 25 s a minute at 10,000 wikis);
    git itself answers only where they do not say (no commit yet, a bare repository, a symbolic ref chain)."""
    commit = read_head(repo)
    if commit is not None:
        return commit
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        return None
    try:
        return _git(repo, "rev-parse", "--verify", "-q", "HEAD^{commit}").decode().strip() or None
    except GitError:
        return None


def head_time(repo: Path) -> float:
    """Commit time of HEAD (seconds since the epoch), or now when there is none."""
    try:
        text = _git(repo, "log", "-1", "--format=%ct", "HEAD").decode().strip()
    except GitError:
        text = ""
    return float(text) if text.isdigit() else time.time()


def has_commit(repo: Path, commit: str) -> bool:
    try:
        _git(repo, "cat-file", "-e", f"{commit}^{{commit}}")
    except GitError:
        return False
    return True


def commits_between(repo: Path, head: str, base: str | None) -> int | None:
    """Commits reachable from ``head`` but not from ``base``; None when git cannot tell (``base`` is gone)."""
    spec = [head] if base is None else [head, f"^{base}"]
    try:
        out = _git(repo, "rev-list", "--count", *spec, "--").strip()
    except GitError:
        return None
    return int(out) if out.isdigit() else None


def pages_at(repo: Path, commit: str) -> dict[str, str]:
    """path → blob id of every page file in the commit's tree."""
    return {
        entry.path: entry.oid
        for entry in git.ls_tree(repo, commit, config=_CONFIG)
        if entry.type == "blob" and entry.mode in _BLOB_MODES and is_page(entry.path)
    }


def changed_paths(repo: Path, old: str, new: str) -> set[str]:
    """Paths that differ between two trees; a rename is its old path (deleted) and its new path (added)."""
    out = _git(repo, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", old, new, "--")
    return {p for p in out.decode().split("\0") if p}


def read_blobs(repo: Path, blobs: Iterable[str]) -> dict[str, str]:
    """blob id → text (UTF-8, undecodable bytes replaced), read in one ``git cat-file --batch``.

    A blob that is gone (pruned) is absent; the caller treats its page as absent."""
    return {
        oid: data.decode("utf-8", errors="replace")
        for oid, data in git.cat_blobs(repo, blobs, config=_CONFIG).items()
    }
