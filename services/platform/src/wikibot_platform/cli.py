"""``wikibot-admin``: operator commands, run inside the platform container
(``docker compose exec platform wikibot-admin --help``)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.orm import Session

from wikibot_shared.backup import create_backup, restore_backup
from wikibot_shared.config import settings_or_exit
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.dbmove import BATCH, MoveReport, move_database
from wikibot_shared.errors import WikibotError
from wikibot_shared.keys import KeyStore
from wikibot_shared.logs import setup_logging
from wikibot_shared.models import PaymentStatus
from wikibot_shared.progress import progress
from wikibot_shared.queue import redis_client
from wikibot_shared.tiers import MB
from wikibot_shared.verify.decisions import watch_auth_changes

from .auth import loginlink
from .config import PlatformSettings
from .services import admin

app = typer.Typer(help="Wikibot administration.", no_args_is_help=True, add_completion=False)
T = TypeVar("T")


@app.callback()
def main() -> None:
    """Wikibot administration (run inside the platform container)."""


def _settings() -> PlatformSettings:
    settings = settings_or_exit(PlatformSettings)
    setup_logging(settings.log_format, settings.log_level, service="admin", stream=sys.stderr)
    # what the operator changes (a token revoked, a wiki lapsed) ends every service's kept decisions at once
    watch_auth_changes(redis_client(settings.redis_url))
    return settings


@contextmanager
def _db(settings: PlatformSettings) -> Iterator[Session]:
    assert settings.database_url
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as db:
            yield db
    finally:
        engine.dispose()


def _run(fn: Callable[[], T]) -> T:
    """Domain errors become one line on stderr and exit status 1."""
    try:
        return fn()
    except WikibotError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command("rotate-keys")
def rotate_keys(kind: str = typer.Option("signing", help="signing or client")) -> None:
    """Make a new signing key current; the old public key stays in the JWKS until its tokens expire."""
    settings = settings_or_exit(PlatformSettings)
    stored = KeyStore(settings.keys_dir).rotate(kind)
    typer.echo(f"new {kind} key {stored.kid}")


@app.command("create-user")
def create_user(
    did: str = typer.Option(..., help="did:plc:… or did:web:…"),
    handle: str = typer.Option(..., help="alice.bsky.social"),
    username: str = typer.Option(..., help="URL-safe, unique"),
    tier: str = typer.Option("free", help="a tier from TIERS_JSON"),
) -> None:
    """Create a user (before they ever sign in), e.g. to hand them a login link."""
    settings = _settings()
    if tier not in settings.tiers:
        typer.echo(f"error: unknown tier {tier!r}; known: {', '.join(settings.tiers)}", err=True)
        raise typer.Exit(1)
    with _db(settings) as db:
        user = _run(lambda: admin.create_user(db, did=did, handle=handle, username=username, tier=tier))
        typer.echo(f"created {user.username} ({user.did}, @{user.handle}, {user.tier})")


@app.command("login-link")
def login_link(
    username: str = typer.Argument(..., help="username, handle or DID"),
    ttl: int = typer.Option(0, help="seconds the link lives (default PLATFORM_LOGIN_LINK_TTL, 600)"),
    return_to: str = typer.Option("", help="where to land after sign-in (a URL on this platform or a wiki)"),
) -> None:
    """Print a one-time, short-lived sign-in URL for an existing user."""
    settings = _settings()
    lifetime = ttl or settings.login_link_ttl
    if not 30 <= lifetime <= 24 * 3600:
        typer.echo("error: --ttl must be 30 to 86400 seconds", err=True)
        raise typer.Exit(1)
    with _db(settings) as db:
        user = _run(lambda: admin.get_user(db, username))
        token = loginlink.mint(redis_client(settings.redis_url), did=user.did, ttl=lifetime)
    query = f"token={token}"
    if return_to:
        from urllib.parse import quote

        query += f"&return_to={quote(return_to, safe='')}"
    typer.echo(f"{settings.platform_url}{loginlink.PATH}?{query}")


@app.command("users")
def users(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """List users with their tier and how many wikis they own."""
    settings = _settings()
    with _db(settings) as db:
        rows = admin.list_users(db)
    data = [
        {
            "username": u.username,
            "handle": u.handle,
            "did": u.did,
            "tier": u.tier,
            "wikis": n,
            "created_at": u.created_at,
            "last_login_at": u.last_login_at,
        }
        for u, n in rows
    ]
    if as_json:
        _print_json(data)
        return
    for d in data:
        typer.echo(
            f"{d['username'] or '-':<24} @{d['handle'] or '-':<32} {d['tier']:<10} {d['wikis']:>3} wikis  {d['did']}"
        )


@app.command("wikis")
def wikis(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """List wikis with owner, visibility, tier and payment status."""
    settings = _settings()
    with _db(settings) as db:
        rows = admin.list_wikis(db)
    data = [
        {
            "slug": w.slug,
            "owner": owner or w.owner_did,
            "is_public": w.is_public,
            "tier": w.tier,
            "payment_status": w.payment_status,
            "pages": w.page_count,
            "bytes": w.bytes,
        }
        for w, owner in rows
    ]
    if as_json:
        _print_json(data)
        return
    for d in data:
        vis = "public" if d["is_public"] else "private"
        typer.echo(f"{d['slug']:<32} {d['owner']:<24} {vis:<8} {d['tier']:<10} {d['payment_status']}")


@app.command("set-tier")
def set_tier(
    target: str = typer.Argument(..., help="a user (username, handle or DID), or a wiki with --wiki"),
    tier: str = typer.Argument(..., help="a tier from TIERS_JSON, e.g. free or premium"),
    wiki: bool = typer.Option(False, "--wiki", help="TARGET is a wiki: set only that wiki's tier"),
) -> None:
    """Set a user's tier (and every wiki they own), or one wiki's."""
    settings = _settings()
    with _db(settings) as db:
        if wiki:
            found = _run(lambda: admin.set_wiki_tier(db, settings, target, tier))
            typer.echo(f"wiki {found.slug} is now {tier}")
            return
        user, slugs = _run(lambda: admin.set_user_tier(db, settings, target, tier))
        typer.echo(
            f"{user.username or user.did} is now {tier} ({len(slugs)} wikis: {', '.join(slugs) or '-'})"
        )


@app.command("lapse")
def lapse(slug: str) -> None:
    """Mark a wiki's payment as lapsed: read-only everywhere until restored."""
    settings = _settings()
    with _db(settings) as db:
        _run(lambda: admin.set_payment_status(db, slug, PaymentStatus.LAPSED))
    typer.echo(f"{slug} is lapsed (read-only)")


