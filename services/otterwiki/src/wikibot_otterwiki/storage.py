"""Otterwiki's ``GitStorage``, one per wiki, with every write guarded; and the proxy Otterwiki's modules hold.

Every method that commits (``store``, ``commit``, ``delete``, ``rename``, ``revert``) first checks that the
request's live role may write and the wiki is not lapsed (``acl.check``) and that every file it would change is
where the visitor may write (path rules: a directory counts with every file below it; a revert by what it would
change), takes the wiki's ``repo_lock`` (held
until the request ends, so the working-tree changes Otterwiki makes before it commits are covered too), stages
the change, measures the staged tree against the tier (``tiers.check_write``; a refused change is rolled back
to HEAD, nothing is committed) and commits with the signed-in person as author and committer, whatever
Otterwiki passed. Changed paths reach ``WikiRequest.changed`` through Otterwiki's ``repository_changed`` hook.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import git
from otterwiki.gitstorage import GitStorage, StorageError
from otterwiki.plugins import plugin_manager

from wikibot_shared.acl import Action, check
from wikibot_shared.errors import Forbidden
from wikibot_shared.tiers import Usage, check_write, repo_usage

from .context import NoWikiBound, WikiRequest, current


class TenantStorage(GitStorage):  # type: ignore[misc]
    def __init__(self, path: str) -> None:
        super().__init__(path, allow_external_symlinks=False)

    # -- the guard ----------------------------------------------------------------------------------------
    @contextmanager
    def _writing(self, files: Iterable[str] = ()) -> Iterator[tuple[WikiRequest, git.Actor]]:
        wiki = current()
        if wiki.state.storage is not self:
            raise NoWikiBound("a write reached the storage of a wiki this request is not for")
        if wiki.principal.did is None:
            raise Forbidden("sign in to change this wiki", code="sign_in_required")
        check(wiki.access, Action.WRITE, wiki.principal.scopes)  # the live role; ReadOnly when lapsed
        wiki.write_area.check(self._files_below(files))
        wiki.hold_lock()
        author = wiki.author
        actor = git.Actor(author.name, author.email)
        identity = author.env
        saved = {name: os.environ.get(name) for name in identity}
        # git subprocesses (revert) and GitPython's default committer read these; sync workers, one request.
        os.environ.update(identity)
        try:
            yield wiki, actor
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def _check_staged(self, wiki: WikiRequest, paths: list[str], new_files: list[str]) -> None:
        """Refuse (and roll back ``paths``) if the staged tree exceeds the tier; shrinking is always allowed."""
        try:
            before = repo_usage(self.path, "HEAD")
            after = repo_usage(self.path, self.repo.git.write_tree())
            sizes = [os.path.getsize(self._abspath(f)) for f in new_files if os.path.isfile(self._abspath(f))]
            if sizes:
                check_write(wiki.tier, Usage(0, 0), attachment_bytes=max(sizes))
            if after.pages > before.pages or after.bytes > before.bytes:
                check_write(wiki.tier, after)
        except BaseException:
            self.restore(paths)
            raise

    def _files_below(self, paths: Iterable[str]) -> list[str]:
        """The files ``paths`` name: a directory stands for every tracked file below it."""
        out: list[str] = []
        for path in paths:
            path = path.strip("/")
            if os.path.isdir(self._abspath(path)):
                out += [f for f in self.repo.git.ls_files("-z", "--", path).split("\0") if f] or [path + "/"]
            else:
                out.append(path)
        return out

    def _discard(self, paths: list[str]) -> None:
        """Undo a refused change to ``paths``: tracked files back to HEAD, new ones removed."""
        self.restore(paths)
        for path in paths:
            full = self._abspath(path)
            if os.path.isfile(full) and not self.repo.git.ls_files("--", path):
                os.remove(full)

    def _changed(self, files: list[str]) -> None:
        plugin_manager.hook.repository_changed(changed_files=files)

    # -- writers ----------------------------------------------------------------------------------------
    def store(
        self, filename: str, content: Any, message: str | None = "", author: Any = None, mode: str = "w"
    ) -> bool:
        with self._writing([filename]) as (wiki, actor):
            if not self.update(filename, content, mode):
                return False
            self._check_staged(wiki, [filename], [] if filename.endswith(".md") else [filename])
            self.repo.index.commit(message or "", author=actor, committer=actor)
            self._changed([filename])
            return True

    def commit(self, filenames: Any, message: str = "", author: Any = None, no_add: bool = False) -> None:
        files = filenames if isinstance(filenames, list) else [filenames]
        try:
            with self._writing(files) as (wiki, actor):
                if not no_add:
                    try:
                        self.repo.index.add(files)
                    except Exception as exc:
                        raise StorageError(f"index.add {files} in commit failed.") from exc
                new_files = [] if no_add else [f for f in files if not f.endswith(".md")]
                self._check_staged(wiki, files, new_files)
                self.repo.index.commit(message, author=actor, committer=actor)
        except BaseException:
            # Otterwiki saved the files (uploads) in the working tree before asking to commit them: a refused
            # or failed commit must not leave them there.
            self._discard(files)
            raise
        self._changed(files)

    def delete(self, filename: Any, message: str | None = None, author: Any = None) -> None:
        with self._writing(filename if isinstance(filename, list) else [filename]) as (_wiki, actor):
            super().delete(filename, message=message, author=(actor.name, actor.email))

    def rename(self, old_filename: str, new_filename: str, message: str | None = None, **kwargs: Any) -> None:
        moved = self._files_below([old_filename])
        old, new = old_filename.strip("/"), new_filename.strip("/")
        targets = [new + f[len(old) :] if f.startswith(old + "/") else new for f in moved]
        with self._writing([*moved, *targets]) as (_wiki, actor):
            kwargs["author"] = (actor.name, actor.email)
            super().rename(old_filename, new_filename, message=message, **kwargs)

    def revert(self, revision: str, message: str = "", author: Any = None) -> None:
        self._validate_revision(revision)
        with self._writing() as (wiki, actor):
            try:
                self.repo.git.revert(revision, "--no-commit")
            except git.exc.GitCommandError:
                self._abort_revert()
                raise StorageError("Revert failed.") from None
            try:
                staged = self.repo.git.diff("--cached", "--name-only", "-z", "--no-renames", "HEAD")
                wiki.write_area.check([f for f in staged.split("\0") if f])
                self._check_staged(wiki, [], [])
            except BaseException:
                self._abort_revert()
                raise
            commit = self.repo.index.commit(message, author=actor, committer=actor)
            self._changed(list(commit.stats.files.keys()))

    def _abort_revert(self) -> None:
        try:
            self.repo.git.revert("--abort")
        except git.exc.GitCommandError:
            self.repo.git.reset("--merge")

    def gc(self) -> Any:
        with self._writing():
            return super().gc()


class StorageProxy:
    """Stands in for Otterwiki's module-level ``storage``: every attribute is the bound wiki's ``TenantStorage``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(current().state.storage, name)

    def __repr__(self) -> str:
        return "<wikibot StorageProxy>"
