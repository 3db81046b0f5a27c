import subprocess
from pathlib import Path

import pytest

from wikibot_shared.errors import Conflict
from wikibot_shared.storage import Author, git, init_repo, read_head, remove_wiki, wiki_paths


def test_init_repo_commits_files_with_author_and_accepts_pushes(tmp_path: Path) -> None:
    author = Author.for_did("did:plc:alice", "alice.test")
    head = init_repo(
        tmp_path,
        "notes",
        {"Home.md": "# Home\n", "Agents/Conventions.md": "# Conventions\n"},
        author,
        "Create wiki",
    )
    repo = wiki_paths(tmp_path, "notes").repo
    assert (repo / "Home.md").read_text() == "# Home\n"
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert (
        git(repo, "log", "-1", "--format=%an <%ae>|%s").strip()
        == "alice.test <did:plc:alice@did.invalid>|Create wiki"
    )
    assert git(repo, "config", "receive.denyCurrentBranch").strip() == "updateInstead"
    assert git(repo, "status", "--porcelain") == ""
    assert wiki_paths(tmp_path, "notes").index.is_dir()
    # A real clone and push land in the working tree.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    (clone / "New.md").write_text("new\n")
    subprocess.run(["git", "-C", str(clone), "add", "New.md"], check=True)
    subprocess.run(
        ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "n"],
        check=True,
    )
    subprocess.run(["git", "-C", str(clone), "push", "-q", "origin", "main"], check=True)
    assert (repo / "New.md").read_text() == "new\n"


def test_init_twice_conflicts_and_remove(tmp_path: Path) -> None:
    author = Author.for_did("did:plc:alice", None, via="Claude")
    assert author.name == "did:plc:alice via Claude"
    init_repo(tmp_path, "notes", {}, author, "empty")
    with pytest.raises(Conflict):
        init_repo(tmp_path, "notes", {"x.md": "x"}, author, "again")
    remove_wiki(tmp_path, "notes")
    assert not (tmp_path / "notes").exists()
    remove_wiki(tmp_path, "notes")  # idempotent


def test_read_head_agrees_with_git_wherever_the_ref_lives(tmp_path: Path) -> None:
    """Loose ref, packed ref, a detached worktree, an empty repository, and a ref file that names no commit."""
    head = init_repo(tmp_path, "notes", {"Home.md": "# Home\n"}, Author.for_did("did:plc:a", "a.test"), "c")
    repo = wiki_paths(tmp_path, "notes").repo
    assert read_head(repo) == head == git(repo, "rev-parse", "HEAD").strip()
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git/refs/heads/main").exists()
    assert read_head(repo) == head
    space = tmp_path / "space"
    git(repo, "worktree", "add", "-q", "--detach", str(space), head)
    assert read_head(space) == head
    empty = tmp_path / "empty"
    subprocess.run(["git", "init", "-q", "-b", "main", str(empty)], check=True)
    assert read_head(empty) is None
    (empty / ".git/refs/heads/main").write_text("ref: refs/heads/other\n")  # a chain: git's to follow
    assert read_head(empty) is None
