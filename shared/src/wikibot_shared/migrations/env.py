"""Alembic environment: the URL comes from the caller (``migrate.upgrade``), never from an ini file."""

from __future__ import annotations

from alembic import context

from wikibot_shared.db import make_engine
from wikibot_shared.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "migrate.upgrade sets sqlalchemy.url"

engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds tables, so one migration serves both.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
