"""``wikibot-admin db move``: a platform seeded through its API, moved SQLite → PostgreSQL and PostgreSQL → SQLite
(real files, the suite's real PostgreSQL). Afterwards every row of every table is the same, the credentials
issued before the move work on the platform restarted on the moved database, and new rows get fresh ids. The
refusals (the database in use, a target that holds anything, one that cannot be reached) and a failure while
copying leave the target as it was."""

from __future__ import annotations

import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.runtime.migration import MigrationContext
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, Table, inspect, select, text, update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from services.platform.tests.oauth.harness import Harness
from services.platform.tests.support import BASE, Platform, make, make_settings
from services.platform.tests.test_cli import installed, invoke
from tests.support.servers import fresh_postgres_db
from wikibot_platform.main import create_app
from wikibot_shared import migrate
from wikibot_shared.crypto import Box
from wikibot_shared.db import make_engine, make_session_factory, transaction
from wikibot_shared.models import (
    Base,
    IndexState,
    Proposal,
    User,
    UserSession,
    WebhookDelivery,
    Wiki,
)

Rows = dict[str, list[tuple[Any, ...]]]


BOTH_WAYS = [
    pytest.param("sqlite", marks=pytest.mark.postgres, id="sqlite-to-postgresql"),
    pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql-to-sqlite"),
]
FROM_SQLITE = pytest.mark.parametrize("database_url", [BOTH_WAYS[0]], indirect=True)


