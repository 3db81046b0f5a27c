"""The one-shot migrate step: Alembic ``upgrade head``, then the keys on the data volume.

Run once per deployment (compose's ``migrate`` service, a Kubernetes Job), never from every worker:
workers racing on migrations is a known failure.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from .config import CommonSettings, settings_or_exit
from .db import make_engine
from .keys import KeyStore
from .logs import setup_logging

log = logging.getLogger("wikibot.migrate")

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def upgrade_in(connection: Connection, revision: str = "head") -> None:
    """Upgrade through ``connection``, inside the transaction it has open: the caller commits or rolls back,
    so on PostgreSQL (and on SQLite with real transactions, ``dbmove``) a failure leaves no schema behind."""
    cfg = alembic_config(connection.engine.url.render_as_string(hide_password=False))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def head() -> str:
    """The revision the migrations shipped with this code end at."""
    found = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert found, "the migrations have one head"
    return found


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def run(settings: CommonSettings) -> None:
    assert settings.database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.wikis_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    log.info("database at head")
    store = KeyStore(settings.keys_dir)
    created = store.ensure()
    log.info("keys ready", extra={"keys_created": created, "kids": [k.kid for k in store.public_keys()]})


def main() -> None:
    settings = settings_or_exit(CommonSettings)
    setup_logging(settings.log_format, settings.log_level, service="migrate")
    run(settings)
