"""The one way Wikibot starts ``git``: one environment, one error, one reader of ``ls-tree`` and ``cat-file``.

Every service runs git on the wiki repositories of the data volume: to commit a page, to index it, to serve a
push, to back it up. What git does there must not depend on the machine or the process it runs in, so the
environment is built here, once, from nothing but ``PATH`` and ``HOME``:

- no system, global or XDG configuration, and no user ignore or attributes file (git reads
  ``~/.config/git/ignore`` and ``attributes`` even when no configuration file is read): an operator's alias,
  pager, ``user.name`` or ignore rule cannot change what we commit or how we parse git's output;
- no prompt (nothing is there to answer one), the C locale (we parse git's output), no optional locks (a reader
  never writes the index behind a writer holding ``repo_lock``);
- literal pathspecs: a page called ``[draft]*.md`` is a file name, not a pattern;
- no hooks, no commit signing, paths printed as UTF-8 rather than octal escapes.

Callers add to it — an author and committer for a commit, the CGI variables of ``git http-backend``,
configuration such as ``ANY_OWNER`` — and never build their own. Configuration travels in ``GIT_CONFIG_COUNT``
variables (git-config(1) ENVIRONMENT), which git hands down to the git processes it starts itself
(``receive-pack`` under ``http-backend``, and the hooks below it).

A git that exits non-zero, or cannot start, raises ``errors.GitError`` (a ``StorageError``) with git's stderr;
the ``OSError`` or exit code never reaches a caller.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from .errors import GitError

# Settings no caller may change: what makes git behave the same everywhere.
_FIXED: Mapping[str, str] = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",  # also skips $XDG_CONFIG_HOME/git/config
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_LITERAL_PATHSPECS": "1",
    "GIT_OPTIONAL_LOCKS": "0",
    "LC_ALL": "C",
}
# Configuration every git runs with; a caller's ``config`` adds to it or overrides it, key by key.
BASE_CONFIG: Mapping[str, str] = {
    "core.quotepath": "false",
    "core.excludesFile": "/dev/null",  # the defaults are files under $XDG_CONFIG_HOME (or ~/.config)
    "core.attributesFile": "/dev/null",
    "core.hooksPath": "/dev/null",  # githttp installs its pre-receive check through this key
    "commit.gpgsign": "false",
    # ``gc --auto`` after a commit or push runs in the foreground, within the writer's repo_lock (locks.py), never
    # in a background process that could hold git's lock files while the next writer commits.
    "gc.autoDetach": "false",
    "maintenance.autoDetach": "false",
}
# For readers of a repository another uid owns (a restored backup, a shared volume): git's ownership check
# (safe.directory, git-config(1)) guards against running a stranger's configuration; these repositories are ours.
ANY_OWNER: Mapping[str, str] = {"safe.directory": "*"}

# PATH finds git (and the shell a hook runs in); git expects a HOME, though with the settings above it reads
# nothing there. Nothing else of the process's environment reaches git.
_BASE: Mapping[str, str] = {
    "PATH": os.environ.get("PATH", os.defpath),
    "HOME": os.environ.get("HOME", "/"),
    **_FIXED,
}
_CHUNK = 65536


def environment(
    env: Mapping[str, str] | None = None, config: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment git runs with: the base, then the caller's variables and configuration."""
    extra = dict(env or {})
    if clash := sorted(k for k in extra if k in _FIXED or k.startswith("GIT_CONFIG")):
        raise ValueError(f"git's environment fixes {', '.join(clash)}; pass configuration as config=")
    merged = {**BASE_CONFIG, **(config or {})}
    full = {**_BASE, **extra, "GIT_CONFIG_COUNT": str(len(merged))}
    for i, (key, value) in enumerate(merged.items()):
        full[f"GIT_CONFIG_KEY_{i}"] = key
        full[f"GIT_CONFIG_VALUE_{i}"] = value
    return full


def _argv(repo: Path | str | None, args: tuple[str, ...]) -> list[str]:
    """``repo`` None: git finds its repository itself (a hook's ``GIT_DIR``) or needs none (``clone``)."""
    return ["git", *args] if repo is None else ["git", "-C", str(repo), *args]


