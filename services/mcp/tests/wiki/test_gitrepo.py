"""The in-process commit (libgit2) against what ``git add`` + ``git commit`` made: the same objects, message,
author and dates, an index git agrees with, no-op commits refused, loose objects packed in the background beside
writers, and a snapshot caught up in-process equal to one built by the CLI."""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading
import time
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


def _loose_and_packs(repo: Path) -> tuple[int, int]:
    counts = dict(line.split(": ") for line in git(repo, "count-objects", "-v").splitlines())
    return int(counts["count"]), int(counts["packs"])


def _join_repacks() -> None:
    for thread in threading.enumerate():
        if thread.name == "repack":
            thread.join(60)


def _exact_loose(objects: Path) -> int:
    return sum(1 for folder in objects.glob("[0-9a-f][0-9a-f]") for _ in folder.iterdir())


def test_loose_objects_are_packed_in_the_background_once_enough_have_piled_up(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``git commit`` ran ``gc --auto`` after every commit, within the writer's lock; an in-process commit starts a
    background repack once the repository holds PACK_LOOSE loose objects (whoever wrote them), returns without
    waiting for it, and starts no second one while it runs."""
    monkeypatch.setattr(gitrepo, "PACK_LOOSE", 15)
    monkeypatch.setattr(gitrepo, "loose_objects_estimate", _exact_loose)  # the real one samples 1/256 of them
    gate = threading.Event()
    repacks: list[int] = []
    real_run = gitrepo.run

    def gated(repo_: Path, *args: str, **kw: object) -> bytes:
        if args[:1] == ("repack",):
            repacks.append(_loose_and_packs(repo)[0])
            gate.wait(30)
        return real_run(repo_, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(gitrepo, "run", gated)

    def write(n: int) -> None:
        gitrepo.commit(repo, Changes({f"P{n}.md": f"# {n}\n".encode()}), f"Page {n}", AUTHOR)

    for n in range(4):  # the seed's 4 objects, then 3 a commit (blob, tree, commit): 16 after the fourth
        write(n)
    deadline = time.monotonic() + 10
    while not repacks and time.monotonic() < deadline:  # the thread reaches git
        time.sleep(0.01)
    assert repacks == [16]
    assert [t for t in threading.enumerate() if t.name == "repack" and t.is_alive()], (
        "the commit did not wait"
    )
    write(4)  # 19 loose, but one repack is running: no second
    assert repacks == [16]
    gate.set()
    _join_repacks()
    assert _loose_and_packs(repo) == (0, 1)
    for n in range(5, 10):
        write(n)
    _join_repacks()
    assert repacks == [16, 15]
    for n in range(10, 12):
        write(n)
    _join_repacks()
    assert repacks == [16, 15]
    loose, packs = _loose_and_packs(repo)
    assert loose == 2 * 3  # commits 11 and 12 wait for the next
    assert 1 <= packs <= 2
    git(repo, "fsck", "--full", "--strict")
    assert git(repo, "status", "--porcelain") == ""


def test_a_worktree_packs_its_repositorys_objects_under_the_same_flock(repo: Path) -> None:
    """A proposal commits in a worktree; its objects are the main repository's, and so is the repack's flock."""
    worktree = repo.parent / "proposal"
    git(repo, "worktree", "add", "-q", "--detach", str(worktree), "HEAD")
    assert gitrepo.common_dir(worktree) == gitrepo.common_dir(repo) == repo / ".git"
    gitrepo.commit(worktree, Changes({"Draft.md": b"# Draft\n"}), "draft", AUTHOR)
    flock = os.open(repo / ".git" / "wikibot-repack.flock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(flock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the main repository is being repacked
        assert gitrepo.pack_loose_objects(worktree) is False
    finally:
        os.close(flock)
    assert gitrepo.pack_loose_objects(worktree) is True
    assert _loose_and_packs(repo)[0] == 0


def test_repacking_beside_writers_loses_nothing_and_runs_once_at_a_time(repo: Path) -> None:
    """Repacks run outside the write lock: commits made meanwhile all land, every object stays reachable, and a
    second repack of the same repository (another process's) stands aside."""
    lock = threading.Lock()  # the write lock, as repo_lock is for the writers
    stop = threading.Event()
    packed: list[bool] = []

    def writer(w: int) -> None:
        for n in range(40):
            with lock:
                gitrepo.commit(
                    repo, Changes({f"W{w}/P{n % 7}.md": f"# {w} {n}\n".encode()}), f"{w} {n}", AUTHOR
                )

    def repacker() -> None:
        while not stop.is_set():
            packed.append(gitrepo.pack_loose_objects(repo))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    background = threading.Thread(target=repacker)
    background.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    background.join()
    _join_repacks()
    assert True in packed
    assert git(repo, "rev-list", "--count", "HEAD").strip() == str(1 + 4 * 40)
    git(repo, "fsck", "--full", "--strict")
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "show", "HEAD:W3/P4.md").startswith("# 3 ")

    flock = os.open(repo / ".git" / "wikibot-repack.flock", os.O_RDWR)
    try:
        fcntl.flock(flock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process is repacking
        loose_before = _loose_and_packs(repo)[0]
        gitrepo.commit(repo, Changes({"Last.md": b"# Last\n"}), "last", AUTHOR)
        assert gitrepo.pack_loose_objects(repo) is False
        assert _loose_and_packs(repo)[0] == loose_before + 3
    finally:
        os.close(flock)
    assert gitrepo.pack_loose_objects(repo) is True
    assert _loose_and_packs(repo)[0] == 0


def _commit_all(repo: Path, message: str, when: int) -> str:
    git(repo, "add", "-A")
    dated = {"GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000"}
    env = {"PATH": "/usr/bin:/bin", "HOME": str(repo.parent), **AUTHOR.env, **dated}
    git(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD").strip()


def test_a_snapshot_caught_up_in_process_is_the_one_built_from_scratch(repo: Path) -> None:
    """``index.catch_up`` (libgit2) against ``index.build`` (the CLI's ls-tree, log and cat-file) over a history
    with edits, deletes, renames, folders, an executable, a symlink, a submodule, a type change, a name that is not UTF-8, a
    merge, an empty commit and a legacy file mode: the same files, blobs, sizes, modes, dates and pages."""
    from wikibot_mcp.wiki import index

    start = git(repo, "rev-parse", "HEAD").strip()
    old = index.build(repo, start)
    (repo / "Home.md").write_text("# Home\n\n[[Folder/Deep]]\n")
    (repo / "Folder").mkdir()
    (repo / "Folder" / "Deep.md").write_text("---\ntags: [a, b]\n---\n# Deep\n")
    (repo / "run.sh").write_text("#!/bin/sh\n")
    (repo / "run.sh").chmod(0o755)
    (repo / "link").symlink_to("Home.md")
    (repo / "Typed.md").write_text("# Typed\n")
    _commit_all(repo, "many", WHEN + 10)
    (repo / "vendor").mkdir()  # a submodule, not checked out: not a file of the wiki
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{start},vendor")
    _commit_all(repo, "submodule", WHEN + 15)
    git(repo, "mv", "Old.md", "Folder/Moved.md")
    (repo / "Typed.md").unlink()
    (repo / "Typed.md").symlink_to("Home.md")
    (repo / b"caf\xe9.md".decode("utf-8", "surrogateescape")).write_bytes(b"# Latin-1\n")
    _commit_all(repo, "moves", WHEN + 20)
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "Side.md").write_text("# Side\n")
    _commit_all(repo, "side", WHEN + 30)
    git(repo, "checkout", "-q", "main")
    (repo / "run.sh").unlink()
    _commit_all(repo, "gone", WHEN + 40)
    git(
        repo,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "merge side",
        "side",
        env={**AUTHOR.env, "PATH": "/usr/bin:/bin"},
    )
    _commit_all(repo, "empty", WHEN + 50)
    # a tree as old gits wrote it (and a push may bring): a file of mode 100664, which git reads as 100644
    blob = git(repo, "hash-object", "-w", "Home.md").strip()
    entries = [line.split("\t", 1) for line in git(repo, "ls-tree", "HEAD").splitlines()]
    raw = [
        (name, mode, oid, kind)
        for (mode, kind, oid), name in ((meta.split(), name) for meta, name in entries)
    ]
    raw.append(("Legacy.md", "100664", blob, "blob"))
    raw.sort(key=lambda e: os.fsencode(e[0]) + (b"/" if e[3] == "tree" else b""))
    tree_bytes = b"".join(
        f"{mode.lstrip('0')} ".encode() + os.fsencode(name) + b"\0" + bytes.fromhex(oid)
        for name, mode, oid, _kind in raw
    )
    tree = (
        subprocess.run(
            ["git", "-C", str(repo), "hash-object", "-t", "tree", "-w", "--literally", "--stdin"],
            input=tree_bytes,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    dated = {"GIT_AUTHOR_DATE": f"@{WHEN + 60} +0000", "GIT_COMMITTER_DATE": f"@{WHEN + 60} +0000"}
    legacy = subprocess.run(
        ["git", "-C", str(repo), "commit-tree", tree, "-p", "HEAD", "-m", "legacy"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(repo.parent), **AUTHOR.env, **dated},
    ).stdout.strip()
    git(repo, "update-ref", "refs/heads/main", legacy)
    head = git(repo, "rev-parse", "HEAD").strip()

    caught_up = index.catch_up(repo, old, head)
    built = index.build(repo, head)

    assert caught_up.head == built.head == head
    assert caught_up.files == built.files
    assert caught_up.pages == built.pages
    assert {"Folder/Moved.md", "Typed.md", "Side.md", "link"} <= set(built.files)
    assert not {"Old.md", "run.sh", "vendor"} & set(built.files)
    assert built.files["Typed.md"].mode == "120000"
    assert built.files["Side.md"].updated == WHEN + 30
    assert built.files["Legacy.md"].mode == "100644"
    # nothing between: the same snapshot back; a commit that is not there: a storage error (the cache rebuilds)
    assert index.catch_up(repo, built, head) == built
    with pytest.raises(GitError):
        index.catch_up(repo, index.Snapshot("0" * 40), head)
