"""The git side of one wiki: reading HEAD cheaply, reading old versions, and committing a set of changes.

Every commit here is made by a caller holding ``repo_lock``: write the files (atomically, so a reader never
sees half a page), stage exactly those paths, commit, and on any failure put the paths back as HEAD has them,
so a failed write never leaves uncommitted changes behind. git runs as ``wikibot_shared.git`` runs it: pathspecs
are literal, so a page called ``[draft]*`` is a file name, not a pattern, and no hook runs.

The commit itself is made in-process with libgit2 (pygit2): stage the paths in the index, write the index and
the tree, write the commit and move the branch — what ``git add`` + ``git commit`` did in two processes, at a
fraction of the time under the lock (``bench/bench_commit.py``). The files git keeps are the same (the index,
loose objects, the ref and its reflog, each written to a lock file and renamed into place), so the CLI,
Otterwiki's GitPython and git push read them as before, and a writer killed mid-way leaves what a killed ``git
commit`` leaves (``wikibot_shared.locks`` clears it). Like the CLI with its defaults, nothing is fsynced: a
commit outlives the process that made it, not the machine's power. libgit2 reads no configuration but the
repository's own (as the CLI runs: no system or global files) and trusts a repository another uid owns (the
CLI's ``safe.directory``). ``git gc --auto`` runs every ``GC_EVERY`` commits, as ``git commit`` ran it after
each one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import ConfigLevel

from wikibot_shared.errors import GitError
from wikibot_shared.git import ls_tree, run
from wikibot_shared.storage import Author

from .errors import InvalidPath, RevisionNotFound

for _level in (ConfigLevel.GLOBAL, ConfigLevel.XDG, ConfigLevel.SYSTEM, ConfigLevel.PROGRAMDATA):
    pygit2.settings.search_path[_level] = ""
pygit2.settings.owner_validation = False
GC_EVERY = (
    100  # commits per repository between ``git gc --auto`` checks (it packs once loose objects pile up)
)
_commits_since_gc: dict[str, int] = {}

_REVISION = re.compile(r"\A[0-9a-fA-F]{4,64}\Z")  # as otterwiki.gitstorage._REVISION_RE, without HEAD


def blob_id(data: bytes) -> str:
    """The git object id of a file's content: the page's revision, computable without asking git."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def read_head(repo: Path) -> str | None:
    """HEAD's commit id from the ref files (no subprocess); None for an empty repository. A worktree (a
    proposal's, ``wikibot_shared.proposals``) has a ``.git`` file naming its own HEAD's folder."""
    gitdir = repo / ".git"
    try:
        head = (gitdir / "HEAD").read_text().strip()
    except NotADirectoryError:
        try:
            pointer = gitdir.read_text().strip()
            head = (Path(pointer.removeprefix("gitdir: ")) / "HEAD").read_text().strip()
        except OSError:
            return None
        if head.startswith("ref: "):
            return None  # our worktrees are detached
        return head or None
    except OSError:
        return None
    if not head.startswith("ref: "):
        return head or None
    ref = head[5:]
    try:
        return (gitdir / ref).read_text().strip() or None
    except FileNotFoundError:
        pass
    try:
        for line in (gitdir / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    except FileNotFoundError:
        return None
    return None


def check_revision(revision: str) -> str:
    if not _REVISION.match(revision):
        raise RevisionNotFound(f"'{revision}' is not a commit id; take one from get_history")
    return revision


def show(repo: Path, revision: str, path: str) -> bytes | None:
    """The file at ``revision``; None if the commit exists but the file does not."""
    check_revision(revision)
    try:
        kind = run(repo, "cat-file", "-t", revision).strip()
    except GitError:
        raise RevisionNotFound(
            f"there is no commit {revision} in this wiki; take one from get_history"
        ) from None
    if kind != b"commit":
        raise RevisionNotFound(f"{revision} is not a commit; take one from get_history")
    try:
        return run(repo, "show", f"{revision}:{path}")
    except GitError:
        return None


def looks_like_commit(value: str) -> bool:
    """A full or abbreviated commit id (hex), which git may or may not know."""
    return bool(_REVISION.match(value))


def resolve_commit(repo: Path, value: str) -> str | None:
    """The full id of the commit ``value`` names (a full or abbreviated id), or None if there is none."""
    if not looks_like_commit(value):
        return None
    try:
        out = run(repo, "rev-parse", "--verify", "-q", "--end-of-options", f"{value}^{{commit}}")
    except GitError:
        return None
    return out.decode().strip() or None


def commits_missing(repo: Path, commit: str, base: str | None) -> int | None:
    """Commits in ``commit``'s history that ``base``'s lacks (all of them if ``base`` is None); None if git
    cannot tell (``base`` is not in this repository any more)."""
    try:
        out = run(repo, "rev-list", "--count", commit, *([f"^{base}"] if base else []), "--")
    except GitError:
        return None
    text = out.decode().strip()
    return int(text) if text.isdigit() else None


def safe_abspath(repo: Path, path: str) -> Path:
    """``GitStorage._abspath``: the file's absolute path, refusing any that resolves outside the tree or into .git."""
    root = os.path.realpath(repo)
    resolved = os.path.realpath(os.path.join(repo, path))
    gitdir = os.path.join(root, ".git")
    if os.path.commonpath([gitdir, resolved]) == gitdir or os.path.commonpath([root, resolved]) != root:
        raise InvalidPath(f"'{path}' resolves to a location outside the wiki")
    return Path(repo, path)


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".wb-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o664)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove(repo: Path, path: str) -> None:
    target = Path(repo, path)
    target.unlink(missing_ok=True)
    parent = target.parent
    root = Path(repo)
    while parent != root:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


@dataclass(frozen=True)
class Changes:
    """What one commit does: files written (path → bytes), files removed, and paths moved by ``git mv``."""

    writes: Mapping[str, bytes]
    deletes: Sequence[str] = ()

    @property
    def paths(self) -> list[str]:
        return sorted({*self.writes, *self.deletes})


def commit(repo: Path, changes: Changes, message: str, author: Author, when: int | None = None) -> str:
    """Apply ``changes`` to the working tree and commit them as one commit; returns its id. Caller holds the lock.
    ``when`` (unix seconds) dates it, so the caller's page index records the very time git does."""
    paths = changes.paths
    for path in paths:
        safe_abspath(repo, path)
    try:
        for path, data in changes.writes.items():
            _atomic_write(Path(repo, path), data)
        for path in changes.deletes:
            _remove(repo, path)
        sha = _commit_index(repo, changes, message, author, when)
    except BaseException:
        restore(repo, paths)
        raise
    _gc_now_and_then(repo)
    return sha


def _commit_index(repo: Path, changes: Changes, message: str, author: Author, when: int | None) -> str:
    """Stage ``changes``' paths and commit the index onto HEAD (``git add -A -- paths && git commit``)."""
    text = clean_message(message)
    if not text:
        raise GitError(("commit",), 1, "Aborting commit due to empty commit message.")
    try:
        git = pygit2.Repository(str(repo))
        index = git.index
        for path in changes.writes:
            index.add(path)
        for path in changes.deletes:
            if path in index:
                index.remove(path)
        tree = index.write_tree()
        parents = [] if git.head_is_unborn else [git.head.target]
        if parents and git[parents[0]].peel(pygit2.Commit).tree_id == tree:
            raise GitError(("commit",), 1, "nothing to commit, working tree clean")
        index.write()
        signature = pygit2.Signature(author.name, author.email, when or int(time.time()), 0)
        return str(git.create_commit("HEAD", signature, signature, text, tree, parents))
    except pygit2.GitError as exc:
        raise GitError(("commit",), None, str(exc)) from exc


def clean_message(message: str) -> str:
    """A commit message as ``git commit -m`` stores it (``--cleanup=whitespace``): trailing whitespace off every
    line, runs of blank lines as one, none at either end, one newline at the end."""
    lines: list[str] = []
    for line in message.splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


def _gc_now_and_then(repo: Path) -> None:
    """``git gc --auto`` once every ``GC_EVERY`` commits of this process to ``repo`` (the caller holds the lock):
    it packs the loose objects once there are enough of them, as ``git commit`` would have."""
    key = str(repo)
    count = _commits_since_gc.get(key, 0) + 1
    if count < GC_EVERY:
        _commits_since_gc[key] = count
        return
    _commits_since_gc.pop(key, None)  # idle wikis keep no entry
    with contextlib.suppress(GitError):
        run(repo, "gc", "--auto", "--quiet")


def restore(repo: Path, paths: Sequence[str]) -> None:
    """Put ``paths`` back as HEAD has them, in the index and the working tree; drop new files."""
    if not paths:
        return
    known = {entry.path for entry in ls_tree(repo, "HEAD", paths)}
    with contextlib.suppress(GitError):
        run(repo, "reset", "-q", "HEAD", "--", *paths)
    if known:
        run(repo, "checkout", "-q", "HEAD", "--", *sorted(known))
    for path in set(paths) - known:
        _remove(repo, path)
