"""The ``pre-receive`` check of a push (run by ``git receive-pack`` as ``python -m wikibot_mcp.githooks``).

A push is refused, whole, before any ref moves (githooks(5) pre-receive), if it:
- updates anything but ``refs/heads/main``, or deletes it, or is based on a commit the branch has moved past;
- holds a tree entry that is not a plain file or a symlink (submodules), a path segment ``.``, ``..`` or
  ``.git``, or a symlink pointing outside the tree or into ``.git``;
- makes the wiki grow past its plan: pages, bytes, or a single file larger than the attachment limit;
- changes, in any of its commits or in all of them together, a file outside where the pusher may write (path
  rules: ``WIKIBOT_WRITE_PATHS``, the folder prefixes as JSON, absent for the whole wiki). A merge counts only
  for what it changes against every parent (its conflict resolutions), so pulling others' edits is no write.
Limits and rules come from the environment the git endpoint sets (``WIKIBOT_*``). Messages reach the user's
terminal as ``remote: …`` lines.
"""

from __future__ import annotations

import json
import os
import posixpath
import sys
from collections.abc import Iterable

from wikibot_shared import git
from wikibot_shared.errors import Forbidden
from wikibot_shared.pathrules import WriteArea, loaded

ZERO = "0" * 40
BRANCH = "refs/heads/main"
# What receive-pack tells its hook: the repository, and where the pushed objects wait until the hook accepts
# them (git-receive-pack(1) QUARANTINE ENVIRONMENT). Every git the hook runs must see them.
_FROM_RECEIVE_PACK = (
    "GIT_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_QUARANTINE_PATH",
)


def _env() -> dict[str, str]:
    return {name: os.environ[name] for name in _FROM_RECEIVE_PACK if name in os.environ}


def tree(commit: str) -> list[git.Entry]:
    """(mode, type, object, size, path) of every entry of ``commit``'s tree."""
    return git.ls_tree(None, commit, env=_env())


def _symlink_problem(path: str, obj: str) -> str | None:
    target = git.run(None, "cat-file", "blob", obj, env=_env()).decode("utf-8", "surrogateescape")
    if target.startswith("/") or "\0" in target:
        return f"symlink '{path}' points to an absolute path"
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if resolved == ".." or resolved.startswith("../"):
        return f"symlink '{path}' points outside the wiki"
    if resolved.split("/")[0].lower() == ".git":
        return f"symlink '{path}' points into .git"
    return None


def _names(*args: str) -> set[str]:
    out = git.run(None, *args, env=_env()).decode("utf-8", "surrogateescape")
    return {name for name in out.split("\0") if name}


def touched(old: str, new: str) -> set[str]:
    """Every file the push changes: in each new commit (merges: against all parents) and old → new."""
    if old == ZERO:
        return {entry[4] for entry in tree(new)}
    commits = _names("log", "--format=", "--name-only", "-z", "--no-renames", "--cc", f"{old}..{new}")
    return commits | _names("diff", "--name-only", "-z", "--no-renames", old, new)


def area_from_env() -> WriteArea:
    raw = os.environ.get("WIKIBOT_WRITE_PATHS")
    holder = os.environ.get("WIKIBOT_WRITE_HOLDER", "you")
    if raw is None:
        return WriteArea(None, holder)
    try:
        return WriteArea(loaded(json.loads(raw)), holder)
    except ValueError:
        return WriteArea((), holder)  # a rule we cannot read allows nothing


def problems(
    old: str, new: str, ref: str, limits: dict[str, int], area: WriteArea | None = None
) -> Iterable[str]:
    if ref != BRANCH:
        yield f"only {BRANCH} can be pushed to a wiki (not {ref})"
        return
    if new == ZERO:
        yield f"{BRANCH} cannot be deleted"
        return
    current = git.run(None, "rev-parse", "--verify", "-q", ref, env=_env(), check=False).decode().strip()
    if (current or ZERO) != old:
        # receive-pack checks the ref's old value only after it has moved the checked-out tree to the push
        # (receive.denyCurrentBranch=updateInstead): a push based on a commit the wiki has moved past would
        # leave the working tree and index at the pushed tree, reverting what landed since, and the next
        # commit would record that. Refused here instead, where the repository lock is held.
        yield f"{BRANCH} has changed since you fetched it (another edit landed): pull, then push again"
        return
    if area is not None and not area.everywhere:
        try:
            area.check(touched(old, new), hint="Push only changes there, or ask the wiki's owner for more.")
        except Forbidden as exc:
            yield exc.message
    entries = tree(new)
    pages = size = 0
    for mode, kind, obj, length, path in entries:
        segments = path.split("/")
        if any(s in ("", ".", "..") or s.lower() == ".git" for s in segments):
            yield f"path '{path}' is not allowed"
        if kind != "blob":
            yield f"'{path}' is a {kind}; a wiki holds files only"
            continue
        if mode == "120000":
            problem = _symlink_problem(path, obj)
            if problem:
                yield problem
        pages += path.endswith(".md")
        size += length
        if not path.endswith(".md") and length > limits["attachment"]:
            yield f"'{path}' is {length} bytes; the wiki's plan allows {limits['attachment']} per file"
    old_pages = old_size = 0
    if old != ZERO:
        for _m, kind, _o, length, path in tree(old):
            if kind == "blob":
                old_pages += path.endswith(".md")
                old_size += length
    if pages > limits["pages"] and pages > old_pages:
        yield f"the push would make {pages} pages; the wiki's plan allows {limits['pages']}"
    if size > limits["bytes"] and size > old_size:
        yield f"the push would make the wiki {size} bytes; its plan allows {limits['bytes']}"


def main(argv: list[str]) -> int:
    if argv[1:] != ["pre-receive"]:
        print("usage: python -m wikibot_mcp.githooks pre-receive", file=sys.stderr)
        return 2
    limits = {
        "pages": int(os.environ.get("WIKIBOT_MAX_PAGES", "1000")),
        "bytes": int(os.environ.get("WIKIBOT_MAX_BYTES", str(50 * 1024 * 1024))),
        "attachment": int(os.environ.get("WIKIBOT_MAX_ATTACHMENT", str(5 * 1024 * 1024))),
    }
    found: list[str] = []
    if os.environ.get("WIKIBOT_PROPOSE"):
        found.append(
            "this token's writes are proposals a person reviews, and a push cannot be one; write with write_note "
            "(MCP) or the REST API, or ask the wiki's owner to let this token write directly"
        )
    for line in sys.stdin.read().splitlines():
        parts = line.split()
        if len(parts) == 3:
            found.extend(problems(parts[0], parts[1], parts[2], limits, area_from_env()))
    for problem in found[:20]:
        print(f"wikibot: push refused: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
