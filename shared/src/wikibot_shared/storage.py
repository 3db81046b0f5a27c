"""Where a wiki lives on the data volume, and creating or removing its repository.

    $DATA_DIR/wikis/{slug}/repo/      the git working tree Otterwiki reads (pushes use updateInstead)
    $DATA_DIR/wikis/{slug}/index/     search indexes (the embedder's)
    $DATA_DIR/wikis/{slug}/write.lock the per-repository write lock (``locks.repo_lock``)

Page files follow Otterwiki's naming with ``RETAIN_PAGE_NAME_CASE`` on (``OTTERWIKI_PAGE_CONFIG``): a page
"Setup Guide" is ``Setup Guide.md``, a page "Team/Onboarding" is ``Team/Onboarding.md``. Every service that
writes pages uses Otterwiki's own helpers with this configuration, so a page written over MCP is the same page
in the UI. Page operations themselves live with the services that perform them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import git as _git
from .errors import Conflict
from .errors import StorageError as StorageError  # declared in errors; the services import it from here
from .locks import repo_lock

_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 object id, as git writes refs

# Otterwiki settings that decide file names; the otterwiki and mcp services both apply them.
OTTERWIKI_PAGE_CONFIG: Mapping[str, object] = {"RETAIN_PAGE_NAME_CASE": True}
DEFAULT_BRANCH = "main"


@dataclass(frozen=True)
class WikiPaths:
    root: Path

    @property
    def repo(self) -> Path:
        return self.root / "repo"

    @property
    def index(self) -> Path:
        return self.root / "index"


def wiki_paths(wikis_dir: Path, slug: str) -> WikiPaths:
    return WikiPaths(Path(wikis_dir) / slug)


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    @classmethod
    def for_did(cls, did: str, handle: str | None, via: str | None = None) -> Author:
        """Commits carry the person's handle and DID (and the agent's name when one acted for them)."""
        name = handle or did
        if via:
            name = f"{name} via {via}"
        return cls(name=name, email=f"{did}@did.invalid" if did else "unknown@did.invalid")

    @property
    def env(self) -> dict[str, str]:
        """What git takes a commit's author and committer from (git-commit-tree(1)); both are this person."""
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None, input: bytes | None = None) -> str:
    """``git.run`` with text out, for callers that read git's answers as strings."""
    return _git.run(repo, *args, env=env, input=input).decode()


def read_head(repo: Path) -> str | None:
    """HEAD's commit id from the ref files (no subprocess); None for an empty repository, or where the files name
    no commit id (a symbolic ref chain: ask git). A worktree (a proposal's, ``wikibot_shared.proposals``) has a
    ``.git`` file naming its own HEAD's folder."""
    gitdir = repo / ".git"
    try:
        head = (gitdir / "HEAD").read_text().strip()
    except NotADirectoryError:
        try:
            pointer = gitdir.read_text().strip()
            head = (Path(pointer.removeprefix("gitdir: ")) / "HEAD").read_text().strip()
        except OSError:
            return None
        return _commit_id(head)  # our worktrees are detached: a ref here is not followed
    except OSError:
        return None
    if not head.startswith("ref: "):
        return _commit_id(head)
    ref = head[5:]
    try:
        return _commit_id((gitdir / ref).read_text().strip())
    except FileNotFoundError:
        pass
    try:
        for line in (gitdir / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return _commit_id(line.split(" ", 1)[0])
    except FileNotFoundError:
        return None
    return None


def _commit_id(value: str) -> str | None:
    return value if _COMMIT_ID.fullmatch(value) else None


def init_repo(wikis_dir: Path, slug: str, files: Mapping[str, str], author: Author, message: str) -> str:
    """Create the wiki's repository with ``files`` as its first commit; returns the commit id.

    Refuses (``Conflict``) if the repository exists, so two creations of one slug cannot interleave."""
    paths = wiki_paths(wikis_dir, slug)
    with repo_lock(wikis_dir, slug):
        if paths.repo.exists():
            raise Conflict(f"a repository for '{slug}' already exists", code="wiki_exists")
        tmp = paths.root / ".repo-new"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            git(tmp, "init", "-q", "-b", DEFAULT_BRANCH)
            git(tmp, "config", "receive.denyCurrentBranch", "updateInstead")
            git(tmp, "config", "core.quotepath", "false")
            for name, content in files.items():
                target = tmp / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content)
            git(tmp, "add", "-A")
            git(tmp, "commit", "-q", "--allow-empty", "-m", message, env=author.env)
            head = git(tmp, "rev-parse", "HEAD").strip()
            os.replace(tmp, paths.repo)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    paths.index.mkdir(exist_ok=True)
    return head


def remove_wiki(wikis_dir: Path, slug: str) -> None:
    """Delete the wiki's folder (repository and indexes) under its lock."""
    paths = wiki_paths(wikis_dir, slug)
    if not paths.root.exists():
        return
    with repo_lock(wikis_dir, slug):
        trash = paths.root.with_name(f".{slug}.deleted")
        shutil.rmtree(trash, ignore_errors=True)
        for child in list(paths.root.iterdir()):
            if child.name != "write.lock":
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    shutil.rmtree(paths.root, ignore_errors=True)
