"""The per-repository write lock, fair to every writer.

Every writer of a wiki's repository (Otterwiki's UI, MCP tools, REST, git push, proposals, backups) holds this
lock around its git work. It is an ``flock`` on a file beside the repository, so it holds across threads,
processes and containers that share the data volume (same kernel), and the kernel releases it if a holder dies.

Fairness, in two steps, so no writer waits behind writers that came after it:

1. **In this process, first come first served**: writers of one repository line up (``_Line``); only the first
   goes on to the ``flock``, the others wait on their own event, woken in arrival order.
2. **Between processes, the kernel's queue**: the first in line tries the ``flock``; if another process holds
   it, it waits *blocked in the kernel* (a helper thread in ``flock(LOCK_EX)``), woken the moment the holder
   releases — no polling, so no back-off that lets a newcomer overtake a sleeper (what a polling lock did: p95
   waits of seconds at 8 writers). The wait is bounded: ``busy`` (``LockTimeout``) after ``timeout``.

``bench/bench_lock.py`` measures the waits, this lock against the polling one it replaced, in one run.

**A writer that died mid-commit** (SIGKILL, OOM, a lost container) can leave git's own lock files behind
(``.git/HEAD.lock``, ``index.lock``, ``refs/heads/main.lock``...), and git then refuses every later commit. The
kernel released our lock when it died, but git's are plain files. Every git writer holds this lock, and no git
we start detaches work beyond it (``gc.autoDetach`` is off, ``wikibot_shared.git``; the mcp service's background
repack makes no lock files), so a git lock file found
while holding it is a dead writer's — unless it is seconds old (a reader's optional lock, a git started by a
tool we do not control): those are waited for, and removed once ``STALE_GIT_LOCK_S`` old.

It can also leave **its half-done change in the working tree and the index**: Otterwiki writes a page, stages it,
then commits; a writer killed in between leaves a change nobody was told had landed (possibly a truncated file).
The next writer's commit would sweep it in as its own (a mixed commit), and git push refuses a dirty tree. So the
lock file records whether a holder is inside (``HELD``/``FREE``); the next holder to find ``HELD`` puts the
working tree and index back as HEAD has them (``git reset --hard``, ``git clean -fd``) before it writes. Nothing
acknowledged is lost: a write is acknowledged only once committed.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import git
from .errors import GitError, WikibotError

log = logging.getLogger("wikibot.locks")

STALE_GIT_LOCK_S = 3.0
# The lock file's first byte: HELD while a holder is inside, FREE once it has left (normally or by an exception
# its own code handled). HELD found on taking the lock means the last holder died inside it.
HELD, FREE = b"w", b"-"


class LockTimeout(WikibotError):
    status = 503
    code = "busy"


def lock_path(wikis_dir: Path, slug: str) -> Path:
    return Path(wikis_dir) / slug / "write.lock"


class _Line:
    """One repository's writers in this process, in arrival order: the first is the one that may take the flock."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.waiting: deque[threading.Event] = deque()

    def enter(self, deadline: float) -> threading.Event | None:
        """Wait for our turn; our ticket, or None if ``deadline`` passed first (we then left the line)."""
        me = threading.Event()
        with self.mutex:
            self.waiting.append(me)
            if self.waiting[0] is me:
                me.set()
        if me.wait(max(0.0, deadline - time.monotonic())):
            return me
        with self.mutex:
            if me.is_set():  # our turn came as we gave up: take it
                return me
            self.waiting.remove(me)
        return None

    def leave(self, me: threading.Event) -> None:
        with self.mutex:
            if self.waiting and self.waiting[0] is me:
                self.waiting.popleft()
                if self.waiting:
                    self.waiting[0].set()
            else:  # not first (cannot happen): leave without passing a turn on
                self.waiting.remove(me)


_LINES: dict[str, _Line] = {}
_LINES_MUTEX = threading.Lock()


def _line(path: Path) -> _Line:
    with _LINES_MUTEX:
        line = _LINES.get(str(path))
        if line is None:
            line = _LINES[str(path)] = _Line()
        return line


def _forget_if_idle(path: Path, line: _Line) -> None:
    """Keep one line per repository only while it has writers (10,000 idle wikis cost nothing)."""
    with _LINES_MUTEX, line.mutex:
        if not line.waiting and _LINES.get(str(path)) is line:
            del _LINES[str(path)]


