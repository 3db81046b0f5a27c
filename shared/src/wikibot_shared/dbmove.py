"""Moving the database to the other kind (``wikibot-admin db move --to URL``; docs/backup.md): every row of
every table, from the database in use into an empty one, SQLite to PostgreSQL or back.

The target gets its schema from the migrations and its rows inside one transaction, so a move that fails at
any point leaves it as it was. The source is read inside one transaction too (one snapshot), table by table in
foreign-key order, in batches. Before the target commits, PostgreSQL's sequences are moved past the copied ids,
each table's row count is checked against the source's, and the target's Alembic revision against the
source's. The source is never written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, event, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from . import migrate
from .db import make_engine
from .errors import WikibotError
from .models import Base
from .progress import Progress, no_progress

BATCH = 1000  # rows per read from the source and per insert into the target
CONNECT_TIMEOUT = 10  # seconds, for a PostgreSQL that does not answer
ALEMBIC_TABLE = "alembic_version"
URL_FORMS = "postgresql+psycopg://USER:PASSWORD@HOST:5432/DB or sqlite:////data/wikibot.db"


class MoveError(WikibotError):
    code = "move_error"


@dataclass(frozen=True)
class MoveReport:
    source: str  # both URLs as shown: without their passwords
    target: str
    target_has_password: bool
    revision: str
    rows: dict[str, int]  # every table's rows, in the order they were copied


def target_url(raw: str) -> URL:
    """``--to`` as a URL Wikibot runs on; ``postgresql://`` means psycopg, the driver Wikibot ships."""
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise MoveError(f"--to is not a database URL; give {URL_FORMS}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
        raise MoveError(f"--to must name PostgreSQL (through psycopg) or SQLite: {URL_FORMS}")
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise MoveError(f"--to must name a SQLite file, not an in-memory database: {URL_FORMS}")
    return url


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _identity(url: URL) -> tuple[str, ...]:
    """What makes two URLs the same database, however they are spelled."""
    if url.get_backend_name() == "sqlite":
        return ("sqlite", os.path.realpath(url.database or ""))
    host = (url.host or "localhost").lower()
    return ("postgresql", host, str(url.port or 5432), url.database or url.username or "")


def _driver_leaves_transactions_to_us(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def _engine(url: URL) -> Engine:
    """An engine whose transactions are real on SQLite too. Left alone, Python's sqlite3 begins one only before
    a write (so the reads of a copy would not share one snapshot) and runs DDL outside any (so a failed move
    would leave the schema behind); SQLAlchemy's recipe for pysqlite hands BEGIN to us."""
    raw = url.render_as_string(hide_password=False)
    if url.get_backend_name() != "sqlite":
        connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT}
        return make_engine(raw, connect_args=connect_args)
    engine = make_engine(raw)
    event.listen(engine, "connect", _driver_leaves_transactions_to_us)
    event.listen(engine, "begin", _begin)
    return engine


def _reason(exc: BaseException) -> str:
    """The driver's own words, first line only (psycopg adds hints on further lines)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0].strip().rstrip(".") if lines else type(orig).__name__


def _revision(connection: Connection) -> str | None:
    """Alembic's revision of the database, read directly (Alembic's own reader logs each time it looks)."""
    if not inspect(connection).has_table(ALEMBIC_TABLE):
        return None
    heads = connection.execute(text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalars()  # noqa: S608
    return " ".join(sorted(heads)) or None


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Only warnings from ``logger_name`` for a while: the move's progress already says what it does."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _count(connection: Connection, table: Table) -> int:
    return int(connection.scalar(select(func.count()).select_from(table)) or 0)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """The source, read inside one transaction: every table as of one moment, while the services may write."""
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise MoveError(f"cannot read the database in use ({_reason(exc)}); check DATABASE_URL") from None
    with connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with connection.begin():
            yield connection


@contextmanager
def _writing(engine: Engine, where: str) -> Iterator[Connection]:
    """The target, written inside one transaction: all of the move, or nothing of it."""
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise MoveError(
            f"cannot reach the target database {where} ({_reason(exc)}); "
            "check --to, and that the server runs and the database exists"
        ) from None
    with connection, connection.begin():
        yield connection


def _check_source(source: Connection) -> str:
    revision = _revision(source)
    if revision is None:
        raise MoveError("the database in use has no schema yet: there is nothing to move")
    head = migrate.head()
    if revision != head:
        raise MoveError(
            f"the database in use is at schema revision {revision} and this release's migrations end at "
            f"{head}: migrate it first (wikibot-migrate), then move it"
        )
    return revision


def _needs_schema(target: Connection, revision: str, where: str) -> bool:
    """Whether the target is blank (no tables) and needs the schema; an empty database that this release's
    migrations made (a Kubernetes migrate Job ran against it) is taken as it is. Anything else is refused."""
    names = set(inspect(target).get_table_names())
    if not names:
        return True
    ours = set(Base.metadata.tables)
    foreign = sorted(names - ours - {ALEMBIC_TABLE})
    if foreign:
        raise MoveError(
            f"the target database {where} is not empty (it holds the tables {', '.join(foreign[:5])}); "
            "give an empty database"
        )
    at = _revision(target)
    if at != revision:
        raise MoveError(
            f"the target database {where} is at schema revision {at or 'none'} and the database in use at "
            f"{revision}; give an empty database"
        )
    missing = sorted(ours - names)
    if missing:
        raise MoveError(
            f"the target database {where} lacks the tables {', '.join(missing[:5])} of revision {at}; "
            "give an empty database"
        )
    filled = [table.name for table in Base.metadata.sorted_tables if _count(target, table)]
    if filled:
        raise MoveError(
            f"the target database {where} is not empty ({', '.join(filled[:5])} hold rows); "
            "give an empty database"
        )
    return False


def _copy(source: Connection, target: Connection, table: Table, batch_size: int) -> int:
    ordered = select(table).order_by(*table.primary_key.columns)
    result = source.execution_options(yield_per=batch_size).execute(ordered)
    copied = 0
    for rows in result.partitions():
        target.execute(table.insert(), [dict(row._mapping) for row in rows])
        copied += len(rows)
    return copied


def _restart_sequences(target: Connection) -> None:
    """PostgreSQL hands out ids from a sequence that explicit ids do not move: start each after the largest copied
    id, so the next row gets a fresh one. (SQLite takes the largest rowid plus one by itself.)"""
    for table in Base.metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        target.execute(select(func.setval(sequence, func.coalesce(func.max(column), 0) + 1, False)))


def _verify(source: Connection, target: Connection, rows: dict[str, int], revision: str) -> None:
    for table in Base.metadata.sorted_tables:
        want, got = _count(source, table), _count(target, table)
        if not want == got == rows[table.name]:
            raise MoveError(
                f"{table.name} holds {want} rows in the database in use but {got} in the target after copying "
                f"{rows[table.name]}; the target was left as it was"
            )
    at = _revision(target)
    if at != revision:
        raise MoveError(f"the target ended at schema revision {at}, not {revision}; it was left as it was")


def _move(
    source_engine: Engine, target_engine: Engine, where: str, batch_size: int, progress: Progress
) -> tuple[str, dict[str, int]]:
    tables = Base.metadata.sorted_tables
    steps = len(tables) + 1  # each table, then the checks
    rows: dict[str, int] = {}
    progress(0, steps, "reading the database in use")
    try:
        with _snapshot(source_engine) as source:
            revision = _check_source(source)
            with _writing(target_engine, where) as target:
                if _needs_schema(target, revision, where):
                    progress(0, steps, "creating the schema")
                    with _quiet("alembic"):
                        migrate.upgrade_in(target)
                for done, table in enumerate(tables):
                    progress(done, steps, f"copying {table.name}")
                    try:
                        rows[table.name] = _copy(source, target, table, batch_size)
                    except SQLAlchemyError as exc:
                        raise MoveError(
                            f"copying {table.name} failed ({_reason(exc)}); the target was left as it was"
                        ) from None
                progress(len(tables), steps, "checking row counts")
                if target.dialect.name == "postgresql":
                    _restart_sequences(target)
                _verify(source, target, rows, revision)
    except SQLAlchemyError as exc:
        raise MoveError(f"the move failed ({_reason(exc)}); the target was left as it was") from None
    progress(steps, steps)
    return revision, rows


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def move_database(
    source_url: str, to: str, *, batch_size: int = BATCH, progress: Progress = no_progress
) -> MoveReport:
    """Copy every table of the database at ``source_url`` into the empty database ``to``.

    ``progress`` counts steps: each table copied, then the checks. Refused (``MoveError``, nothing
    written) when ``to`` is the source, cannot be reached, holds anything, or is on another schema revision;
    a failure later rolls the target back (a SQLite file this call created is removed again)."""
    source, target = make_url(source_url), target_url(to)
    where = shown(target)
    if _identity(source) == _identity(target):
        raise MoveError(f"the target {where} is the database in use (DATABASE_URL); name another database")
    created: Path | None = None
    if target.get_backend_name() == "sqlite":
        path = Path(target.database or "")
        if not path.parent.is_dir():
            raise MoveError(
                f"cannot reach the target database {where}: the folder {path.parent} does not exist"
            )
        created = None if path.exists() else path
    source_engine, target_engine = _engine(source), _engine(target)
    try:
        revision, rows = _move(source_engine, target_engine, where, batch_size, progress)
    except BaseException:
        target_engine.dispose()
        if created is not None:
            _remove_sqlite(created)
        raise
    finally:
        source_engine.dispose()
        target_engine.dispose()
    return MoveReport(shown(source), where, target.password is not None, revision, rows)
