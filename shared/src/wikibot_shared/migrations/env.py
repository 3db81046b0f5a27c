"""Alembic environment: the URL comes from the caller (``migrate.upgrade``), never from an ini file; or the
caller's open connection (``migrate.upgrade_in``), whose transaction the migrations then run inside."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from wikibot_shared.db import make_engine
from wikibot_shared.models import Base

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds tables, so one migration serves both.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():  # a no-op inside the caller's transaction: it commits or rolls back
        context.run_migrations()


given = config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "migrate.upgrade sets sqlalchemy.url"
    engine = make_engine(url)
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()
