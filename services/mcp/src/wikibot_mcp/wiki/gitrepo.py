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
CLI's ``safe.directory``).

Loose objects are packed once a repository holds about ``PACK_LOOSE`` of them, **outside the write lock**:
a background ``git repack -d -l --geometric=2`` rolls the new loose objects into a pack (and small packs into
bigger ones, so their number stays logarithmic), then removes the loose copies. ``git commit``'s ``gc --auto``,
which did this within the lock, held every writer of the wiki for its whole run (0.75 s once 6,700 loose objects
had piled up; multi-second stalls at 8 writers on a busy machine). Repacking is safe beside writers: it takes no
ref or index lock (so ``wikibot_shared.locks`` never meets one of its files), deletes only loose objects it has
packed and packs it has merged, and a new object written meanwhile stays loose until the next round. One repack
runs per repository at a time across processes (a non-blocking ``flock`` on ``wikibot-repack.flock`` in its git
directory); one killed mid-way leaves a temporary file and no damage. Reflog expiry and pruning unreachable
objects (what a full ``git gc`` adds) are left to the operator (docs/backup.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import ConfigLevel, DeltaStatus, FileMode, Option, SortMode

from wikibot_shared.errors import GitError
from wikibot_shared.git import ls_tree, run
from wikibot_shared.storage import Author
from wikibot_shared.storage import read_head as read_head  # used by every module here; moved to shared

from .errors import InvalidPath, RevisionNotFound

for _level in (ConfigLevel.GLOBAL, ConfigLevel.XDG, ConfigLevel.SYSTEM, ConfigLevel.PROGRAMDATA):
    pygit2.settings.search_path[_level] = ""
pygit2.settings.owner_validation = False
# libgit2 looks up every object a new tree or commit names before writing it: one lookup per index entry, a quarter
# of a commit's time on a wiki of 200 loose pages (8.3 → 6.1 ms p50, interleaved). Our index names only blobs it has just written or HEAD's tree
# has (the CLI's ``write-tree`` checks the same, from memory); a missing one would already be a corrupt repository,
# which ``git fsck --full`` reports (the crash test runs it).
pygit2.option(Option.ENABLE_STRICT_OBJECT_CREATION, 0)
_BLOB_MODES = frozenset({FileMode.BLOB, FileMode.BLOB_EXECUTABLE, FileMode.LINK})
# Loose objects a repository may gather before a background repack (module doc): about 500 commits' worth, well
# below the 6,700 at which a ``git commit`` of Otterwiki's would run ``gc --auto`` within the lock.
PACK_LOOSE = 1536

log = logging.getLogger("wikibot.mcp.git")
_REVISION = re.compile(r"\A[0-9a-fA-F]{4,64}\Z")  # as otterwiki.gitstorage._REVISION_RE, without HEAD


def blob_id(data: bytes) -> str:
    """The git object id of a file's content: the page's revision, computable without asking git."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


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
        for attempt in range(3):
            try:
                sha = _commit_index(repo, changes, message, author, when)
                break
            except GitError as exc:
                # A background repack's prune-packed removed an empty fan-out folder (objects/xx) between
                # libgit2 creating it and renaming a new object into it: nothing was written; do it again.
                if attempt == 2 or "/objects/" not in str(exc) or "failed to rename" not in str(exc):
                    raise
    except BaseException:
        restore(repo, paths)
        raise
    _pack_now_and_then(repo)
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


@dataclass(frozen=True)
class Moved:
    """What a branch's move from one commit to another changed (``changes_since``)."""

    paths: list[str]  # every path that differs, as ``git diff-tree -r --name-only``
    blobs: dict[
        str, tuple[str, str, int]
    ]  # path → (mode, blob, size) of the files among them in the new commit
    contents: dict[str, bytes]  # blob → content, for the paths asked for
    changed_at: dict[
        str, tuple[int, str]
    ]  # path → (time, commit) of the newest commit between that changed it


def changes_since(repo: Path, old: str, new: str, read: Callable[[str], bool]) -> Moved:
    """``old`` → ``new`` read in-process (a snapshot catching up after another process's commit, under the write
    lock: what ``diff-tree``, ``ls-tree``, ``log`` and ``cat-file`` did in four processes). Paths are UTF-8,
    undecodable bytes kept as surrogates, as ``wikibot_shared.git.ls_tree`` has them. Merge commits name no paths
    of their own, as in ``git log --name-only``. ``GitError`` if either commit is not there."""
    try:
        git = pygit2.Repository(str(repo))
        before, after = git[old].peel(pygit2.Commit), git[new].peel(pygit2.Commit)
        paths: dict[str, None] = {}
        blobs: dict[str, tuple[str, str, int]] = {}
        for delta in before.tree.diff_to_tree(after.tree).deltas:
            path = _path(delta.new_file)
            paths[path] = None
            mode = _canonical_mode(delta.new_file.mode)
            if delta.status != DeltaStatus.DELETED and mode in _BLOB_MODES:
                oid = delta.new_file.id
                blobs[path] = (f"{mode:06o}", str(oid), git.odb.read_header(oid)[1])
        contents = {blob: git.odb.read(blob)[1] for path, (_m, blob, _s) in blobs.items() if read(path)}
        changed_at: dict[str, tuple[int, str]] = {}
        pending = set(paths)
        walker = git.walk(after.id, SortMode.TIME)
        walker.hide(before.id)
        for commit in walker:
            if not pending:
                break
            if len(commit.parents) > 1:
                continue
            diff = (
                commit.parents[0].tree.diff_to_tree(commit.tree)
                if commit.parents
                else commit.tree.diff_to_tree(swap=True)
            )
            for delta in diff.deltas:
                path = _path(delta.new_file)
                if path in pending:
                    changed_at[path] = (commit.commit_time, str(commit.id))
                    pending.discard(path)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise GitError(("diff-tree",), None, f"{old[:12]}..{new[:12]}: {exc}") from exc
    return Moved(list(paths), blobs, contents, changed_at)


def _canonical_mode(mode: int) -> int:
    """A file mode as git reads it: libgit2 keeps a tree's mode as stored (an old or pushed tree may say 100664),
    ``ls-tree`` shows a regular file as 100644 or 100755."""
    if mode & 0o170000 == 0o100000:
        return 0o100755 if mode & 0o100 else 0o100644
    return mode


def _path(file: pygit2.DiffFile) -> str:
    return file.raw_path.decode("utf-8", "surrogateescape")


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


def common_dir(repo: Path) -> Path:
    """The git directory that holds ``repo``'s objects: ``.git``, or for a worktree (a proposal's) the main
    repository's, named by the worktree's ``commondir`` file."""
    gitdir = repo / ".git"
    if not gitdir.is_file():
        return gitdir
    own = Path(gitdir.read_text().strip().removeprefix("gitdir: "))
    own = own if own.is_absolute() else (repo / own).resolve()
    try:
        return (own / (own / "commondir").read_text().strip()).resolve()
    except FileNotFoundError:
        return own


def loose_objects_estimate(objects: Path) -> int:
    """How many loose objects ``objects`` holds, from one of its 256 fan-out folders (as ``gc --auto`` counts)."""
    try:
        return len(os.listdir(objects / "17")) * 256
    except FileNotFoundError:
        return 0


def _pack_now_and_then(repo: Path) -> None:
    """Once the repository holds about ``PACK_LOOSE`` loose objects — whoever wrote them: this process, another
    worker, Otterwiki, a push — start packing them in the background (module doc); the caller goes on at once.
    The check is one directory listing; the repack's ``flock`` is taken here, so while one runs, in any process,
    no other is started."""
    common = common_dir(repo)
    if loose_objects_estimate(common / "objects") < PACK_LOOSE:
        return
    fd = _repack_flock(repo, common)
    if fd is not None:
        threading.Thread(target=_repack_holding, args=(repo, fd), name="repack", daemon=True).start()


def pack_loose_objects(repo: Path) -> bool:
    """``git repack -d -l -n --geometric=2`` now, unless another is repacking ``repo``'s objects (False then, or if
    git failed: the objects stay loose, which costs disk, not correctness)."""
    fd = _repack_flock(repo, common_dir(repo))
    return fd is not None and _repack_holding(repo, fd)


def _repack_flock(repo: Path, common: Path) -> int | None:
    """The repack ``flock`` of the git directory ``common``, held on the returned descriptor; None if another
    process or thread holds it (it is packing these objects) or the lock file cannot be opened."""
    try:
        fd = os.open(common / "wikibot-repack.flock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
    except OSError as exc:
        log.warning("could not pack loose objects", extra={"repo": str(repo), "error": str(exc)[:200]})
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _repack_holding(repo: Path, fd: int) -> bool:
    """The repack, by the holder of the repack ``flock`` on ``fd`` (closed, so released, at the end)."""
    try:
        run(repo, "repack", "-d", "-l", "-n", "-q", "--geometric=2")
        return True
    except GitError as exc:
        log.warning("could not pack loose objects", extra={"repo": str(repo), "error": exc.stderr[:200]})
        return False
    finally:
        os.close(fd)


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
