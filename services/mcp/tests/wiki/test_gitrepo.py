"""The in-process commit (libgit2) against what ``git add`` + ``git commit`` made: the same objects, message,
author and dates, an index git agrees with, no-op commits refused, and loose objects packed now and then."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from wikibot_mcp.wiki import gitrepo
from wikibot_mcp.wiki.gitrepo import Changes
from wikibot_shared.errors import GitError
from wikibot_shared.storage import Author

AUTHOR = Author.for_did("did:plc:alice", "alice.test", via="Claude")
WHEN = 1_700_000_123


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "Home.md").write_text("# Home\n")
    (path / "Old.md").write_text("# Old\n")
    git(path, "add", "-A")
    git(path, "-c", "user.name=seed", "-c", "user.email=seed@x", "commit", "-q", "-m", "seed")
    return path


def test_a_commit_is_what_git_commit_would_have_made(repo: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    subprocess.run(["git", "clone", "-q", str(repo), str(twin)], check=True)
    message = "\n\nUpdate Home   \n\n\n\nbody line  \n\nWikibot-Undo: pat abc\n\n"
    changes = Changes(
        {"Home.md": b"# Home\n\nnew\n", "Folder/Sub/New page.md": b"# New\n"}, deletes=["Old.md"]
    )

    sha = gitrepo.commit(repo, changes, message, AUTHOR, when=WHEN)

    # the twin does it with the CLI, as before
    (twin / "Home.md").write_bytes(b"# Home\n\nnew\n")
    (twin / "Folder/Sub").mkdir(parents=True)
    (twin / "Folder/Sub/New page.md").write_bytes(b"# New\n")
    (twin / "Old.md").unlink()
    git(twin, "add", "-A", "--", *changes.paths)
    dated = {"GIT_AUTHOR_DATE": f"@{WHEN} +0000", "GIT_COMMITTER_DATE": f"@{WHEN} +0000"}
    git(
        twin,
        "commit",
        "-q",
        "-m",
        message,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **AUTHOR.env, **dated},
    )

    assert sha == git(repo, "rev-parse", "HEAD").strip()
    assert sha == git(twin, "rev-parse", "HEAD").strip()  # byte for byte the same commit object
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%at|%ct") == (
        f"alice.test via Claude <did:plc:alice@did.invalid>|alice.test via Claude <did:plc:alice@did.invalid>|{WHEN}|{WHEN}\n"
    )
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""  # index and tree agree with HEAD
    assert git(repo, "diff", "--cached", "--stat") == ""
    git(repo, "fsck", "--full")


def test_only_the_changed_paths_are_committed(repo: Path) -> None:
    (repo / "Stray.md").write_text("not part of this write\n")
    gitrepo.commit(repo, Changes({"Home.md": b"# Home 2\n"}), "Update Home", AUTHOR)
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["Home.md"]
    assert git(repo, "status", "--porcelain") == "?? Stray.md\n"


def test_a_change_that_changes_nothing_is_refused_and_leaves_nothing_behind(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(GitError, match="nothing to commit"):
        gitrepo.commit(repo, Changes({"Home.md": b"# Home\n"}), "Same again", AUTHOR)
    with pytest.raises(GitError, match="empty commit message"):
        gitrepo.commit(repo, Changes({"Home.md": b"# Other\n"}), " \n\n", AUTHOR)
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""
    assert (repo / "Home.md").read_text() == "# Home\n"


def test_the_first_commit_of_an_empty_repository(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    sha = gitrepo.commit(repo, Changes({"Home.md": b"# Home\n"}), "Create wiki", AUTHOR)
    assert git(repo, "rev-parse", "refs/heads/main").strip() == sha
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_gc_auto_runs_every_gc_every_commits(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``git commit`` ran ``gc --auto`` after every commit (git packs once loose objects pile up); in-process
    commits run it every GC_EVERY commits to a repository."""
    monkeypatch.setattr(gitrepo, "GC_EVERY", 5)
    ran: list[int] = []
    real_run = gitrepo.run

    def recording(repo_: Path, *args: str, **kw: object) -> bytes:
        if args[:2] == ("gc", "--auto"):
            ran.append(len(git(repo, "rev-list", "HEAD").split()) - 1)  # commits made here so far
        return real_run(repo_, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(gitrepo, "run", recording)
    git(repo, "config", "gc.auto", "1")
    for n in range(12):
        gitrepo.commit(repo, Changes({f"P{n}.md": f"# {n}\n".encode()}), f"Page {n}", AUTHOR)
    assert ran == [5, 10]
    git(repo, "fsck", "--full")
    assert git(repo, "status", "--porcelain") == ""
