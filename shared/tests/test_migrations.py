from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared import migrate
from wikibot_shared.db import make_engine, make_session_factory, transaction
from wikibot_shared.models import Acl, Base, OAuthClient, OAuthGrant, User, Wiki

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
    "webhooks",
    "webhook_deliveries",
    "webhook_cursors",
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


def test_grants_from_before_the_connection_steps_keep_working(database_url: str) -> None:
    """0001 → 0002: an existing grant (created when its code was exchanged) has had its token."""
    migrate.downgrade(database_url, "base")
    migrate.upgrade(database_url, "0001")
    engine = make_engine(database_url)
    made = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    # Core inserts: only the columns given and the models' defaults, none of which 0002 adds.
    with engine.begin() as conn:
        conn.execute(insert(User.__table__).values(did="did:plc:m", handle="m.test", created_at=made))
        conn.execute(insert(Wiki.__table__).values(slug="old", owner_did="did:plc:m", display_name="Old"))
        conn.execute(insert(OAuthClient.__table__).values(client_id="c", redirect_uris=[], grant_types=[]))
        conn.execute(
            insert(OAuthGrant.__table__).values(
                id="g",
                client_id="c",
                user_did="did:plc:m",
                wiki_slug="old",
                scopes="wiki:read",
                created_at=made,
            )
        )
    migrate.upgrade(database_url)
    with make_session_factory(engine)() as db:
        grant = db.get(OAuthGrant, "g")
        assert grant is not None
        assert grant.token_issued_at == made == grant.created_at
        assert (grant.first_used_at, grant.last_refreshed_at, grant.last_refusal) == (None, None, None)
    engine.dispose()


def test_members_tokens_and_grants_from_before_path_rules_write_the_whole_wiki(database_url: str) -> None:
    """0002 → 0003: every existing membership, token and grant gets no path rule (NULL, the whole wiki), and the
    decision reads it as the whole wiki."""
    from wikibot_shared import acl
    from wikibot_shared.models import AccessToken
    from wikibot_shared.pathrules import loaded

    migrate.downgrade(database_url, "base")
    migrate.upgrade(database_url, "0002")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(insert(User.__table__).values(did="did:plc:m", handle="m.test"))
        conn.execute(insert(Wiki.__table__).values(slug="old", owner_did="did:plc:m", display_name="Old"))
        conn.execute(insert(Acl.__table__).values(wiki_slug="old", grantee_did="did:plc:e", role="editor"))
        conn.execute(
            insert(AccessToken.__table__).values(
                id="t",
                token_hash="h" * 64,
                wiki_slug="old",
                owner_did="did:plc:m",
                name="n",
                scopes="wiki:write",
            )
        )
        conn.execute(insert(OAuthClient.__table__).values(client_id="c", redirect_uris=[], grant_types=[]))
        conn.execute(
            insert(OAuthGrant.__table__).values(
                id="g", client_id="c", user_did="did:plc:m", wiki_slug="old", scopes="wiki:write"
            )
        )
    migrate.upgrade(database_url)
    with make_session_factory(engine)() as db:
        rows = [db.get(Acl, ("old", "did:plc:e")), db.get(AccessToken, "t"), db.get(OAuthGrant, "g")]
        assert [loaded(row.write_paths) for row in rows if row is not None] == [None, None, None]
        editor = acl.wiki_access(db, "old", "did:plc:e")
        assert editor.write_paths is None
        assert editor.writable
    engine.dispose()


def test_wikis_tokens_and_grants_from_before_proposals_write_directly(database_url: str) -> None:
    """0004 → 0005: existing wikis do not review agents (agents_propose false) and credentials follow the wiki."""
    from wikibot_shared import acl
    from wikibot_shared.models import AccessToken

    migrate.downgrade(database_url, "base")
    migrate.upgrade(database_url, "0004")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(insert(User.__table__).values(did="did:plc:m", handle="m.test"))
        conn.execute(insert(Wiki.__table__).values(slug="old", owner_did="did:plc:m", display_name="Old"))
        conn.execute(
            insert(AccessToken.__table__).values(
                id="t",
                token_hash="h" * 64,
                wiki_slug="old",
                owner_did="did:plc:m",
                name="n",
                scopes="wiki:write",
            )
        )
    migrate.upgrade(database_url)
    with make_session_factory(engine)() as db:
        wiki, token = db.get(Wiki, "old"), db.get(AccessToken, "t")
        assert wiki is not None
        assert token is not None
        assert (wiki.agents_propose, token.review) == (False, None)
        found = acl.wiki_access(db, "old", "did:plc:m")
        assert not acl.proposes(found, "pat", token.review)
        assert acl.proposes(found, "pat", "propose")
        assert not acl.proposes(found, "session", "propose")  # people at the UI never propose
    migrate.downgrade(database_url, "0004")
    engine.dispose()