def run(
    repo: Path | str | None,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None,
    check: bool = True,
) -> bytes:
    """git's stdout. ``check=False`` returns it whatever the exit code (a CGI's output carries its own status)."""
    try:
        proc = subprocess.run(
            _argv(repo, args),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            env=environment(env, config),
            check=False,
        )
    except OSError as exc:
        raise GitError(args, None, str(exc)) from exc
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode(errors="replace"))
    return proc.stdout


def succeeds(repo: Path | str | None, *args: str) -> bool:
    """Whether git exits 0 (a question such as ``merge-base --is-ancestor``); its output is dropped."""
    try:
        proc = subprocess.run(
            _argv(repo, args), stdin=subprocess.DEVNULL, capture_output=True, env=environment(None, None)
        )
    except OSError as exc:
        raise GitError(args, None, str(exc)) from exc
    return proc.returncode == 0


def stream(
    repo: Path | str | None,
    *args: str,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None,
) -> Generator[bytes, None, None]:
    """git's stdout in chunks as it comes. Closing the iterator early stops git; a git that ran to the end and
    failed raises ``GitError``."""
    with tempfile.TemporaryFile() as stderr:  # a file, not a pipe: nobody reads stderr while stdout flows
        try:
            proc = subprocess.Popen(
                _argv(repo, args),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=environment(env, config),
            )
        except OSError as exc:
            raise GitError(args, None, str(exc)) from exc
        assert proc.stdout is not None
        finished = False
        try:
            while chunk := proc.stdout.read(_CHUNK):
                yield chunk
            finished = True
        finally:
            if not finished:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            stderr.seek(0)
            raise GitError(args, code, stderr.read().decode(errors="replace"))


async def spawn(
    repo: Path | str | None,
    *args: str,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None,
) -> asyncio.subprocess.Process:
    """git for an asyncio caller that streams both ways (``http-backend``): stdin and stdout are pipes, stderr is
    discarded; the caller waits for it."""
    try:
        return await asyncio.create_subprocess_exec(
            *_argv(repo, args),
            env=environment(env, config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        raise GitError(args, None, str(exc)) from exc


class Entry(NamedTuple):
    """One line of ``git ls-tree -l``. ``size`` is 0 for entries without one (a submodule's commit)."""

    mode: str
    type: str
    oid: str
    size: int
    path: str


def ls_tree(
    repo: Path | str | None,
    ref: str,
    paths: Iterable[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None,
) -> list[Entry]:
    """Every entry of ``ref``'s tree, recursively (or those under ``paths``): files, symlinks and submodules, with
    paths from the top of the tree.

    Paths are UTF-8, undecodable bytes kept as surrogates (``surrogateescape``) so each maps back to its file."""
    wanted = list(paths)
    args = ["ls-tree", "-r", "-l", "-z", "--full-tree", ref, *(["--", *wanted] if wanted else [])]
    entries = []
    # git-ls-tree(1) OUTPUT FORMAT: "<mode> SP <type> SP <object> SP+ <size> TAB <path>", NUL-terminated with -z.
    for record in run(repo, *args, env=env, config=config).split(b"\0"):
        meta, tab, path = record.partition(b"\t")
        fields = meta.decode("ascii").split()
        if not tab or len(fields) != 4:
            continue
        mode, kind, oid, size = fields
        entries.append(
            Entry(
                mode, kind, oid, int(size) if size.isdigit() else 0, path.decode("utf-8", "surrogateescape")
            )
        )
    return entries


def cat_blobs(
    repo: Path | str | None,
    oids: Iterable[str],
    *,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None,
) -> dict[str, bytes]:
    """object id → content of the blobs among ``oids``, in one ``git cat-file --batch``; missing ones are absent."""
    wanted = list(dict.fromkeys(oids))
    if not wanted:
        return {}
    out = run(
        repo,
        "cat-file",
        "--batch",
        input="".join(f"{oid}\n" for oid in wanted).encode(),
        env=env,
        config=config,
    )
    blobs: dict[str, bytes] = {}
    pos = 0
    # git-cat-file(1) BATCH OUTPUT: "<oid> SP <type> SP <size> LF <contents> LF" per object, or "<object> SP missing LF".
    for oid in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3 or not header[2].isdigit():
            continue
        size = int(header[2])
        if header[1] == b"blob":
            blobs[oid] = out[pos : pos + size]
        pos += size + 1
    return blobs