@pytest.fixture(params=BOTH_WAYS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database in use, which the platform under test runs on (the suite's fixture, both kinds, both needing
    PostgreSQL: each moves to the other kind)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wikibot.db'}"
    return fresh_postgres_db(request.getfixturevalue("postgres_admin_url"), "move_")


@pytest.fixture
def target_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> str:
    """An empty database of the other kind (a new SQLite file, in a folder that exists)."""
    if database_url.startswith("sqlite"):
        return fresh_postgres_db(request.getfixturevalue("postgres_admin_url"), "move_")
    (tmp_path / "moved").mkdir()
    return f"sqlite:///{tmp_path / 'moved' / 'wikibot.db'}"


def rows_of(url: str) -> Rows:
    """Every column of every row of every table, in primary-key order, as the models read them."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: [
                    tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def revision_of(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


# -- a platform in use ------------------------------------------------------------------------------------------
@dataclass
class World:
    alice: str
    session: str  # alice's session JWT
    pat: str  # alice's personal access token on notes
    client_id: str  # an MCP client, connected to notes by alice
    access_token: str
    refresh_token: str  # the live one (its predecessor was rotated)
    atproto_sid: str  # a sign-in whose ATProto tokens are sealed at rest


def seed(platform: Platform) -> World:
    """Everyone and everything a running platform holds, made the way the platform makes it where it can."""
    alice, bob, carol = platform.user("alice", tier="premium"), platform.user("bob"), platform.user("carol")
    owner = platform.bearer(alice)
    make(platform, alice, "notes", display_name="Notizen – Ünïcødé 📚")
    make(platform, alice, "diary", is_public=True)
    for did, role, paths in ((bob, "editor", ["docs"]), (carol, "viewer", None)):
        body: dict[str, Any] = {"did": did, "role": role, "paths": paths}
        added = platform.client.post("/api/wikis/notes/members", json=body, headers=owner)
        assert added.status_code == 201, added.text
    tokens = "/api/wikis/notes/tokens"
    pat = platform.client.post(
        tokens, json={"name": "laptop", "scopes": ["wiki:read", "wiki:write"]}, headers=owner
    )
    assert pat.status_code == 201, pat.text
    limited = {"name": "bob's script", "expires_in_days": 30, "paths": ["docs"], "scopes": ["wiki:write"]}
    assert platform.client.post(tokens, json=limited, headers=platform.bearer(bob)).status_code == 201
    old = platform.client.post(tokens, json={"name": "old"}, headers=owner).json()
    assert platform.client.delete(f"{tokens}/{old['id']}", headers=owner).status_code == 204
    hook = platform.client.post(
        "/api/wikis/notes/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=owner
    )
    assert hook.status_code == 201, hook.text

    oauth = Harness(platform.app, platform.client, platform.settings, platform.app.state.db, platform.redis)
    client_id = oauth.register(client_name="Claude Code")["client_id"]
    first = oauth.tokens(client_id, did=alice)
    refreshed = oauth.refresh(client_id, first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text

    box = Box(platform.app.state.keystore.secret())
    now = datetime.now(UTC)
    with transaction(platform.app.state.db) as db:
        atproto_sid = "atproto-" + uuid.uuid4().hex
        db.add(
            UserSession(
                id=atproto_sid,
                did=bob,
                method="atproto",
                authserver_iss="https://bsky.social",
                pds_url="https://pds.example.org",
                scope="atproto transition:generic",
                dpop_private_jwk=box.seal('{"kty":"EC"}', f"sessions.dpop:{atproto_sid}"),
                access_token=box.seal("pds-access", f"sessions.access:{atproto_sid}"),
                token_expires_at=now + timedelta(hours=1),
            )
        )
        db.add(IndexState(wiki_slug="notes", last_commit="a" * 40, indexed_at=now, chunk_count=7, model="m"))
        hook_id = hook.json()["id"]
        for n in (1, 2):
            db.add(
                WebhookDelivery(
                    webhook_id=hook_id,
                    event_id=f"evt_{n}",
                    event_type="page.updated",
                    payload='{"page": "Home"}',
                    status="delivered" if n == 1 else "pending",
                    attempts=n,
                )
            )
        db.add(proposal("notes", 1, alice))
    return World(
        alice=alice,
        session=platform.session(alice),
        pat=pat.json()["token"],
        client_id=client_id,
        access_token=refreshed.json()["access_token"],
        refresh_token=refreshed.json()["refresh_token"],
        atproto_sid=atproto_sid,
    )


def proposal(slug: str, number: int, author: str) -> Proposal:
    return Proposal(
        wiki_slug=slug,
        number=number,
        credential_id="tok",
        credential_kind="pat",
        author_did=author,
        author_name="alice via Claude Code",
        title="Add a plan",
        base_commit="b" * 40,
        head_commit="c" * 40,
        commits=1,
        paths=["Plan.md"],
    )


@contextmanager
def restarted(platform: Platform, tmp_path: Path, url: str) -> Iterator[tuple[Any, TestClient]]:
    """The platform as the operator restarts it after the move: the same data volume, keys and Redis, and
    ``DATABASE_URL`` the moved database."""
    settings = make_settings(tmp_path, url, platform.settings.redis_url)
    app = create_app(settings)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        yield app, client
    app.state.engine.dispose()
    app.state.redis.close()


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Whatever a database holds, every table it has (ours or not), to show a refused move changed nothing."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not (path and Path(path).exists()):
            return {}
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = {}
            for name in sorted(inspect(conn).get_table_names()):
                table = Table(name, MetaData(), autoload_with=conn)
                found[name] = sorted(tuple(row) for row in conn.execute(select(table)))
            return found
    finally:
        engine.dispose()


def move(admin: CliRunner, to: str) -> Result:
    return invoke(admin, "db", "move", "--to", to)


def refusal(result: Result) -> str:
    """The one line a refused move ends with: after progress lines only, no log lines, no traceback."""
    assert (result.exit_code, result.stdout) == (1, ""), (result.stdout, result.stderr)
    *progress, last = result.stderr.splitlines()
    assert all(line.startswith("move: ") for line in progress), result.stderr
    return last


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# -- moving ---------------------------------------------------------------------------------------------------
def test_move_keeps_every_row_and_every_credential(
    platform: Platform, admin: CliRunner, target_url: str, tmp_path: Path
) -> None:
    world = seed(platform)
    source_url = str(platform.settings.database_url)
    before = rows_of(source_url)
    assert [name for name, rows in before.items() if not rows] == [], "seed every table"

    moved = invoke(admin, "db", "move", "--to", target_url, "--batch-size", "2")  # several batches a table
    assert moved.exit_code == 0, moved.stderr
    assert rows_of(target_url) == before  # every column of every row
    assert rows_of(source_url) == before  # only read
    assert revision_of(target_url) == revision_of(source_url) == migrate.head()
    total = sum(len(rows) for rows in before.values())
    lines = moved.stdout.splitlines()
    assert lines[0] == (
        f"moved {len(before)} tables ({total} rows, schema revision {migrate.head()}) from {shown(source_url)} "
        f"to {shown(target_url)}; every table's row count checked:"
    )
    assert lines[1:-1] == [f"  {name:<24} {len(rows):>9} rows" for name, rows in before.items()]
    assert lines[-1] == (
        f"next: set DATABASE_URL={shown(target_url)} for every service and start them again; "
        "the database in use was not changed (docs/backup.md)"
    )
    steps = len(before) + 1
    progress = moved.stderr.splitlines()
    assert progress[0] == f"move: 0/{steps} steps, reading the database in use"
    assert progress[-1] == f"move: {steps}/{steps} steps"

    with restarted(platform, tmp_path, target_url) as (app, client):
        me = client.get("/api/me", headers={"Authorization": f"Bearer {world.session}"})
        assert me.status_code == 200, me.text
        assert me.json()["did"] == world.alice
        verifier = app.state.verifier
        for credential, method in ((world.pat, "pat"), (world.access_token, "oauth")):
            _tenant, principal = verifier.authenticate(
                "notes.localhost:8080", {"authorization": f"Bearer {credential}"}, {}
            )
            assert (principal.did, principal.method, principal.wiki) == (world.alice, method, "notes")
        oauth = Harness(app, client, app.state.settings, app.state.db, platform.redis)
        rotated = oauth.refresh(world.client_id, world.refresh_token)
        assert rotated.status_code == 200, rotated.text  # the refresh family carries on
        with app.state.db() as db:
            sealed = db.get(UserSession, world.atproto_sid)
            assert sealed is not None
            assert sealed.access_token is not None
        box = Box(app.state.keystore.secret())
        assert box.open(sealed.access_token, f"sessions.access:{world.atproto_sid}") == b"pds-access"

        with transaction(app.state.db) as db:  # new rows: ids after the moved ones
            delivery = WebhookDelivery(
                webhook_id=before["webhooks"][0][0], event_id="evt_3", event_type="page.created", payload="{}"
            )
            later = proposal("notes", 2, world.alice)
            db.add_all([delivery, later])
        assert delivery.id == max(row[0] for row in before["webhook_deliveries"]) + 1
        assert later.id == max(row[0] for row in before["proposals"]) + 1


@FROM_SQLITE
def test_takes_an_empty_database_this_release_migrated(
    platform: Platform, admin: CliRunner, target_url: str
) -> None:
    """As a Kubernetes install's migrate Job leaves PostgreSQL before the move: at head, without rows."""
    alice = platform.user("alice")
    make(platform, alice, "notes")
    with transaction(platform.app.state.db) as db:
        db.add_all([proposal("notes", 1, alice), proposal("notes", 2, alice)])
    migrate.upgrade(target_url)
    before = rows_of(str(platform.settings.database_url))
    assert move(admin, target_url).exit_code == 0
    assert rows_of(target_url) == before
    engine = make_engine(target_url)
    with transaction(make_session_factory(engine)) as db:
        later = proposal("notes", 3, alice)
        db.add(later)
    engine.dispose()
    assert later.id == 3


# -- refusing -------------------------------------------------------------------------------------------------
def test_refuses_the_database_in_use(platform: Platform, admin: CliRunner, tmp_path: Path) -> None:
    platform.user("alice")
    url = str(platform.settings.database_url)
    before = dump(url)
    if platform.settings.is_sqlite:
        other = f"sqlite:///{tmp_path / '.' / 'data' / '..' / 'wikibot.db'}"
        spellings = {url: shown(url), other: shown(other)}
    else:  # psycopg is the driver either way
        spellings = {url: shown(url), url.replace("postgresql+psycopg://", "postgresql://"): shown(url)}
    for to, as_shown in spellings.items():
        assert refusal(move(admin, to)) == (
            f"error: the target {as_shown} is the database in use (DATABASE_URL); name another database"
        )
    assert dump(url) == before


def test_refuses_a_target_that_holds_anything(platform: Platform, admin: CliRunner, target_url: str) -> None:
    platform.user("alice")
    where = shown(target_url)
    migrate.upgrade(target_url)
    engine = make_engine(target_url)
    with transaction(make_session_factory(engine)) as db:
        db.add(User(did="did:plc:someoneelsexxxxxxxxxxxx", handle="someone.test"))
    held = dump(target_url)
    assert refusal(move(admin, target_url)) == (
        f"error: the target database {where} is not empty (users hold rows); give an empty database"
    )
    assert dump(target_url) == held

    migrate.downgrade(target_url, "0004")
    held = dump(target_url)
    assert refusal(move(admin, target_url)) == (
        f"error: the target database {where} is at schema revision 0004 and the database in use at "
        f"{migrate.head()}; give an empty database"
    )
    assert dump(target_url) == held

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO invoices (id) VALUES (1)"))
    engine.dispose()
    held = dump(target_url)
    assert refusal(move(admin, target_url)) == (
        f"error: the target database {where} is not empty (it holds the tables invoices); give an empty database"
    )
    assert dump(target_url) == held


def test_refuses_a_target_it_cannot_reach(platform: Platform, admin: CliRunner, tmp_path: Path) -> None:
    platform.user("alice")
    closed = "postgresql+psycopg://wikibot:hunter2@127.0.0.1:1/wikibot?connect_timeout=5"
    refused = move(admin, closed)
    line = refusal(refused)
    assert line.startswith(f"error: cannot reach the target database {shown(closed)} (")
    assert line.endswith("); check --to, and that the server runs and the database exists")
    assert "hunter2" not in refused.stderr

    nowhere = tmp_path / "nowhere" / "wikibot.db"
    assert refusal(move(admin, f"sqlite:///{nowhere}")) == (
        f"error: cannot reach the target database sqlite:///{nowhere}: the folder {nowhere.parent} does not exist"
    )
    assert not nowhere.parent.exists()

    forms = "postgresql+psycopg://USER:PASSWORD@HOST:5432/DB or sqlite:////data/wikibot.db"
    assert refusal(move(admin, "mysql://wikibot@db/wikibot")) == (
        f"error: --to must name PostgreSQL (through psycopg) or SQLite: {forms}"
    )
    assert refusal(move(admin, "db.internal:5432")) == f"error: --to is not a database URL; give {forms}"
    assert refusal(move(admin, "sqlite://")) == (
        f"error: --to must name a SQLite file, not an in-memory database: {forms}"
    )


@FROM_SQLITE
def test_a_failure_while_copying_leaves_the_target_as_it_was(
    platform: Platform, admin: CliRunner, target_url: str
) -> None:
    """SQLite keeps a name longer than its column allows, PostgreSQL refuses it: the move stops there, and the
    target has not even the schema it was given first (one transaction)."""
    alice = platform.user("alice")
    make(platform, alice, "notes")
    with transaction(platform.app.state.db) as db:
        db.execute(update(Wiki).values(display_name="N" * 300))
    assert refusal(move(admin, target_url)) == (
        "error: copying wikis failed (value too long for type character varying(200)); "
        "the target was left as it was"
    )
    assert dump(target_url) == {}


@FROM_SQLITE
def test_a_failure_while_copying_into_sqlite_leaves_no_schema_behind(
    platform: Platform, admin: CliRunner, tmp_path: Path
) -> None:
    """A collaborator of a wiki that is gone, written with foreign keys off: the target checks them and stops
    the move. A SQLite file the move created is removed again; one that was there keeps what it held (nothing:
    the schema made inside the transaction went with it)."""
    alice = platform.user("alice")
    make(platform, alice, "notes")
    source = make_url(str(platform.settings.database_url)).database
    assert source
    with sqlite3.connect(source) as conn:  # foreign keys are off unless asked for
        conn.execute(
            "INSERT INTO acls (wiki_slug, grantee_did, role, granted_at) VALUES ('gone', 'did:plc:b', "
            "'viewer', '2026-01-01 00:00:00')"
        )
    (tmp_path / "moved").mkdir()
    made = tmp_path / "moved" / "new.db"
    there = tmp_path / "moved" / "there.db"
    there.touch()
    for target in (made, there):
        assert refusal(move(admin, f"sqlite:///{target}")) == (
            "error: copying acls failed (FOREIGN KEY constraint failed); the target was left as it was"
        )
    assert sorted(p.name for p in (tmp_path / "moved").iterdir()) == ["there.db"]
    assert dump(f"sqlite:///{there}") == {}


def test_the_command_is_installed() -> None:
    proc = subprocess.run(
        [str(installed("wikibot-admin")), "db", "move", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--to" in proc.stdout
