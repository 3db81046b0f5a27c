"""What the indexer reads from a wiki's repository: committed state only (HEAD), never the working tree."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from wikibot_shared.storage import git

from .chunking import is_page

# The data volume may be owned by another uid than the embedder's (a restored backup, a shared volume);
# the embedder only reads, so git's ownership check is waived for it.
_ENV: Mapping[str, str] = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "safe.directory",
    "GIT_CONFIG_VALUE_0": "*",
}
_BLOB_MODES = ("100644", "100755")


def git_env() -> dict[str, str]:
    return {**os.environ, **_ENV, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}


def head(repo: Path) -> str | None:
    """The commit HEAD points to, or None for a repository without commits."""
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        return None
    proc = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "-q", "HEAD^{commit}"],
        capture_output=True,
        env=git_env(),
        check=False,
    )
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def head_time(repo: Path) -> float:
    """Commit time of HEAD (seconds since the epoch), or now when there is none."""
    proc = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%ct", "HEAD"],
        capture_output=True,
        env=git_env(),
        check=False,
    )
    text = proc.stdout.decode().strip()
    return float(text) if proc.returncode == 0 and text.isdigit() else time.time()


def has_commit(repo: Path, commit: str) -> bool:
    proc = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        env=git_env(),
        check=False,
    )
    return proc.returncode == 0


def pages_at(repo: Path, commit: str) -> dict[str, str]:
    """path → blob id of every page file in the commit's tree."""
    out = git(repo, "ls-tree", "-r", "-z", "--full-tree", commit, env=_ENV)
    pages: dict[str, str] = {}
    for entry in out.split("\0"):
        if not entry:
            continue
        info, path = entry.split("\t", 1)
        mode, kind, blob = info.split()
        if kind == "blob" and mode in _BLOB_MODES and is_page(path):
            pages[path] = blob
    return pages


def changed_paths(repo: Path, old: str, new: str) -> set[str]:
    """Paths that differ between two trees; a rename is its old path (deleted) and its new path (added)."""
    out = git(repo, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", old, new, "--", env=_ENV)
    return {p for p in out.split("\0") if p}


def read_blobs(repo: Path, blobs: Iterable[str]) -> dict[str, str]:
    """blob id → text (UTF-8, undecodable bytes replaced), read in one ``git cat-file --batch``."""
    wanted = list(dict.fromkeys(blobs))
    if not wanted:
        return {}
    proc = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        input="".join(f"{b}\n" for b in wanted).encode(),
        capture_output=True,
        env=git_env(),
        check=True,
    )
    data = proc.stdout
    texts: dict[str, str] = {}
    pos = 0
    for blob in wanted:
        end = data.index(b"\n", pos)
        header = data[pos:end].decode().split()
        pos = end + 1
        if len(header) < 3 or header[1] != "blob":
            continue  # "missing": the object is gone (pruned); the caller treats the page as absent
        size = int(header[2])
        texts[blob] = data[pos : pos + size].decode("utf-8", errors="replace")
        pos += size + 1
    return texts
