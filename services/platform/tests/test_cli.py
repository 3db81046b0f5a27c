"""``wikibot-admin``: every command through typer's runner against a real database and Redis, and the installed
entry point as a subprocess."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import tarfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import Result
from typer.testing import CliRunner

from services.platform.tests.support import Platform, make
from tests.support.terminal import run_on_terminal
from wikibot_platform.cli import app
from wikibot_shared.db import transaction
from wikibot_shared.models import PaymentStatus, Wiki

ALICE = "did:plc:aliceaaaaaaaaaaaaaaaaaaa"


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


def installed(command: str) -> Path:
    exe = Path(os.environ.get("VIRTUAL_ENV", ".venv")) / "bin" / command
    if not exe.exists():
        exe = Path(__file__).resolve().parents[3] / ".venv" / "bin" / command
    return exe


def test_entry_point_is_installed(tmp_path: Path) -> None:
    exe = installed("wikibot-admin")
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


SECRETS_WARNING = (
    "warning: the archive holds the platform's private keys and the at-rest encryption key; "
    "store it like a secret."
)


def backup_progress(slug: str) -> list[str]:
    """The plain progress lines of backing up one wiki (stderr is not a terminal under the runner)."""
    return [
        "backup: 0/3 steps, dumping the database",
        f"backup: 1/3 steps, bundling {slug}",
        "backup: 2/3 steps, writing the archive",
        "backup: 3/3 steps",
    ]


def restore_progress(slug: str) -> list[str]:
    return [
        "restore: 0/1 steps, unpacking the archive",
        "restore: 1/3 steps, loading the database",
        f"restore: 2/3 steps, cloning {slug}",
        "restore: 3/3 steps",
    ]


def fresh_volume(platform: Platform, admin: CliRunner, fresh: Path) -> tuple[dict[str, str], list[str]]:
    """The environment of a restore into an empty data volume, and the options it needs."""
    env = {**admin.env, "DATA_DIR": str(fresh)}  # type: ignore[dict-item]
    if platform.settings.is_sqlite:
        env["DATABASE_URL"] = f"sqlite:///{fresh / 'wikibot.db'}"
        return env, []
    return env, ["--force"]  # the one PostgreSQL database of a test stands for both volumes


def kind(platform: Platform) -> str:
    return "sqlite" if platform.settings.is_sqlite else "postgresql"


def test_backup_create_and_restore_into_a_fresh_volume(
    platform: Platform, admin: CliRunner, tmp_path: Path
) -> None:
    alice = platform.user("alice")
    make(platform, alice, "notes")
    archive = tmp_path / "out" / "wikibot.tar.gz"
    made = invoke(admin, "backup", "create", str(archive))
    assert made.exit_code == 0, made.stderr
    size = archive.stat().st_size // 1024
    assert made.stdout == f"backed up 1 wikis and the {kind(platform)} database to {archive} ({size} KiB)\n"
    assert made.stderr.splitlines() == [*backup_progress("notes"), SECRETS_WARNING]
    assert archive.stat().st_mode & 0o077 == 0
    # restoring over the live volume is refused; into a fresh one it works
    refused = invoke(admin, "backup", "restore", str(archive))
    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr == (
        "error: the data volume is not empty; restore into a fresh volume (or pass --force)\n"
    )
    fresh = tmp_path / "fresh"
    env, options = fresh_volume(platform, admin, fresh)
    restored = invoke(CliRunner(env=env), "backup", "restore", str(archive), *options)
    assert restored.exit_code == 0, restored.stderr
    assert restored.stdout == f"restored 1 wikis and the {kind(platform)} database from {archive}\n"
    assert restored.stderr.splitlines() == restore_progress("notes")
    assert (fresh / "wikis" / "notes" / "repo" / "Home.md").exists()
    assert (fresh / "keys" / "signing").is_dir()
    out = run(CliRunner(env=env), "wikis", "--json")
    assert [w["slug"] for w in json.loads(out)] == ["notes"]


def test_backup_streams_through_stdout_and_stdin(
    platform: Platform, admin: CliRunner, tmp_path: Path
) -> None:
    """``create -`` / ``restore -``: the archive never needs to be readable by the container's user; the
    report and the progress lines go to stderr, stdout carries the archive and nothing else."""
    alice = platform.user("alice")
    make(platform, alice, "streamed")
    made = invoke(admin, "backup", "create", "-")
    assert made.exit_code == 0, made.stderr
    archive = made.stdout_bytes
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:  # the whole archive, nothing else
        assert {"manifest.json", "wikis/streamed.bundle"} <= set(tar.getnames())
    assert made.stderr.splitlines() == [
        *backup_progress("streamed"),
        f"backed up 1 wikis and the {kind(platform)} database to stdout ({len(archive) // 1024} KiB)",
        SECRETS_WARNING,
    ]

    fresh = tmp_path / "fresh"
    env, options = fresh_volume(platform, admin, fresh)
    restored = invoke(CliRunner(env=env), "backup", "restore", "-", *options, input=archive)
    assert restored.exit_code == 0, restored.stderr
    assert restored.stdout == f"restored 1 wikis and the {kind(platform)} database from stdin\n"
    assert restored.stderr.splitlines() == restore_progress("streamed")
    assert (fresh / "wikis" / "streamed" / "repo" / "Home.md").exists()


def test_backup_progress_on_a_terminal_leaves_the_streamed_archive_intact(
    platform: Platform, admin: CliRunner, tmp_path: Path
) -> None:
    """The installed command as an operator runs it: stderr on a terminal (rich's live bar), the archive on
    stdout into a file; then restored from stdin by another process whose stderr is a pipe (plain lines)."""
    alice = platform.user("alice")
    make(platform, alice, "drawn")
    exe = str(installed("wikibot-admin"))
    env = {**admin.env, "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TERM": "xterm"}  # type: ignore[dict-item]
    made = run_on_terminal([exe, "backup", "create", "-"], env)
    assert made.returncode == 0, made.terminal
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", made.terminal.decode())  # without colours and cursor moves
    assert "backup ━" in drawn  # the bar, not plain lines
    assert "3/3 steps" in drawn  # its last frame (a step as quick as these may never be drawn)
    assert "backup: " not in drawn
    assert f"backed up 1 wikis and the {kind(platform)} database to stdout" in drawn
    with tarfile.open(fileobj=io.BytesIO(made.stdout), mode="r:gz") as tar:
        assert {"manifest.json", "wikis/drawn.bundle"} <= set(tar.getnames())

    fresh_env, options = fresh_volume(platform, admin, tmp_path / "fresh")
    restored = subprocess.run(
        [exe, "backup", "restore", "-", *options],
        input=made.stdout,
        capture_output=True,
        env={**fresh_env, "PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        timeout=300,
        check=False,
    )
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.decode() == f"restored 1 wikis and the {kind(platform)} database from stdin\n"
    assert restored.stderr.decode().splitlines() == restore_progress("drawn")
    assert (tmp_path / "fresh" / "wikis" / "drawn" / "repo" / "Home.md").exists()


def test_backup_restore_names_an_unreadable_archive(admin: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nope.tar.gz"
    error = run(admin, "backup", "restore", str(missing), code=1)
    assert f"cannot read {missing}" in error
    assert "pass - and the archive on stdin" in error


def test_backup_restore_refuses_a_foreign_file(admin: CliRunner, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"not an archive")
    assert "unsafe or unreadable archive" in run(admin, "backup", "restore", "--force", str(junk), code=1)
