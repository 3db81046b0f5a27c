"""The per-repository write lock.

Every writer of a wiki's repository (Otterwiki's UI, MCP tools, REST, git push) holds this lock around its
git work. It is an ``flock`` on a file beside the repository, so it holds across threads, processes and
containers that share the data volume (same kernel), and the kernel releases it if a holder dies.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import WikibotError


class LockTimeout(WikibotError):
    status = 503
    code = "busy"


def lock_path(wikis_dir: Path, slug: str) -> Path:
    return Path(wikis_dir) / slug / "write.lock"


@contextmanager
def repo_lock(wikis_dir: Path, slug: str, *, timeout: float = 30.0, poll: float = 0.005) -> Iterator[None]:
    path = lock_path(wikis_dir, slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o660)
    try:
        deadline = time.monotonic() + timeout
        delay = poll
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"wiki '{slug}' is busy with another write; try again in a moment"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
