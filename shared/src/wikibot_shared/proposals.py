"""Proposals: an agent's writes held for a person to approve (docs/proposals.md), the git side.

A proposal is the commits on ``refs/proposals/{number}`` since its ``base_commit`` (main's HEAD when it opened),
written through a detached git worktree of its own, ``$DATA_DIR/wikis/{slug}/proposals/{key}/``, one per
credential (``key`` is a digest of the grant's or token's id): the wiki core writes there exactly as it writes
main — same plans, same checks, same commit — so nothing of it touches main, the working tree Otterwiki serves,
the search index or what a clone of main receives (``refs/proposals/`` is not a branch, and the git endpoint
hides it from ``ls-remote`` too).

Approving lands it on main, under the wiki's ``repo_lock``:

- main has not moved since the proposal's base: each of its commits again, same trees, same author (the agent)
  and date, the reviewer as committer and a ``Approved-by:`` trailer;
- main has moved: git's three-way merge of main and the proposal (``merge-tree --write-tree``). Changes that
  do not overlap merge into one commit authored by the agent, committed by the reviewer; overlapping ones are
  conflicts, and approving refuses until each conflicting file is resolved explicitly (keep main's version or
  take the proposal's).

Then main's working tree and index move to it (``merge --ff-only``), as a push does.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import git, undo
from .errors import Conflict, GitError, InputError
from .storage import Author, wiki_paths

REF_PREFIX = "refs/proposals/"
Resolution = Literal["main", "proposal"]
RESOLUTIONS: tuple[str, ...] = ("main", "proposal")
MAX_DIFF_BYTES = 400_000


def ref(number: int) -> str:
    return f"{REF_PREFIX}{number}"


def workspace(wikis_dir: Path, slug: str, credential_id: str) -> Path:
    """Where one credential's open proposal is written: a worktree beside the repository, never inside it."""
    key = hashlib.sha256(credential_id.encode()).hexdigest()[:20]
    return wiki_paths(wikis_dir, slug).root / "proposals" / key


