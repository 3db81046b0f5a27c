from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared import migrate
from wikibot_shared.db import make_engine, transaction
from wikibot_shared.models import Acl, Base, User, Wiki

TABLES = {
    "users",
    "wikis",
    "acls",
    "access_tokens",
    "sessions",
    "oauth_clients",
    "oauth_grants",
    "oauth_refresh_tokens",
    "index_state",
}


def test_upgrade_creates_every_table_and_matches_models(migrated_url: str) -> None:
    assert migrate.current_tables(migrated_url) >= TABLES
    engine = make_engine(migrated_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == [], "models and migrations disagree: write a migration"


def test_upgrade_is_idempotent_and_downgrade_works(migrated_url: str) -> None:
    migrate.upgrade(migrated_url)
    migrate.downgrade(migrated_url, "base")
    assert not TABLES & migrate.current_tables(migrated_url)
    migrate.upgrade(migrated_url)
    assert migrate.current_tables(migrated_url) >= TABLES


def test_times_come_back_aware_utc_and_cascade_deletes(db_factory: sessionmaker[Session]) -> None:
    factory = db_factory
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    with transaction(factory) as db:
        db.add(User(did="did:plc:alice", handle="alice.test", created_at=when))
        db.add(Wiki(slug="notes", owner_did="did:plc:alice", display_name="Notes"))
        db.flush()
        db.add(Acl(wiki_slug="notes", grantee_did="did:plc:bob", role="viewer"))
    with factory() as db:
        user = db.get(User, "did:plc:alice")
        assert user is not None
        assert user.created_at == when
        assert user.created_at.tzinfo is not None
        assert user.created_at.utcoffset() == timedelta(0)
        wiki = db.get(Wiki, "notes")
        assert wiki is not None
        assert not wiki.is_public
        assert not wiki.is_lapsed
    with transaction(factory) as db:
        db.delete(db.get(Wiki, "notes"))
    with factory() as db:
        assert db.execute(select(Acl)).all() == []


def test_naive_datetimes_are_refused(db_factory: sessionmaker[Session]) -> None:
    factory = db_factory
    with pytest.raises(Exception, match="naive datetime"), transaction(factory) as db:
        db.add(User(did="did:plc:x", created_at=datetime(2026, 1, 1)))
    with factory() as db:
        assert db.get(User, "did:plc:x") is None


def test_migrate_run_creates_database_and_keys(tmp_path: Path) -> None:
    from wikibot_shared.config import CommonSettings
    from wikibot_shared.keys import KeyStore

    settings = CommonSettings(data_dir=tmp_path, domain="localhost")
    migrate.run(settings)
    assert migrate.current_tables(str(settings.database_url)) >= TABLES
    assert KeyStore(settings.keys_dir).current().kid
    assert (tmp_path / "wikis").is_dir()
