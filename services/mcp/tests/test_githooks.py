"""The pre-receive check, as receive-pack runs it: a real repository, the hook as a process, its stdin lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@x",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@x",
}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env={**os.environ, **ENV}
    )
    return out.stdout.strip()


def commit(repo: Path, name: str, text: str, parent: str | None = None) -> str:
    if parent:
        git(repo, "checkout", "-q", "--detach", parent)
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", name)
    return git(repo, "rev-parse", "HEAD")


def hook(repo: Path, line: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wikibot_mcp.githooks", "pre-receive"],
        input=line + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_DIR": str(repo / ".git")},
        check=False,
    )


def test_a_push_based_on_a_commit_the_branch_moved_past_is_refused(tmp_path: Path) -> None:
    """receive-pack would move the checked-out tree to the push before it checks the ref's old value
    (updateInstead), reverting what landed in between: the hook refuses first."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "A.md", "a\n")
    landed = commit(repo, "B.md", "b\n")  # what the wiki got after the pusher fetched
    git(repo, "checkout", "-q", "main")
    pushed = commit(repo, "C.md", "c\n", parent=base)  # the pusher's commit, on the old base
    git(repo, "checkout", "-q", "main")
    assert git(repo, "rev-parse", "refs/heads/main") == landed
    stale = hook(repo, f"{base} {pushed} refs/heads/main")
    assert stale.returncode == 1
    assert "has changed since you fetched it" in stale.stderr
    on_top = commit(repo, "D.md", "d\n", parent=landed)
    git(repo, "checkout", "-q", "main")
    fresh = hook(repo, f"{landed} {on_top} refs/heads/main")
    assert (fresh.returncode, fresh.stderr) == (0, "")
