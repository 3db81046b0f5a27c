"""A real little world for the mcp service: migrated SQLite, real Redis, real git repositories, users with
roles, personal access tokens, and the wiki core over them."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from wikibot_mcp.config import McpSettings
from wikibot_mcp.wiki import Actor, SearchClient, WikiCore
from wikibot_shared import acl, migrate
from wikibot_shared.db import make_engine, make_session_factory, transaction
from wikibot_shared.errors import Forbidden
from wikibot_shared.models import AccessToken, Acl, User, Wiki
from wikibot_shared.storage import Author, init_repo
from wikibot_shared.tiers import load_tiers
from wikibot_shared.tokens import PAT_PREFIX, new_opaque

ALICE, BOB, CAROL, DAVE = "did:plc:alice", "did:plc:bob", "did:plc:carol", "did:plc:dave"
HANDLES = {ALICE: "alice.test", BOB: "bob.test", CAROL: "carol.test", DAVE: "dave.test"}
HOME = "# Home\n\nWelcome. See [[Setup Guide]].\n"


def pat_row(
    did: str, slug: str, scopes: str = "wiki:read wiki:write", paths: list[str] | None = None
) -> tuple[str, AccessToken]:
    """A new personal access token of ``did`` bound to ``slug``, and its row (to add in the caller's session)."""
    token, digest = new_opaque(PAT_PREFIX)
    row = AccessToken(
        id=secrets.token_hex(8),
        token_hash=digest,
        wiki_slug=slug,
        owner_did=did,
        name="test",
        scopes=scopes,
        created_at=datetime.now(UTC),
        write_paths=paths,
    )
    return token, row


@dataclass
class World:
    settings: McpSettings
    db: sessionmaker[Session]
    redis: redis.Redis
    core: WikiCore
    pats: dict[tuple[str, str, str, tuple[str, ...] | None], str] = field(default_factory=dict)

    def add_wiki(
        self,
        slug: str,
        owner: str = ALICE,
        *,
        public: bool = False,
        tier: str = "free",
        files: Mapping[str, str] | None = None,
    ) -> None:
        """A wiki whose first commit holds a Home page and ``files`` (text, by path)."""
        with transaction(self.db) as db:
            db.add(Wiki(slug=slug, owner_did=owner, display_name=slug.title(), is_public=public, tier=tier))
        init_repo(
            self.settings.wikis_dir,
            slug,
            {"Home.md": HOME, **(files or {})},
            Author.for_did(owner, HANDLES[owner]),
            "Create wiki",
        )

    def grant(self, slug: str, did: str, role: str, paths: list[str] | None = None) -> None:
        """``did`` becomes ``role`` on ``slug``; an editor with ``paths`` writes only under those folders."""
        with transaction(self.db) as db:
            db.add(Acl(wiki_slug=slug, grantee_did=did, role=role, granted_by=ALICE, write_paths=paths))

    def set_wiki(self, slug: str, **values: object) -> None:
        with transaction(self.db) as db:
            db.execute(update(Wiki).where(Wiki.slug == slug).values(**values))

    def pat(
        self,
        did: str,
        slug: str = "notes",
        scopes: str = "wiki:read wiki:write",
        paths: list[str] | None = None,
    ) -> str:
        """A token of ``did`` on ``slug`` (one per set of arguments); with ``paths`` it writes only there."""
        key = (did, slug, scopes, tuple(paths) if paths is not None else None)
        if key not in self.pats:
            token, row = pat_row(did, slug, scopes, paths)
            with transaction(self.db) as db:
                db.add(row)
            self.pats[key] = token
        return self.pats[key]

    def actor(
        self,
        did: str = ALICE,
        slug: str = "notes",
        *,
        scopes: frozenset[str] | None = None,
        source: str = "mcp",
    ) -> Actor:
        """An actor as a front door hands it to the core: decided once by ``acl.check`` (what ``Verifier.authorize``
        does for a request), the refusal kept for the core to raise if it writes."""
        with self.db() as db:
            access = acl.wiki_access(db, slug, did)
        author = Author.for_did(did, HANDLES.get(did))
        try:
            acl.check(access, acl.Action.WRITE, scopes)
        except Forbidden as refusal:
            return Actor(access, author, source, authorized=acl.Action.READ, refusal=refusal)
        return Actor(access, author, source, authorized=acl.Action.WRITE)

    def repo(self, slug: str = "notes") -> Path:
        return self.settings.wikis_dir / slug / "repo"


def make_world(tmp_path: Path, redis_url: str, database_url: str | None = None, **overrides: object) -> World:
    overrides.setdefault(
        "tiers_json",
        '{"tiny": {"pages_per_wiki": 100, "bytes_per_wiki": 10000000, "attachment_bytes": 1000, "git_push": false}}',
    )
    settings = McpSettings(
        data_dir=tmp_path,
        redis_url=redis_url,
        database_url=database_url,
        domain="localhost",
        public_port=8080,
        **overrides,  # type: ignore[arg-type]
    )
    assert settings.database_url
    migrate.upgrade(settings.database_url)
    db = make_session_factory(make_engine(settings.database_url))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    core = WikiCore(
        wikis_dir=settings.wikis_dir,
        tiers=load_tiers(settings.tiers_json),
        db=db,
        redis_client=client,
        search=SearchClient(settings.embedder_internal_url, timeout=5),
        wiki_url=settings.wiki_url,
        max_page_bytes=settings.max_page_bytes,
        freshness_wait=settings.search_freshness_wait,
        freshness_waiters=settings.search_freshness_waiters,
    )
    world = World(settings, db, client, core)
    with transaction(db) as session:
        for did, handle in HANDLES.items():
            session.add(User(did=did, handle=handle, username=handle.split(".")[0]))
    world.add_wiki("notes")
    world.grant("notes", BOB, "editor")
    world.grant("notes", CAROL, "viewer")
    world.add_wiki("other", owner=DAVE)
    return world


def git(world: World, *args: str) -> str:
    """``git`` in the wiki's repository (``notes``), its output."""
    return subprocess.run(
        ["git", "-C", str(world.repo()), *args], capture_output=True, text=True, check=True
    ).stdout
