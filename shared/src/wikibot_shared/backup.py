"""Backup and restore: one archive holding the database, every wiki's repository and the keys.

    manifest.json                 format, time, database kind, Alembic revision, wikis
    database/wikibot.sqlite       SQLite: an online backup (sqlite3's backup API, consistent while in use)
    database/wikibot.pgdump       PostgreSQL: ``pg_dump --format=custom``
    wikis/{slug}.bundle           ``git bundle --all`` of each repository, taken under its write lock
    keys/...                      the platform's keys and at-rest secret

The archive holds secrets (signing keys, the encryption key, hashed tokens): it is written with mode 0600 and the
CLI says so. Search indexes are not archived: restore clears ``index_state`` so the embedder rebuilds every index
from the restored commits.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import make_url

from . import git
from .config import CommonSettings
from .db import make_engine, make_session_factory, transaction
from .errors import GitError, WikibotError
from .locks import repo_lock
from .models import IndexState, Wiki
from .progress import Progress, no_progress
from .storage import wiki_paths

FORMAT = 1


class BackupError(WikibotError):
    code = "backup_error"


@dataclass(frozen=True)
class BackupReport:
    path: Path
    wikis: list[str]
    database: str
    bytes: int


def _pg_env_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = [
        "--host",
        u.host or "localhost",
        "--port",
        str(u.port or 5432),
        "--username",
        u.username or "postgres",
        "--dbname",
        u.database or "postgres",
        "--no-owner",
        "--no-privileges",
    ]
    env = {**os.environ}
    if u.password:
        env["PGPASSWORD"] = u.password
    return args, env


def _alembic_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
            return str(row[0]) if row else None
    finally:
        engine.dispose()


def create_backup(
    settings: CommonSettings, target: Path, *, progress: Progress = no_progress
) -> BackupReport:
    """``progress`` counts steps: the database, each wiki's repository, the archive."""
    url = str(settings.database_url)
    engine = make_engine(url)
    with make_session_factory(engine)() as db:
        slugs = sorted(db.execute(select(Wiki.slug)).scalars())
    engine.dispose()
    steps = len(slugs) + 2
    with tempfile.TemporaryDirectory(prefix="wikibot-backup-") as tmp:
        root = Path(tmp)
        (root / "database").mkdir()
        progress(0, steps, "dumping the database")
        if settings.is_sqlite:
            kind = "sqlite"
            source = sqlite3.connect(make_url(url).database or "")
            dest = sqlite3.connect(root / "database" / "wikibot.sqlite")
            with dest:
                source.backup(dest)
            source.close()
            dest.close()
        else:
            kind = "postgresql"
            args, env = _pg_env_args(url)
            proc = subprocess.run(
                ["pg_dump", "--format=custom", "--file", str(root / "database" / "wikibot.pgdump"), *args],
                capture_output=True,
                env=env,
                check=False,
            )
            if proc.returncode != 0:
                raise BackupError(f"pg_dump failed: {proc.stderr.decode(errors='replace').strip()[:300]}")
        (root / "wikis").mkdir()
        archived = []
        for done, slug in enumerate(slugs, 1):
            progress(done, steps, f"bundling {slug}")
            repo = wiki_paths(settings.wikis_dir, slug).repo
            if not (repo / ".git").exists():
                continue
            with repo_lock(settings.wikis_dir, slug):
                git.run(repo, "bundle", "create", "-q", str(root / "wikis" / f"{slug}.bundle"), "--all")
            archived.append(slug)
        if settings.keys_dir.exists():
            shutil.copytree(
                settings.keys_dir, root / "keys", ignore=shutil.ignore_patterns(".lock", ".*.tmp")
            )
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "database": kind,
            "alembic_revision": _alembic_revision(url),
            "wikis": archived,
        }
        (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
        progress(steps - 1, steps, "writing the archive")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
            for child in sorted(root.iterdir()):
                tar.add(child, arcname=child.name)
    progress(steps, steps)
    return BackupReport(target, archived, kind, target.stat().st_size)


def _checked_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Our archives hold regular files and directories under relative paths, nothing else: refuse the rest
    (absolute paths, ``..``, links, devices) before anything is written. Python's ``filter="data"`` would do
    much of this, but only from 3.11.4 on (Debian bookworm's 3.11.2 lacks it)."""
    members = tar.getmembers()
    for member in members:
        parts = PurePosixPath(member.name).parts
        if not (member.isreg() or member.isdir()):
            raise BackupError(f"unsafe archive: {member.name!r} is not a regular file or directory")
        if not parts or parts[0] == "/" or ".." in parts or "\\" in member.name:
            raise BackupError(f"unsafe archive: path {member.name!r} leaves the archive's tree")
        member.mode &= 0o700 if member.isdir() else 0o600  # private on disk, whatever the archive says
        member.uid = member.gid = -1
        member.uname = member.gname = ""
    return members


def _safe_extract(archive: Path, into: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = _checked_members(tar)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(into, members=members, filter="data")
            else:  # Python before 3.11.4: the check above is the filter
                tar.extractall(into, members=members)  # noqa: S202 - every member checked above
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"unsafe or unreadable archive: {exc}") from None
    try:
        manifest: dict[str, Any] = json.loads((into / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"not a Wikibot backup: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unsupported backup format {manifest.get('format')!r}")
    return manifest


def _is_empty(settings: CommonSettings) -> bool:
    wikis = settings.wikis_dir
    if wikis.exists() and any(wikis.iterdir()):
        return False
    if settings.is_sqlite:
        path = Path(make_url(str(settings.database_url)).database or "")
        return not path.exists() or path.stat().st_size == 0
    return True


def restore_backup(
    settings: CommonSettings, archive: Path, *, force: bool = False, progress: Progress = no_progress
) -> BackupReport:
    """Bring a fresh data volume (and database) back from ``archive``. Run with the services stopped.

    ``progress`` counts steps: unpacking the archive (the only step until its manifest names the wikis), the
    database, each wiki's repository."""
    if not force and not _is_empty(settings):
        raise BackupError("the data volume is not empty; restore into a fresh volume (or pass --force)")
    url = str(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="wikibot-restore-") as tmp:
        root = Path(tmp)
        progress(0, 1, "unpacking the archive")
        manifest = _safe_extract(archive, root)
        steps = len(manifest["wikis"]) + 2
        progress(1, steps, "loading the database")
        kind = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest["database"] != kind:
            raise BackupError(f"this backup holds a {manifest['database']} database; DATABASE_URL is {kind}")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if kind == "sqlite":
            db_path = Path(make_url(url).database or "")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(root / "database" / "wikibot.sqlite", db_path)
        else:
            args, env = _pg_env_args(url)
            proc = subprocess.run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--single-transaction",
                    *args,
                    str(root / "database" / "wikibot.pgdump"),
                ],
                capture_output=True,
                env=env,
                check=False,
            )
            if proc.returncode != 0:
                raise BackupError(f"pg_restore failed: {proc.stderr.decode(errors='replace').strip()[:300]}")
        if (root / "keys").exists():
            shutil.rmtree(settings.keys_dir, ignore_errors=True)
            shutil.copytree(root / "keys", settings.keys_dir)
            os.chmod(settings.keys_dir, 0o700)
        restored = []
        for done, slug in enumerate(manifest["wikis"], 2):
            progress(done, steps, f"cloning {slug}")
            paths = wiki_paths(settings.wikis_dir, slug)
            shutil.rmtree(paths.root, ignore_errors=True)
            paths.root.mkdir(parents=True)
            bundle = root / "wikis" / f"{slug}.bundle"
            try:
                git.run(None, "clone", "-q", str(bundle), str(paths.repo))
            except GitError as exc:
                raise BackupError(f"restoring {slug}: {exc.stderr.strip()[:300]}") from None
            # A clone takes branches and tags; proposals (``refs/proposals/*``, not branches) are fetched too.
            git.run(paths.repo, "fetch", "-q", str(bundle), "+refs/proposals/*:refs/proposals/*")
            git.run(paths.repo, "remote", "remove", "origin")
            git.run(paths.repo, "config", "receive.denyCurrentBranch", "updateInstead")
            git.run(paths.repo, "config", "core.quotepath", "false")
            paths.index.mkdir()
            restored.append(slug)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as db:
        db.execute(delete(IndexState))  # indexes were not archived: the embedder rebuilds them from git
    engine.dispose()
    progress(steps, steps)
    return BackupReport(archive, restored, kind, archive.stat().st_size)
