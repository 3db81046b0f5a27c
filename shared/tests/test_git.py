"""The git runner against real repositories: one environment whatever the machine's configuration, literal
pathspecs, one error with git's stderr, and ``ls-tree`` / ``cat-file`` read back byte for byte."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from wikibot_shared import git
from wikibot_shared.errors import GitError, StorageError
from wikibot_shared.storage import Author

AUTHOR = Author("Tester", "tester@example.invalid")


def _repo(path: Path) -> Path:
    git.run(None, "init", "-q", "-b", "main", str(path))
    return path


def _commit(repo: Path, message: str = "c") -> str:
    git.run(repo, "add", "-A")
    git.run(repo, "commit", "-q", "--allow-empty", "-m", message, env=AUTHOR.env)
    return git.run(repo, "rev-parse", "HEAD").decode().strip()


@pytest.fixture
def hostile(tmp_path: Path) -> dict[str, str]:
    """A HOME and XDG_CONFIG_HOME whose configuration, ignore and attributes files would each change git."""
    home = tmp_path / "home"
    xdg = home / ".config" / "git"
    xdg.mkdir(parents=True)
    config = "[user]\n\tname = Hostile\n\temail = hostile@example.invalid\n[alias]\n\tpwn = !touch pwned\n"
    (home / ".gitconfig").write_text(config + "[core]\n\tpager = touch pwned-by-pager\n")
    (xdg / "config").write_text(config)
    (xdg / "ignore").write_text("*.md\n")
    (xdg / "attributes").write_text("*.md binary\n")
    system = tmp_path / "system-gitconfig"
    system.write_text(config)
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_SYSTEM": str(system)}


def test_no_global_xdg_or_system_configuration_is_read(
    tmp_path: Path, hostile: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in hostile.items():
        monkeypatch.setenv(name, value)  # the process's own variables are not inherited either
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Leaked")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    repo = _repo(tmp_path / "repo")
    (repo / "Page.md").write_text("text\n")
    env = {k: v for k, v in hostile.items() if not k.startswith("GIT_CONFIG")}
    # Every setting git sees is the repository's own or ours (command line scope); none comes from a file.
    origins = git.run(repo, "config", "--show-origin", "--show-scope", "-l", env=env).decode().splitlines()
    assert origins
    assert all(line.startswith(("local\tfile:.git/config", "command\tcommand line:")) for line in origins)
    with pytest.raises(GitError) as unset:
        git.run(repo, "config", "user.name", env=env)
    assert unset.value.returncode == 1
    with pytest.raises(GitError):
        git.run(repo, "pwn", env=env)
    # The XDG ignore file would hide the page, the attributes file would mark it binary.
    assert git.run(repo, "status", "--porcelain", "--ignored", env=env) == b"?? Page.md\n"
    assert git.run(repo, "check-attr", "-a", "Page.md", env=env) == b""
    git.run(repo, "add", "-A", env=env)
    git.run(repo, "commit", "-q", "-m", "one", env={**env, **AUTHOR.env})
    assert git.run(repo, "log", "--format=%an|%cn", env=env) == b"Tester|Tester\n"
    assert git.run(repo, "log", "-p", env=env).count(b"+text") == 1  # not "Binary files differ"
    assert not list(tmp_path.rglob("pwned*"))


def test_the_fixed_environment_cannot_be_replaced_by_a_caller(tmp_path: Path) -> None:
    for name in (
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_KEY_0",
        "LC_ALL",
        "GIT_LITERAL_PATHSPECS",
    ):
        with pytest.raises(ValueError, match=name):
            git.run(tmp_path, "version", env={name: "x"})


def test_caller_configuration_adds_to_and_overrides_the_base(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    assert git.run(repo, "config", "core.hooksPath") == b"/dev/null\n"
    config = {"core.hooksPath": "/somewhere", **git.ANY_OWNER}
    assert git.run(repo, "config", "core.hooksPath", config=config) == b"/somewhere\n"
    assert git.run(repo, "config", "safe.directory", config=config) == b"*\n"
    with pytest.raises(GitError):
        git.run(repo, "config", "safe.directory")


def test_no_hook_runs(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    _commit(repo)  # the hook would refuse it


def test_pathspecs_are_literal(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    for name in ("*.md", "[x].md", "x.md", "a.md", ":(glob)b.md"):
        (repo / name).write_text(name)
    git.run(repo, "add", "--", "*.md", "[x].md", ":(glob)b.md")
    staged = git.run(repo, "diff", "--cached", "--name-only", "-z").split(b"\0")
    assert sorted(p for p in staged if p) == [b"*.md", b":(glob)b.md", b"[x].md"]
    git.run(repo, "commit", "-q", "-m", "literal", env=AUTHOR.env)
    assert [e.path for e in git.ls_tree(repo, "HEAD", ["*.md"])] == ["*.md"]
    assert [e.path for e in git.ls_tree(repo, "HEAD", ["[x].md"])] == ["[x].md"]


def test_a_failure_is_one_error_with_gits_stderr(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    with pytest.raises(GitError) as failed:
        git.run(repo, "rev-parse", "--verify", "no-such-ref")
    error = failed.value
    assert isinstance(error, StorageError)
    assert error.returncode == 128
    assert "fatal: Needed a single revision" in error.stderr
    assert error.message.startswith("git rev-parse failed: fatal:")
    assert error.git_args == ("rev-parse", "--verify", "no-such-ref")
    # check=False: the output, whatever the exit code.
    assert git.run(repo, "rev-parse", "--verify", "-q", "no-such-ref", check=False) == b""


def test_a_git_that_cannot_start_is_the_same_error(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    with pytest.raises(GitError) as failed:
        git.run(tmp_path, "version", env={"PATH": str(empty)})
    assert failed.value.returncode is None
    with pytest.raises(GitError):
        list(git.stream(tmp_path, "version", env={"PATH": str(empty)}))
    with pytest.raises(GitError):
        asyncio.run(git.spawn(tmp_path, "version", env={"PATH": str(empty)}))


def test_stream_yields_everything_stops_early_and_reports_failure(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    for i in range(50):
        _commit(repo, f"commit {i} " + "x" * 5000)
    full = git.run(repo, "log", "--format=%B")
    assert b"".join(git.stream(repo, "log", "--format=%B")) == full
    with contextlib.closing(git.stream(repo, "log", "--format=%B")) as chunks:
        assert next(chunks)  # closing here stops git; no error, no leaked process
    with pytest.raises(GitError, match=r"bad revision|unknown revision"):
        list(git.stream(repo, "log", "no-such-ref", "--"))


def test_spawn_streams_both_ways(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")

    async def hash_object() -> bytes:
        proc = await git.spawn(repo, "hash-object", "--stdin")
        out, _ = await proc.communicate(b"hello\n")
        assert await proc.wait() == 0
        return out

    assert (
        asyncio.run(hash_object()).strip()
        == git.run(repo, "hash-object", "--stdin", input=b"hello\n").strip()
    )


TRICKY = {
    "with space.md": b"spaces\n",
    "new\nline.md": b"a newline in the name\n",
    "tab\there.md": b"",
    "quote\"d 'both'.md": b"quotes",
    "back\\slash.md": b"\\",
    "naïve/ünïcode 日本.md": "non-ASCII ✓\n".encode(),
    "deep/er/file.bin": bytes(range(256)) * 4,
}


def test_ls_tree_reads_tricky_names_and_sizes(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    for name, data in TRICKY.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    with open(os.open(bytes(repo) + b"/latin1-\xe9.md", os.O_WRONLY | os.O_CREAT, 0o644), "wb") as fh:
        fh.write(b"not UTF-8 in the name")
    (repo / "link").symlink_to("with space.md")
    (repo / "run.sh").write_text("#!/bin/sh\n")
    (repo / "run.sh").chmod(0o755)
    head = _commit(repo)
    git.run(repo, "update-index", "--add", "--cacheinfo", f"160000,{head},sub")  # a submodule: no size
    tree = git.run(repo, "write-tree").decode().strip()

    entries = {e.path: e for e in git.ls_tree(repo, tree)}
    for name, data in TRICKY.items():
        assert (entries[name].mode, entries[name].type, entries[name].size) == ("100644", "blob", len(data))
        assert entries[name].oid == git.run(repo, "hash-object", "--", name).decode().strip()
    assert os.fsencode(next(p for p in entries if p.startswith("latin1-"))) == b"latin1-\xe9.md"
    assert entries["link"][:2] == ("120000", "blob")
    assert entries["link"].size == len("with space.md")
    assert entries["run.sh"].mode == "100755"
    assert entries["sub"] == git.Entry("160000", "commit", head, 0, "sub")
    assert len(entries) == len(TRICKY) + 4
    assert [e.path for e in git.ls_tree(repo, tree, ["naïve"])] == ["naïve/ünïcode 日本.md"]
    with pytest.raises(GitError):
        git.ls_tree(repo, "no-such-ref")


def test_cat_blobs_reads_contents_and_skips_what_is_not_a_blob(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    for name, data in TRICKY.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    head = _commit(repo)
    entries = git.ls_tree(repo, head)
    tree = git.run(repo, "rev-parse", f"{head}^{{tree}}").decode().strip()
    missing = "0" * 40
    wanted = [tree, missing, *(e.oid for e in entries), entries[0].oid]
    blobs = git.cat_blobs(repo, wanted)
    assert blobs == {e.oid: TRICKY[e.path] for e in entries}
    assert git.cat_blobs(repo, []) == {}
