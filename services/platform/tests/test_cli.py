"""``wikibot-admin``: every command through typer's runner against a real database and Redis, and the installed
entry point as a subprocess."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import Result
from typer.testing import CliRunner

from wikibot_platform.cli import app
from wikibot_shared.db import transaction
from wikibot_shared.models import PaymentStatus, Wiki

from .conftest import Platform
from .test_api_wikis import make

ALICE = "did:plc:aliceaaaaaaaaaaaaaaaaaaa"


@pytest.fixture
def admin(platform: Platform) -> Iterator[CliRunner]:
    s = platform.settings
    env = {
        "DATA_DIR": str(s.data_dir),
        "DATABASE_URL": str(s.database_url),
        "REDIS_URL": s.redis_url,
        "LOG_FORMAT": "json",
        "DOMAIN": "localhost",
        "PUBLIC_PORT": "8080",
    }
    return CliRunner(env=env)


def invoke(runner: CliRunner, *args: str, input: bytes | None = None) -> Result:
    try:
        return runner.invoke(app, list(args), input=input)
    finally:  # the command logs to the runner's stderr, which closes when it returns
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_wikibot", False):
                root.removeHandler(handler)


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = invoke(runner, *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


def test_create_user_and_login_link_that_signs_in(platform: Platform, admin: CliRunner) -> None:
    out = run(admin, "create-user", "--did", ALICE, "--handle", "@Alice.Test", "--username", "alice")
    assert "created alice" in out
    assert "@alice.test" in out
    url = run(admin, "login-link", "alice").strip()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://localhost:8080/auth/link"
    token = parse_qs(parts.query)["token"][0]
    response = platform.client.get("/auth/link", params={"token": token})
    assert response.status_code == 303
    me = platform.client.get(
        "/api/me", headers={"Authorization": f"Bearer {response.cookies['wikibot_session']}"}
    )
    assert me.json()["did"] == ALICE
    assert platform.client.get("/auth/link", params={"token": token}).status_code == 401


def test_login_link_by_handle_or_did_with_return_to(platform: Platform, admin: CliRunner) -> None:
    run(admin, "create-user", "--did", ALICE, "--handle", "alice.test", "--username", "alice")
    for ref in ("alice.test", "@alice.test", ALICE):
        assert "token=" in run(admin, "login-link", ref)
    url = run(admin, "login-link", "alice", "--return-to", "http://localhost:8080/app/account").strip()
    query = parse_qs(urlsplit(url).query)
    assert query["return_to"] == ["http://localhost:8080/app/account"]
    response = platform.client.get(
        "/auth/link", params={"token": query["token"][0], "return_to": query["return_to"][0]}
    )
    assert response.headers["location"] == "http://localhost:8080/app/account"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--did", "alice", "--handle", "a.test", "--username", "alice"], "not a DID"),
        (["--did", ALICE, "--handle", "not a handle", "--username", "alice"], "not a handle"),
        (["--did", ALICE, "--handle", "a.test", "--username", "Alice!"], "username"),
        (["--did", ALICE, "--handle", "a.test", "--username", "admin"], "reserved"),
        (["--did", ALICE, "--handle", "a.test", "--username", "alice", "--tier", "gold"], "unknown tier"),
    ],
)
def test_create_user_bad_input(platform: Platform, admin: CliRunner, args: list[str], message: str) -> None:
    assert message in run(admin, "create-user", *args, code=1)


def test_create_user_duplicates_and_unknown_user(platform: Platform, admin: CliRunner) -> None:
    run(admin, "create-user", "--did", ALICE, "--handle", "alice.test", "--username", "alice")
    assert "exists" in run(
        admin, "create-user", "--did", ALICE, "--handle", "b.test", "--username", "bee", code=1
    )
    other = "did:plc:otherxxxxxxxxxxxxxxxxxxx"
    assert "taken" in run(
        admin, "create-user", "--did", other, "--handle", "b.test", "--username", "alice", code=1
    )
    assert "no user 'nobody'" in run(admin, "login-link", "nobody", code=1)
    assert "--ttl" in run(admin, "login-link", "alice", "--ttl", "5", code=1)


def test_users_wikis_set_tier_lapse_restore_usage(platform: Platform, admin: CliRunner) -> None:
    run(admin, "create-user", "--did", ALICE, "--handle", "alice.test", "--username", "alice")
    make(platform, ALICE, "notes")
    make(platform, ALICE, "diary")
    users = json.loads(run(admin, "users", "--json"))
    assert [(u["username"], u["tier"], u["wikis"]) for u in users] == [("alice", "free", 2)]
    assert "alice" in run(admin, "users")
    wikis = json.loads(run(admin, "wikis", "--json"))
    assert [(w["slug"], w["owner"], w["payment_status"]) for w in wikis] == [
        ("diary", "alice", "active"),
        ("notes", "alice", "active"),
    ]
    assert "premium (2 wikis: diary, notes)" in run(admin, "set-tier", "alice", "premium")
    assert json.loads(run(admin, "users", "--json"))[0]["tier"] == "premium"
    assert {w["tier"] for w in json.loads(run(admin, "wikis", "--json"))} == {"premium"}
    assert "wiki notes is now free" in run(admin, "set-tier", "notes", "free", "--wiki")
    assert "unknown tier" in run(admin, "set-tier", "alice", "gold", code=1)
    assert "no user" in run(admin, "set-tier", "bob", "free", code=1)

    assert "lapsed" in run(admin, "lapse", "notes")
    with platform.app.state.db() as db:
        wiki = db.get(Wiki, "notes")
        assert wiki is not None
        assert wiki.payment_status == PaymentStatus.LAPSED.value
    assert platform.client.get("/api/wikis/notes", headers=platform.bearer(ALICE)).json()["read_only"] is True
    assert "active" in run(admin, "restore", "notes")
    assert (
        platform.client.get("/api/wikis/notes", headers=platform.bearer(ALICE)).json()["read_only"] is False
    )
    assert "no wiki 'nope'" in run(admin, "lapse", "nope", code=1)

    with transaction(platform.app.state.db) as db:  # usage re-measures from git, whatever the row says
        wiki = db.get(Wiki, "notes")
        assert wiki is not None
        wiki.page_count = 999
    usage = json.loads(run(admin, "usage", "--json"))
    assert [(u["slug"], u["pages"]) for u in usage] == [("diary", 2), ("notes", 2)]
    assert usage[1]["pages_limit"] == 1000
    assert "notes" in run(admin, "usage", "notes")
    with platform.app.state.db() as db:
        wiki = db.get(Wiki, "notes")
        assert wiki is not None
        assert wiki.page_count == 2


def test_entry_point_is_installed(tmp_path: Path) -> None:
    exe = Path(os.environ.get("VIRTUAL_ENV", ".venv")) / "bin" / "wikibot-admin"
    if not exe.exists():
        exe = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "wikibot-admin"
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0
    for command in ("create-user", "login-link", "users", "wikis", "set-tier", "lapse", "restore", "usage"):
        assert command in proc.stdout
    bad = subprocess.run(
        [str(exe), "users"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "PUBLIC_SCHEME": "gopher"},
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("configuration error: PUBLIC_SCHEME")


def test_backup_create_and_restore_into_a_fresh_volume(
    platform: Platform, admin: CliRunner, tmp_path: Path
) -> None:
    alice = platform.user("alice")
    make(platform, alice, "notes")
    archive = tmp_path / "out" / "wikibot.tar.gz"
    assert "backed up 1 wikis and the" in run(admin, "backup", "create", str(archive))
    assert archive.stat().st_mode & 0o077 == 0
    # restoring over the live volume is refused; into a fresh one it works
    assert "not empty" in run(admin, "backup", "restore", str(archive), code=1)
    fresh = tmp_path / "fresh"
    env = {**admin.env, "DATA_DIR": str(fresh)}  # type: ignore[dict-item]
    args = ["backup", "restore", str(archive)]
    if platform.settings.is_sqlite:
        env["DATABASE_URL"] = f"sqlite:///{fresh / 'wikibot.db'}"
    else:
        args.append("--force")  # the one PostgreSQL database of this test stands for both volumes
    assert "restored 1 wikis" in run(CliRunner(env=env), *args)
    assert (fresh / "wikis" / "notes" / "repo" / "Home.md").exists()
    assert (fresh / "keys" / "signing").is_dir()
    out = run(CliRunner(env=env), "wikis", "--json")
    assert [w["slug"] for w in json.loads(out)] == ["notes"]


def test_backup_streams_through_stdout_and_stdin(
    platform: Platform, admin: CliRunner, tmp_path: Path
) -> None:
    """``create -`` / ``restore -``: the archive never needs to be readable by the container's user."""
    alice = platform.user("alice")
    make(platform, alice, "streamed")
    made = invoke(admin, "backup", "create", "-")
    assert made.exit_code == 0, made.stderr
    assert made.stdout_bytes[:2] == b"\x1f\x8b"  # the gzip archive itself, nothing else on stdout
    assert "backed up 1 wikis" in made.stderr
    assert "store it like a secret" in made.stderr

    fresh = tmp_path / "fresh"
    env = {**admin.env, "DATA_DIR": str(fresh)}  # type: ignore[dict-item]
    args = ["backup", "restore", "-"]
    if platform.settings.is_sqlite:
        env["DATABASE_URL"] = f"sqlite:///{fresh / 'wikibot.db'}"
    else:
        args.append("--force")
    restored = invoke(CliRunner(env=env), *args, input=made.stdout_bytes)
    assert restored.exit_code == 0, restored.stderr
    assert "restored 1 wikis" in restored.stdout
    assert "from stdin" in restored.stdout
    assert (fresh / "wikis" / "streamed" / "repo" / "Home.md").exists()


def test_backup_restore_names_an_unreadable_archive(admin: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nope.tar.gz"
    error = run(admin, "backup", "restore", str(missing), code=1)
    assert f"cannot read {missing}" in error
    assert "pass - and the archive on stdin" in error


def test_backup_restore_refuses_a_foreign_file(admin: CliRunner, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"not an archive")
    assert "unsafe or unreadable archive" in run(admin, "backup", "restore", "--force", str(junk), code=1)