@app.command("restore")
def restore(slug: str) -> None:
    """Restore a lapsed wiki to active (writable)."""
    settings = _settings()
    with _db(settings) as db:
        _run(lambda: admin.set_payment_status(db, slug, PaymentStatus.ACTIVE))
    typer.echo(f"{slug} is active")


@app.command("usage")
def usage(
    slug: str = typer.Argument("", help="one wiki (default: all)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Measure pages and bytes of each wiki's repository against its tier's limits."""
    settings = _settings()
    tiers = settings.tiers
    with _db(settings) as db:
        rows = _run(lambda: admin.usage(db, settings, slug or None))
    data: list[dict[str, Any]] = []
    for r in rows:
        tier = tiers.get(r.tier) or tiers["free"]
        data.append(
            {
                "slug": r.slug,
                "owner": r.owner,
                "tier": r.tier,
                "payment_status": r.payment_status,
                "pages": r.usage.pages,
                "pages_limit": tier.pages_per_wiki,
                "bytes": r.usage.bytes,
                "bytes_limit": tier.bytes_per_wiki,
            }
        )
    if as_json:
        _print_json(data)
        return
    for d in data:
        typer.echo(
            f"{d['slug']:<32} {d['pages']:>6}/{d['pages_limit']} pages  "
            f"{d['bytes'] / MB:>8.2f}/{d['bytes_limit'] // MB} MB  {d['tier']} {d['payment_status']}"
        )


backup_app = typer.Typer(
    help="Back up everything to one archive, or restore a fresh volume from one.", no_args_is_help=True
)
app.add_typer(backup_app, name="backup")

SECRETS_WARNING = (
    "warning: the archive holds the platform's private keys and the at-rest encryption key; "
    "store it like a secret."
)


STREAM = "-"  # the archive on stdout (create) or stdin (restore): no copy on the volume, no file permissions


@contextmanager
def _private_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="wikibot-backup-") as tmp:  # mode 0700
        yield Path(tmp)


@backup_app.command("create")
def backup_create(
    path: Annotated[
        str, typer.Argument(help="archive to write, e.g. /backup/wikibot.tar.gz, or - for stdout")
    ],
) -> None:
    """Write the database, every wiki's repository (git bundle) and the keys to one archive (mode 0600).

    With ``-`` the archive goes to stdout and the report to stderr:
    ``docker compose exec -T platform wikibot-admin backup create - > wikibot.tar.gz``.
    Progress goes to stderr either way."""
    settings = _settings()
    streaming = path == STREAM
    with _private_dir() as tmp:
        archive = tmp / "wikibot.tar.gz" if streaming else Path(path)
        with progress("backup", "steps") as show:
            report = _run(lambda: create_backup(settings, archive, progress=show))
        if streaming:
            with archive.open("rb") as source:
                shutil.copyfileobj(source, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    typer.echo(  # with the archive on stdout, the report goes to stderr
        f"backed up {len(report.wikis)} wikis and the {report.database} database to "
        f"{'stdout' if streaming else path} ({report.bytes // 1024} KiB)",
        err=streaming,
    )
    typer.echo(SECRETS_WARNING, err=True)


@backup_app.command("restore")
def backup_restore(
    path: Annotated[str, typer.Argument(help="archive written by `backup create`, or - for stdin")],
    force: Annotated[
        bool, typer.Option("--force", help="restore over a volume that already holds data")
    ] = False,
) -> None:
    """Bring a fresh data volume (and database) back from an archive. Stop the other services first.

    With ``-`` the archive is read from stdin, so it need not be readable by the container's user:
    ``docker compose run --rm -T migrate wikibot-admin backup restore - < wikibot.tar.gz``.
    Search indexes are rebuilt by the embedder from the restored commits. Progress goes to stderr."""
    settings = _settings()
    streaming = path == STREAM
    if streaming and sys.stdin.isatty():
        typer.echo(
            "error: - reads the archive from stdin; redirect it: ... restore - < wikibot.tar.gz", err=True
        )
        raise typer.Exit(1)
    if not streaming and not (Path(path).is_file() and os.access(path, os.R_OK)):
        typer.echo(
            f"error: cannot read {path}: it must be a file readable by this user (uid {os.getuid()}); "
            "or pass - and the archive on stdin",
            err=True,
        )
        raise typer.Exit(1)
    with _private_dir() as tmp:
        archive = tmp / "wikibot.tar.gz" if streaming else Path(path)
        if streaming:
            with archive.open("wb") as target:
                shutil.copyfileobj(sys.stdin.buffer, target)
        with progress("restore", "steps") as show:
            report = _run(lambda: restore_backup(settings, archive, force=force, progress=show))
    source = "stdin" if streaming else path
    typer.echo(f"restored {len(report.wikis)} wikis and the {report.database} database from {source}")


db_app = typer.Typer(help="The database: move it to PostgreSQL (or back to SQLite).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("move")
def db_move(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="the empty database to move to: postgresql+psycopg://USER:PASSWORD@HOST:5432/DB "
            "(or sqlite:////data/wikibot.db)",
            show_default=False,
        ),
    ],
    batch_size: Annotated[int, typer.Option(help="rows per read and per insert", min=1, max=100_000)] = BATCH,
) -> None:
    """Copy every table of the database in use into an empty one (SQLite to PostgreSQL, or back).

    Stop the services that write first (docs/backup.md, "Moving to PostgreSQL"). The target gets the schema of
    this release and every row in one transaction, then every table's row count is checked: if anything fails,
    the target is left as it was. The database in use (DATABASE_URL) is only read. Progress goes to stderr."""
    settings = _settings()
    assert settings.database_url
    source = settings.database_url
    with progress("move", "steps") as show:
        report = _run(lambda: move_database(source, to, batch_size=batch_size, progress=show))
    _print_move(report)


def _print_move(report: MoveReport) -> None:
    total = sum(report.rows.values())
    typer.echo(
        f"moved {len(report.rows)} tables ({total} rows, schema revision {report.revision}) "
        f"from {report.source} to {report.target}; every table's row count checked:"
    )
    for name, rows in report.rows.items():
        typer.echo(f"  {name:<24} {rows:>9} rows")
    password = " (with its password)" if report.target_has_password else ""
    typer.echo(
        f"next: set DATABASE_URL={report.target}{password} for every service and start them again; "
        "the database in use was not changed (docs/backup.md)"
    )
