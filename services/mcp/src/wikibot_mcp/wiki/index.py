"""The page index: every file of a wiki at HEAD, with size, last change and, for pages, title, tags and links.

It is what makes ``list_notes``, links, orphans and usage take milliseconds whatever the history length. An
index belongs to one commit; when HEAD moves (a write here, the UI, a push) it catches up with the diff from
its commit to the new HEAD, read in-process with libgit2 (``gitrepo.changes_since``: the changed paths, their
blobs and the commits that last changed them), and our own commits are applied directly from what they wrote. A HEAD it cannot diff from (a force push after gc) means
a rebuild: ``ls-tree``, one ``cat-file --batch``, and a log walk that stops once every file's last change is
known. Snapshots are immutable, so readers never see one half updated. Each worker keeps its own, per wiki.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from wikibot_shared import git, markdown
from wikibot_shared.errors import StorageError
from wikibot_shared.tiers import Usage

from . import gitrepo, links
from .gitrepo import Changes
from .names import get_pagename

MAX_WIKIS = 64


@dataclass(frozen=True)
class FileInfo:
    blob: str
    size: int
    mode: str
    updated: int  # unix time of the last commit that changed the file
    commit: str  # that commit


@dataclass(frozen=True)
class PageInfo:
    file: str
    name: str  # get_pagename(file), kept: list_notes spent a third of its time recomputing it
    title: str
    tags: tuple[str, ...]
    categories: tuple[str, ...]
    links: frozenset[str]  # files this page links to


def page_info(file: str, data: bytes) -> PageInfo:
    text = data.decode("utf-8", errors="replace")
    doc = markdown.parse(text)
    name = get_pagename(file)
    return PageInfo(
        file=file,
        name=name,
        title=markdown.title_of(doc, name.rsplit("/", 1)[-1]),
        tags=tuple(markdown.tags(doc.meta)),
        categories=tuple(markdown.categories(doc.meta)),
        links=frozenset(links.link_targets(doc.body)),
    )


@dataclass(frozen=True)
class Snapshot:
    head: str | None
    files: dict[str, FileInfo] = field(default_factory=dict)
    pages: dict[str, PageInfo] = field(default_factory=dict)

    @cached_property
    def usage(self) -> Usage:
        """As ``tiers.repo_usage``: pages are ``*.md`` blobs, bytes all blobs."""
        return Usage(sum(f.endswith(".md") for f in self.files), sum(i.size for i in self.files.values()))

    @cached_property
    def backlinks(self) -> dict[str, frozenset[str]]:
        inverse: dict[str, set[str]] = {}
        for page in self.pages.values():
            for target in page.links:
                if target != page.file:
                    inverse.setdefault(target, set()).add(page.file)
        return {k: frozenset(v) for k, v in inverse.items()}

    def usage_after(self, changes: Changes) -> Usage:
        files = {f: i.size for f, i in self.files.items()}
        for path in changes.deletes:
            files.pop(path, None)
        for path, data in changes.writes.items():
            files[path] = len(data)
        return Usage(sum(f.endswith(".md") for f in files), sum(files.values()))


# -- git readers ------------------------------------------------------------------------------------------


def _ls_tree(repo: Path, head: str, paths: Iterable[str] = ()) -> dict[str, tuple[str, str, int]]:
    """path → (mode, blob, size) for blobs in ``head`` (all of them, or the given paths)."""
    return {e.path: (e.mode, e.oid, e.size) for e in git.ls_tree(repo, head, paths) if e.type == "blob"}


def _log_paths(repo: Path, *revs: str) -> Iterator[tuple[str, int, list[str]]]:
    """(commit, time, paths changed) newest first, streamed so a caller can stop early (which stops git)."""

    def parse(records: list[bytes]) -> Iterator[tuple[str, int, list[str]]]:
        for record in records:
            if not record:
                continue
            header, _, rest = record.partition(b"\0")
            sha, _, ts = header.decode().partition("\x02")
            names = [
                p.decode("utf-8", errors="surrogateescape") for p in rest.lstrip(b"\n").split(b"\0") if p
            ]
            yield sha, int(ts or 0), names

    args = ("log", "--format=%x01%H%x02%ct", "--name-only", "-z", "--no-renames", *revs)
    with contextlib.closing(git.stream(repo, *args)) as chunks:
        buffer = b""
        for chunk in chunks:
            records = (buffer + chunk).split(b"\x01")
            buffer = records.pop()
            yield from parse(records)
        yield from parse([buffer])


# -- building ---------------------------------------------------------------------------------------------


def build(repo: Path, head: str | None) -> Snapshot:
    if head is None:
        return Snapshot(None)
    tree = _ls_tree(repo, head)
    contents = git.cat_blobs(repo, (blob for f, (_m, blob, _s) in tree.items() if f.endswith(".md")))
    times: dict[str, tuple[int, str]] = {}
    missing = set(tree)
    for sha, ts, names in _log_paths(repo, head):
        for name in names:
            if name in missing:
                times[name] = (ts, sha)
                missing.discard(name)
        if not missing:
            break
    files = {
        f: FileInfo(blob, size, mode, *times.get(f, (0, head))) for f, (mode, blob, size) in tree.items()
    }
    pages = {f: page_info(f, contents.get(i.blob, b"")) for f, i in files.items() if f.endswith(".md")}
    return Snapshot(head, files, pages)


def catch_up(repo: Path, old: Snapshot, head: str) -> Snapshot:
    """``old`` moved to ``head`` by reading only what changed between them (in-process, ``gitrepo.changes_since``)."""
    assert old.head is not None
    moved = gitrepo.changes_since(repo, old.head, head, read=lambda path: path.endswith(".md"))
    if not moved.paths:
        return Snapshot(head, old.files, old.pages)
    files = dict(old.files)
    pages = dict(old.pages)
    for path in moved.paths:
        files.pop(path, None)
        pages.pop(path, None)
    for path, (mode, blob, size) in moved.blobs.items():
        ts, sha = moved.changed_at.get(path, (int(time.time()), head))
        files[path] = FileInfo(blob, size, mode, ts, sha)
        if path.endswith(".md"):
            pages[path] = page_info(path, moved.contents.get(blob, b""))
    return Snapshot(head, files, pages)


def apply(old: Snapshot, head: str, changes: Changes, when: int) -> Snapshot:
    """The snapshot after our own commit ``head``, from what it wrote (no git calls)."""
    files = dict(old.files)
    pages = dict(old.pages)
    for path in changes.deletes:
        files.pop(path, None)
        pages.pop(path, None)
    for path, data in changes.writes.items():
        files[path] = FileInfo(gitrepo.blob_id(data), len(data), "100644", when, head)
        if path.endswith(".md"):
            pages[path] = page_info(path, data)
    return Snapshot(head, files, pages)


class SnapshotCache:
    """Per-process snapshots, one per wiki, brought up to HEAD on each use."""

    def __init__(self, max_wikis: int = MAX_WIKIS) -> None:
        self._snapshots: OrderedDict[Path, Snapshot] = OrderedDict()
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()
        self._max = max_wikis

    def _lock(self, repo: Path) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(repo, threading.Lock())

    def get(self, repo: Path) -> Snapshot:
        head = gitrepo.read_head(repo)
        snap = self._snapshots.get(repo)
        if snap is not None and snap.head == head:
            return snap
        with self._lock(repo):
            snap = self._snapshots.get(repo)
            head = gitrepo.read_head(repo)
            if snap is None or snap.head != head:
                snap = self._refresh(repo, snap, head)
                self._store(repo, snap)
            return snap

    def _refresh(self, repo: Path, snap: Snapshot | None, head: str | None) -> Snapshot:
        if snap is not None and snap.head is not None and head is not None:
            try:
                return catch_up(repo, snap, head)
            except StorageError:
                pass  # the old commit is gone (force push, gc): rebuild
        return build(repo, head)

    def put(self, repo: Path, snap: Snapshot) -> None:
        with self._lock(repo):
            self._store(repo, snap)

    def _store(self, repo: Path, snap: Snapshot) -> None:
        with self._guard:
            self._snapshots[repo] = snap
            self._snapshots.move_to_end(repo)
            while len(self._snapshots) > self._max:
                self._snapshots.popitem(last=False)
