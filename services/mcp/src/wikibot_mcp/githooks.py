"""The ``pre-receive`` check of a push (run by ``git receive-pack`` as ``python -m wikibot_mcp.githooks``).

A push is refused, whole, before any ref moves (githooks(5) pre-receive), if it:
- updates anything but ``refs/heads/main``, or deletes it;
- holds a tree entry that is not a plain file or a symlink (submodules), a path segment ``.``, ``..`` or
  ``.git``, or a symlink pointing outside the tree or into ``.git``;
- makes the wiki grow past its plan: pages, bytes, or a single file larger than the attachment limit.
Limits come from the environment the git endpoint sets (``WIKIBOT_MAX_*``). Messages reach the user's terminal
as ``remote: …`` lines.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
import sys
from collections.abc import Iterable

ZERO = "0" * 40
BRANCH = "refs/heads/main"


def _git(*args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], input=input, capture_output=True, check=True).stdout


def tree(commit: str) -> list[tuple[str, str, str, int, str]]:
    """(mode, type, object, size, path) of every entry of ``commit``'s tree."""
    entries = []
    for raw in _git("ls-tree", "-r", "-l", "-z", commit).split(b"\0"):
        if not raw:
            continue
        meta, _, path = raw.partition(b"\t")
        mode, kind, obj, size = meta.decode().split()
        entries.append(
            (mode, kind, obj, int(size) if size.isdigit() else 0, path.decode("utf-8", "surrogateescape"))
        )
    return entries


def _symlink_problem(path: str, obj: str) -> str | None:
    target = _git("cat-file", "blob", obj).decode("utf-8", "surrogateescape")
    if target.startswith("/") or "\0" in target:
        return f"symlink '{path}' points to an absolute path"
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if resolved == ".." or resolved.startswith("../"):
        return f"symlink '{path}' points outside the wiki"
    if resolved.split("/")[0].lower() == ".git":
        return f"symlink '{path}' points into .git"
    return None


def problems(old: str, new: str, ref: str, limits: dict[str, int]) -> Iterable[str]:
    if ref != BRANCH:
        yield f"only {BRANCH} can be pushed to a wiki (not {ref})"
        return
    if new == ZERO:
        yield f"{BRANCH} cannot be deleted"
        return
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
    for line in sys.stdin.read().splitlines():
        parts = line.split()
        if len(parts) == 3:
            found.extend(problems(parts[0], parts[1], parts[2], limits))
    for problem in found[:20]:
        print(f"wikibot: push refused: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