def _flock(fd: int, deadline: float) -> bool:
    """Take the flock on ``fd``: at once if free, else blocked in the kernel until it is released or ``deadline``
    passes (False). A helper thread waits in ``flock``; if we give up first it releases the lock it then gets."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
    helper_fd = os.dup(fd)  # the same open file: the lock the helper takes is ours
    guard = threading.Lock()
    taken = threading.Event()
    state = {"abandoned": False, "acquired": False}
    failure: list[OSError] = []

    def wait_in_kernel() -> None:
        try:
            fcntl.flock(helper_fd, fcntl.LOCK_EX)
        except OSError as exc:
            failure.append(exc)
            os.close(helper_fd)
            taken.set()
            return
        with guard:
            if state["abandoned"]:
                fcntl.flock(helper_fd, fcntl.LOCK_UN)
            else:
                state["acquired"] = True
        os.close(helper_fd)  # the caller's fd keeps the (shared) open file, and so the lock
        taken.set()

    threading.Thread(target=wait_in_kernel, name="repo-lock-wait", daemon=True).start()
    taken.wait(max(0.0, deadline - time.monotonic()))
    with guard:
        if not state["acquired"]:
            state["abandoned"] = True
    if failure:
        raise failure[0]
    return state["acquired"]


@contextmanager
def repo_lock(wikis_dir: Path, slug: str, *, timeout: float = 30.0) -> Iterator[None]:
    path = lock_path(wikis_dir, slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    busy = LockTimeout(f"wiki '{slug}' is busy with another write; try again in a moment")
    line = _line(path)
    turn = line.enter(deadline)
    if turn is None:
        raise busy
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o660)
        try:
            if not _flock(fd, deadline):
                raise busy
            try:
                repo = path.parent / "repo"
                _clear_dead_git_locks(repo / ".git", deadline, busy)
                if os.pread(fd, 1, 0) == HELD:
                    _restore_dead_writers_tree(repo)
                os.pwrite(fd, HELD, 0)
                try:
                    yield
                finally:
                    os.pwrite(fd, FREE, 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        line.leave(turn)
        _forget_if_idle(path, line)


def _restore_dead_writers_tree(repo: Path) -> None:
    """The working tree and index back to HEAD: what a holder that died inside the lock left is discarded."""
    if not (repo / ".git").is_dir():
        return
    try:
        changed = git.run(repo, "status", "--porcelain", "-z", "--untracked-files=all")
        if changed:
            git.run(repo, "reset", "-q", "--hard", "HEAD")
            git.run(repo, "clean", "-fdq")
            log.warning(
                "discarded the unfinished change of a writer that died holding the lock",
                extra={"repo": str(repo), "paths": changed.count(b"\0")},
            )
    except GitError as exc:  # an empty repository has no HEAD to go back to; its next write starts it
        log.warning(
            "could not restore a dead writer's tree", extra={"repo": str(repo), "error": exc.stderr[:200]}
        )


def _git_lock_files(gitdir: Path) -> list[Path]:
    """git's lock files in a repository: its own (HEAD, index, packed-refs, config...), its refs', and those of
    its worktrees (proposals)."""
    if not gitdir.is_dir():
        return []
    return [*gitdir.glob("*.lock"), *gitdir.glob("refs/**/*.lock"), *gitdir.glob("worktrees/*/*.lock")]


def _clear_dead_git_locks(gitdir: Path, deadline: float, busy: LockTimeout) -> None:
    """Remove git lock files a dead writer left (we hold ``repo_lock``); wait for fresh ones (module doc)."""
    while locks := _git_lock_files(gitdir):
        fresh = False
        for lock in locks:
            try:
                age = time.time() - lock.stat().st_mtime
            except FileNotFoundError:
                continue  # its owner just finished
            if age < STALE_GIT_LOCK_S:
                fresh = True
                continue
            lock.unlink(missing_ok=True)
            log.warning(
                "removed a git lock file a dead writer left",
                extra={"lock": str(lock.relative_to(gitdir.parent.parent)), "age_s": round(age, 1)},
            )
        if not fresh:
            return
        if time.monotonic() >= deadline:
            raise busy
        time.sleep(0.1)
