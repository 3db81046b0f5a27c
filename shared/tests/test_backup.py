import io
import re
import stat
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from wikibot_shared import migrate
from wikibot_shared.backup import BackupError, create_backup, restore_backup
from wikibot_shared.config import CommonSettings
from wikibot_shared.db import make_engine, make_session_factory, transaction
from wikibot_shared.keys import KeyStore
from wikibot_shared.models import AccessToken, Acl, IndexState, User, Wiki
from wikibot_shared.storage import Author, git, init_repo, wiki_paths


def _populate(settings: CommonSettings) -> None:
    migrate.run(settings)
    author = Author.for_did("did:plc:alice", "alice.test")
    for slug in ("notes", "team"):
        init_repo(
            settings.wikis_dir, slug, {"Home.md": f"# {slug}\n", "Dir/Page.md": "x\n"}, author, "Create"
        )
    repo = wiki_paths(settings.wikis_dir, "notes").repo
    (repo / "Second.md").write_text("second\n")
    (repo / "pic.png").write_bytes(b"\x89PNG\0binary")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "more")
    engine = make_engine(str(settings.database_url))
    with transaction(make_session_factory(engine)) as db:
        db.add(User(did="did:plc:alice", handle="alice.test", username="alice"))
        db.flush()
        db.add_all(
            [
                Wiki(slug="notes", owner_did="did:plc:alice", display_name="Notes"),
                Wiki(slug="team", owner_did="did:plc:alice", display_name="Team", is_public=True),
            ]
        )
        db.flush()
        db.add(Acl(wiki_slug="notes", grantee_did="did:plc:bob", role="viewer"))
        db.add(
            AccessToken(
                id="t1",
                token_hash="ab" * 32,
                wiki_slug="notes",
                owner_did="did:plc:alice",
                name="ci",
                scopes="wiki:read",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        db.add(IndexState(wiki_slug="notes", last_commit="deadbeef", chunk_count=3))
    engine.dispose()


def _snapshot(settings: CommonSettings) -> dict[str, object]:
    engine = make_engine(str(settings.database_url))
    with make_session_factory(engine)() as db:
        rows = {
            "users": [(u.did, u.handle, u.username) for u in db.execute(select(User)).scalars()],
            "wikis": sorted(
                (w.slug, w.display_name, w.is_public) for w in db.execute(select(Wiki)).scalars()
            ),
            "acls": [(a.wiki_slug, a.grantee_did, a.role) for a in db.execute(select(Acl)).scalars()],
            "tokens": [
                (t.id, t.token_hash, t.scopes, t.created_at)
                for t in db.execute(select(AccessToken)).scalars()
            ],
        }
    engine.dispose()
    for slug in ("notes", "team"):
        repo = wiki_paths(settings.wikis_dir, slug).repo
        rows[f"{slug}.log"] = git(repo, "log", "--format=%H %an %s")
        rows[f"{slug}.proposals"] = git(repo, "for-each-ref", "refs/proposals")
        rows[f"{slug}.files"] = {
            p.relative_to(repo).as_posix(): p.read_bytes()
            for p in repo.rglob("*")
            if p.is_file() and ".git" not in p.parts
        }
    rows["kid"] = KeyStore(settings.keys_dir).current().kid
    return rows


def _fresh_settings(database_url: str, data: Path) -> CommonSettings:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{data / 'wikibot.db'}"
    return CommonSettings(data_dir=data, database_url=database_url)


def _wipe_postgres(url: str) -> None:
    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{u.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def test_round_trip_into_a_fresh_volume(database_url: str, tmp_path: Path) -> None:
    settings = _fresh_settings(database_url, tmp_path / "data")
    _populate(settings)
    # a proposal: a commit main does not have, on refs/proposals/1 (wikibot_shared.proposals)
    notes = wiki_paths(settings.wikis_dir, "notes").repo
    env = {
        "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "a",
        "GIT_COMMITTER_EMAIL": "a@x",
    }
    proposed = git(notes, "commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "proposed", env=env).strip()
    git(notes, "update-ref", "refs/proposals/1", proposed)
    before = _snapshot(settings)
    assert proposed in str(before["notes.proposals"])
    archive = tmp_path / "out" / "backup.tar.gz"
    report = create_backup(settings, archive)
    assert report.wikis == ["notes", "team"]
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    # wipe everything: a new volume (and an empty database)
    fresh = _fresh_settings(database_url, tmp_path / "fresh")
    if not database_url.startswith("sqlite"):
        _wipe_postgres(database_url)
    restore_backup(fresh, archive)
    assert _snapshot(fresh) == before
    repo = wiki_paths(fresh.wikis_dir, "notes").repo
    assert git(repo, "config", "receive.denyCurrentBranch").strip() == "updateInstead"
    assert git(repo, "remote") == ""
    assert git(repo, "status", "--porcelain") == ""
    engine = make_engine(str(fresh.database_url))
    with make_session_factory(engine)() as db:
        assert db.execute(select(IndexState)).all() == []  # indexes rebuild from the restored commits
    engine.dispose()


def test_restore_refuses_a_used_volume_and_bad_archives(tmp_path: Path) -> None:
    settings = CommonSettings(data_dir=tmp_path / "data")
    _populate(settings)
    archive = tmp_path / "b.tgz"
    create_backup(settings, archive)
    with pytest.raises(BackupError, match="not empty"):
        restore_backup(settings, archive)
    evil = tmp_path / "evil.tgz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BackupError, match=re.escape("unsafe archive: path '../escape.txt' leaves")):
        restore_backup(CommonSettings(data_dir=tmp_path / "other"), evil)
    assert not (tmp_path / "escape.txt").exists()
    junk = tmp_path / "junk.tgz"
    with tarfile.open(junk, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("nothing"), io.BytesIO(b""))
    with pytest.raises(BackupError, match="not a Wikibot backup"):
        restore_backup(CommonSettings(data_dir=tmp_path / "third"), junk)


def _member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    data = b"x" if kind == tarfile.REGTYPE else b""
    info.size = len(data)
    return info, data


@pytest.mark.parametrize("with_filter", [True, False], ids=["data-filter", "python-before-3.11.4"])
@pytest.mark.parametrize(
    ("member", "refusal"),
    [
        (_member("/etc/evil"), "leaves the archive's tree"),
        (_member("keys/../../evil"), "leaves the archive's tree"),
        (_member("keys\\..\\evil"), "leaves the archive's tree"),
        (_member("keys/link", tarfile.SYMTYPE, "/etc/passwd"), "not a regular file or directory"),
        (_member("keys/hard", tarfile.LNKTYPE, "manifest.json"), "not a regular file or directory"),
        (_member("keys/dev", tarfile.CHRTYPE), "not a regular file or directory"),
        (_member("keys/fifo", tarfile.FIFOTYPE), "not a regular file or directory"),
    ],
)
def test_restore_refuses_every_unsafe_member_before_writing_anything(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    with_filter: bool,
    member: tuple[tarfile.TarInfo, bytes],
    refusal: str,
) -> None:
    if not with_filter:  # the containers' Debian Python (3.11.2) has no extraction filters
        monkeypatch.delattr(tarfile, "data_filter")
    settings = CommonSettings(data_dir=tmp_path / "data")
    _populate(settings)
    good = tmp_path / "good.tgz"
    create_backup(settings, good)
    evil = tmp_path / "evil.tgz"
    with tarfile.open(good, "r:gz") as src, tarfile.open(evil, "w:gz") as dst:
        for info in src.getmembers():  # a real backup, then the bad member last
            dst.addfile(info, src.extractfile(info) if info.isreg() else None)
        info, data = member
        dst.addfile(info, io.BytesIO(data))
    fresh = CommonSettings(data_dir=tmp_path / "fresh")
    with pytest.raises(BackupError, match=refusal):
        restore_backup(fresh, evil)
    assert not fresh.data_dir.exists() or not any(fresh.data_dir.iterdir())


@pytest.mark.parametrize("with_filter", [True, False], ids=["data-filter", "python-before-3.11.4"])
def test_restore_works_without_extraction_filters_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_filter: bool
) -> None:
    if not with_filter:
        monkeypatch.delattr(tarfile, "data_filter")
    settings = CommonSettings(data_dir=tmp_path / "data")
    _populate(settings)
    archive = tmp_path / "b.tgz"
    create_backup(settings, archive)
    fresh = CommonSettings(data_dir=tmp_path / "fresh")
    report = restore_backup(fresh, archive)
    assert report.wikis
    assert sorted(report.wikis) == ["notes", "team"]
    for slug in report.wikis:  # the same history, the same files
        was, now = wiki_paths(settings.wikis_dir, slug).repo, wiki_paths(fresh.wikis_dir, slug).repo
        assert git(now, "rev-parse", "HEAD") == git(was, "rev-parse", "HEAD")
        assert git(now, "ls-files") == git(was, "ls-files")
    assert (wiki_paths(fresh.wikis_dir, "notes").repo / "pic.png").read_bytes() == b"\x89PNG\0binary"
    restored = [p for p in fresh.data_dir.rglob("*") if ".git" not in p.parts]
    assert all(
        p.stat().st_mode & 0o077 == 0 for p in restored if p.is_file() and p.is_relative_to(fresh.keys_dir)
    )
    keys = sorted(p.relative_to(fresh.keys_dir) for p in fresh.keys_dir.rglob("*") if p.is_file())
    assert keys == sorted(
        p.relative_to(settings.keys_dir)
        for p in settings.keys_dir.rglob("*")
        if p.is_file() and p.name != ".lock" and not p.name.endswith(".tmp")
    )
