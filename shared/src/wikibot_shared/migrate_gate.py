"""Gates around the one-shot migrate step, for orchestrators that start everything at once (Kubernetes).

``wikibot-migrate-wait`` runs before the app in every pod (an initContainer): it returns once the database
is at the migrations' head — and, with ``--keys``, once the platform's keys are readable — so no app process
starts against an old schema, and none migrates by itself (workers racing on migrations is a known failure).

``wikibot-migrate-db`` is the migrate step for a deployment whose keys come from a read-only Secret: Alembic
``upgrade head``, then it checks the keys instead of creating them (``wikibot-migrate`` creates them).

Both read only; neither prints the database URL (it may hold a password).
"""

from __future__ import annotations

import argparse
import binascii
import logging
import sys
import time
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from .config import CommonSettings, settings_or_exit
from .db import make_engine
from .errors import ConfigError
from .keys import KeyStore
from .logs import setup_logging
from .migrate import alembic_config, upgrade

log = logging.getLogger("wikibot.migrate")

SECRET_KEY_BYTES = 32


def _sqlite_file(url: str) -> Path | None:
    path = url.split("///", 1)[-1] if url.startswith("sqlite") else ""
    return Path(path) if path and path != ":memory:" else None


def revisions(url: str) -> tuple[set[str], set[str]]:
    """(revisions the database is at, heads of the migrations this image ships)."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    sqlite = _sqlite_file(url)
    if sqlite is not None and not sqlite.exists():
        return set(), heads  # never create the file: that is the migrate step's job
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    return current, heads


def missing_keys(keys_dir: Path) -> list[str]:
    """What the platform would fail on: each missing or unreadable key, as one line."""
    store = KeyStore(keys_dir)
    problems = []
    for kind in ("signing", "client"):
        try:
            store.current(kind)
        except ConfigError as exc:
            problems.append(exc.message)
    try:
        if len(store.secret()) != SECRET_KEY_BYTES:
            problems.append(f"secret.key in {keys_dir} must hold {SECRET_KEY_BYTES} bytes (base64url)")
    except ConfigError as exc:
        problems.append(exc.message)
    except (binascii.Error, ValueError):
        problems.append(f"secret.key in {keys_dir} is not base64url")
    return problems


def problems(settings: CommonSettings, *, keys: bool = False) -> list[str]:
    """Why the app may not start yet; empty when the database is at head (and the keys are there)."""
    assert settings.database_url
    found: list[str] = []
    try:
        current, heads = revisions(settings.database_url)
    except SQLAlchemyError as exc:
        found.append(f"database unreachable: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    else:
        if current != heads:
            at = ", ".join(sorted(current)) or "no revision"
            found.append(
                f"database at {at}, migrations head is {', '.join(sorted(heads))}: "
                "the migrate step (wikibot-migrate) has not finished"
            )
    if keys:
        found.extend(missing_keys(settings.keys_dir))
    return found


def wait(
    settings: CommonSettings, *, keys: bool = False, timeout: float = 600.0, interval: float = 2.0
) -> list[str]:
    """Poll until nothing is in the way or ``timeout`` passes; return what was still in the way."""
    deadline = time.monotonic() + timeout
    reported = 0.0
    while True:
        found = problems(settings, keys=keys)
        now = time.monotonic()
        if not found or now >= deadline:
            return found
        if now - reported >= 30:
            log.info("waiting for the migrate step", extra={"waiting_for": found})
            reported = now
        time.sleep(min(interval, max(deadline - now, 0.0)))


def _fail(found: list[str]) -> None:
    print(f"not ready: {'; '.join(found)}", file=sys.stderr)
    raise SystemExit(1)


def wait_main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="wikibot-migrate-wait",
        description="Wait until the migrate step has brought the database to head.",
    )
    parser.add_argument(
        "--keys", action="store_true", help="also wait for the platform's keys (platform only)"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after SECONDS (default 600)")
    args = parser.parse_args(argv)
    settings = settings_or_exit(CommonSettings)
    setup_logging(settings.log_format, settings.log_level, service="migrate-wait")
    found = wait(settings, keys=args.keys, timeout=args.timeout)
    if found:
        _fail(found)
    log.info("database at head" + (", keys present" if args.keys else ""))


def db_main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(
        prog="wikibot-migrate-db",
        description="Alembic upgrade head, then check (never create) the keys: for keys from a Secret.",
    ).parse_args(argv)
    settings = settings_or_exit(CommonSettings)
    setup_logging(settings.log_format, settings.log_level, service="migrate")
    assert settings.database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.wikis_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    log.info("database at head")
    found = missing_keys(settings.keys_dir)
    if found:
        _fail(found)
    log.info("keys present", extra={"kids": [k.kid for k in KeyStore(settings.keys_dir).public_keys()]})