def open_workspace(repo: Path, path: Path, commit: str) -> None:
    """A detached worktree at ``commit`` (a new proposal's base, or an open one's head after a restore)."""
    remove_workspace(repo, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    git.run(repo, "worktree", "add", "--detach", "-q", str(path), commit)


def remove_workspace(repo: Path, path: Path) -> None:
    if path.exists():
        with contextlib.suppress(GitError):
            git.run(repo, "worktree", "remove", "--force", str(path))
        shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(GitError):
        git.run(repo, "worktree", "prune")


def set_ref(repo: Path, number: int, commit: str) -> None:
    git.run(repo, "update-ref", ref(number), commit)


def rev(repo: Path, name: str) -> str:
    return git.run(repo, "rev-parse", "--verify", "-q", "--end-of-options", name).decode().strip()


def changed_paths(repo: Path, a: str, b: str) -> list[str]:
    """Files that differ between two commits or trees (a rename is a delete and an add)."""
    out = git.run(repo, "diff", "--name-only", "--no-renames", "-z", a, b, "--")
    return sorted(p for p in out.decode("utf-8", errors="surrogateescape").split("\0") if p)


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    author: Author
    date: str  # git's raw author date ("1700000000 +0000")
    message: str


def commits(repo: Path, base: str, head: str) -> list[Commit]:
    """The proposal's commits, oldest first."""
    out = git.run(
        repo,
        "log",
        "--reverse",
        "--format=%H%x00%T%x00%an%x00%ae%x00%ad%x00%B%x00%x01",
        "--date=raw",
        f"{base}..{head}",
        "--",
    ).decode("utf-8", errors="replace")
    found = []
    for record in out.split("\x01"):
        fields = record.strip("\n").split("\x00")
        if len(fields) < 6:
            continue
        sha, tree, name, email, date, message = fields[:6]
        found.append(Commit(sha, tree, Author(name, email), date, message.strip()))
    return found


@dataclass(frozen=True)
class Merge:
    """What approving would do now: the tree main would get, and the files it changes or cannot merge."""

    main: str  # main's HEAD this was computed against
    tree: str  # the merged tree (conflicting files hold git's conflict markers)
    fast_forward: bool  # main has not moved since the proposal's base
    paths: list[str]  # files approving changes on main
    conflicts: list[str] = field(default_factory=list)


def plan(repo: Path, base: str, head: str) -> Merge:
    main = rev(repo, "HEAD")
    if main == base or git.succeeds(repo, "merge-base", "--is-ancestor", main, head):
        tree = rev(repo, f"{head}^{{tree}}")
        return Merge(main, tree, True, changed_paths(repo, main, tree))
    out = git.run(
        repo, "merge-tree", "--write-tree", "-z", "--name-only", "--no-messages", main, head, check=False
    ).decode("utf-8", errors="surrogateescape")
    tree, _, rest = out.partition("\0")
    if len(tree) not in (40, 64):
        raise GitError(("merge-tree",), None, out[:500])
    conflicts = sorted({p for p in rest.split("\0") if p})
    return Merge(main, tree, False, changed_paths(repo, main, tree), conflicts)


def resolve(repo: Path, merge: Merge, head: str, choices: Mapping[str, str]) -> str:
    """The merged tree with each conflicting file as ``choices`` says: main's version or the proposal's (a file
    one side deleted is deleted). Every conflict needs a choice; returns the tree to land."""
    missing = [p for p in merge.conflicts if p not in choices]
    if missing:
        raise Conflict(
            f"{len(missing)} file(s) changed both here and in the proposal: {', '.join(missing[:5])}; "
            "choose for each whether to keep the wiki's version or take the proposal's",
            code="proposal_conflict",
        )
    unknown = sorted(set(choices) - set(merge.conflicts))
    if unknown:
        raise InputError(f"not a conflicting file of this proposal: {unknown[0]}", code="not_a_conflict")
    if not merge.conflicts:
        return merge.tree
    bad = [v for v in choices.values() if v not in RESOLUTIONS]
    if bad:
        raise InputError(f"a resolution is 'main' or 'proposal', not {bad[0]!r}", code="bad_resolution")
    index = repo / ".git" / f"wikibot-proposal-{merge.main[:12]}.index"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git.run(repo, "read-tree", merge.tree, env=env)
        for path in merge.conflicts:
            side = merge.main if choices[path] == "main" else head
            entry = git.ls_tree(repo, side, [path])
            if entry:
                git.run(
                    repo,
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    f"{entry[0].mode},{entry[0].oid},{path}",
                    env=env,
                )
            else:
                git.run(repo, "update-index", "--force-remove", "--", path, env=env)
        return git.run(repo, "write-tree", env=env).decode().strip()
    finally:
        index.unlink(missing_ok=True)


def _signed(message: str, number: int, reviewer: Author) -> str:
    """The message with the approval's trailers, joining the attribution trailer's block if it ends with one."""
    text = message.rstrip()
    joins = bool(text) and text.splitlines()[-1].startswith(f"{undo.TRAILER}:")
    sep = "\n" if joins else "\n\n"
    return f"{text}{sep}Proposal: #{number}\nApproved-by: {reviewer.name} <{reviewer.email}>\n"


def land(
    repo: Path,
    merge: Merge,
    tree: str,
    found: Sequence[Commit],
    *,
    number: int,
    title: str,
    reviewer: Author,
    when: int,
    credential: tuple[str, str] | None = None,
) -> str:
    """Put the proposal on main as ``plan`` computed it (the caller holds ``repo_lock`` and has checked that
    main is still ``merge.main``); returns main's new HEAD. Main's index and working tree follow."""
    committer = {
        "GIT_COMMITTER_NAME": reviewer.name,
        "GIT_COMMITTER_EMAIL": reviewer.email,
        "GIT_COMMITTER_DATE": f"@{when} +0000",
    }

    def commit_tree(tree_id: str, parent: str, author: Author, date: str, message: str) -> str:
        env = {
            **committer,
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": date,
        }
        out = git.run(repo, "commit-tree", tree_id, "-p", parent, "-F", "-", input=message.encode(), env=env)
        return out.decode().strip()

    head = merge.main
    if merge.fast_forward:
        for c in found:
            head = commit_tree(c.tree, head, c.author, c.date, _signed(c.message, number, reviewer))
    else:
        author = found[0].author if found else reviewer
        body = "\n".join(f"- {c.message.splitlines()[0]}" for c in found if c.message)
        message = f"{title} (proposal #{number})\n\n{body}"
        if credential:  # the agent's changes stay its own for "undo this app"
            message = undo.signed(message, *credential)
        head = commit_tree(tree, head, author, f"@{when} +0000", _signed(message, number, reviewer))
    if head != merge.main:
        git.run(repo, "merge", "--ff-only", "-q", head)
    return head


@dataclass(frozen=True)
class FileDiff:
    path: str
    before: str | None  # main's version now (None: the page is new)
    after: str | None  # after approving (None: deleted); a conflicting file holds git's markers
    conflict: bool


def diffs(repo: Path, merge: Merge, limit: int = MAX_DIFF_BYTES) -> list[FileDiff]:
    """Each file approving changes, as main has it and as it would be, text only, ``limit`` bytes in all."""
    out: list[FileDiff] = []
    budget = limit
    for path in merge.paths:
        before = _text(repo, merge.main, path)
        after = _text(repo, merge.tree, path)
        size = len(before or "") + len(after or "")
        if size > budget:
            before = after = "(too large to show here)"
        budget -= min(size, budget)
        out.append(FileDiff(path, before, after, path in merge.conflicts))
    return out


def _text(repo: Path, treeish: str, path: str) -> str | None:
    try:
        data = git.run(repo, "cat-file", "blob", f"{treeish}:{path}")
    except GitError:
        return None
    if b"\0" in data[:8000]:
        return f"(binary file, {len(data)} bytes)"
    return data.decode("utf-8", errors="replace")
