"""A real deployment in a temporary folder: migrated database, keys, git repositories, Redis, and the service's
WSGI app (edge → tenant middleware → upstream Otterwiki), driven like a browser with werkzeug's test client."""

from __future__ import annotations

import io
import re
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import Client, TestResponse

from wikibot_otterwiki.config import OtterwikiSettings
from wikibot_otterwiki.main import create_app
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.keys import KeyStore
from wikibot_shared.models import Acl, User, UserSession, Wiki
from wikibot_shared.queue import STREAM
from wikibot_shared.storage import Author, init_repo, wiki_paths
from wikibot_shared.tokens import SESSION_COOKIE, issue_session
from wikibot_shared.verify import LocalKeys

DOMAIN = "localhost"
PORT = 8080
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One browser: its own cookie jar (the wiki host's session cookie, Otterwiki's own cookie)."""

    def __init__(self, world: World, token: str | None = None) -> None:
        self.world = world
        self.client = Client(world.app)
        self.token = token

    def _base(self, slug: str) -> str:
        return f"http://{slug}.{DOMAIN}:{PORT}"

    def _cookie(self, slug: str) -> None:
        if self.token is not None:
            self.client.set_cookie(SESSION_COOKIE, self.token, domain=f"{slug}.{DOMAIN}")

    def get(self, slug: str, path: str, **kwargs: Any) -> TestResponse:
        self._cookie(slug)
        kwargs.setdefault("headers", {}).setdefault("Accept", "text/html")
        return self.client.get(path, base_url=self._base(slug), buffered=True, **kwargs)

    def csrf(self, slug: str, path: str = "/-/index") -> str:
        page = self.get(slug, path)
        found = CSRF.search(page.text)
        assert found, (page.status_code, page.text[:300])
        return found.group(1)

    def post(
        self, slug: str, path: str, data: dict[str, Any], *, csrf_from: str = "/-/index", **kw: Any
    ) -> TestResponse:
        data = {"csrf_token": self.csrf(slug, csrf_from), **data}
        self._cookie(slug)
        kw.setdefault("headers", {}).setdefault("Accept", "text/html")
        return self.client.post(path, base_url=self._base(slug), data=data, buffered=True, **kw)

    def upload(self, slug: str, page: str, name: str, data: bytes, message: str = "") -> TestResponse:
        fields = {"file": (io.BytesIO(data), name), "message": message}
        attachments = f"/{page}/attachments"
        return self.post(slug, attachments, fields, csrf_from=attachments, content_type="multipart/form-data")

    def save(self, slug: str, page: str, content: str, message: str = "edit") -> TestResponse:
        return self.post(
            slug, f"/{page}/save", {"content": content, "commit": message}, csrf_from=f"/{page}?edit"
        )


@dataclass
class World:
    settings: OtterwikiSettings
    keys: KeyStore
    db: sessionmaker[Session]
    redis: redis.Redis
    app: Any
    sessions: dict[str, str] = field(default_factory=dict)

    # -- platform-side setup (what the platform does) -----------------------------------------------------
    def user(self, name: str) -> str:
        did = f"did:plc:{name}"
        with self.db() as db:
            if db.get(User, did) is None:
                db.add(User(did=did, handle=f"{name}.test", username=name))
                db.commit()
        return did

    def wiki(
        self,
        slug: str,
        owner: str,
        *,
        public: bool = False,
        name: str | None = None,
        files: dict[str, str] | None = None,
        tier: str = "free",
    ) -> None:
        did = self.user(owner)
        with self.db() as db:
            db.add(
                Wiki(slug=slug, owner_did=did, display_name=name or slug.title(), is_public=public, tier=tier)
            )
            db.commit()
        files = files or {"Home.md": f"# Home\n\nWelcome to {slug}.\n"}
        init_repo(self.settings.wikis_dir, slug, files, Author.for_did(did, f"{owner}.test"), "Create wiki")

    def grant(self, slug: str, name: str, role: str) -> None:
        did = self.user(name)
        with self.db() as db:
            db.add(Acl(wiki_slug=slug, grantee_did=did, role=role))
            db.commit()

    def update_wiki(self, slug: str, **values: Any) -> None:
        with self.db() as db:
            wiki = db.get(Wiki, slug)
            assert wiki is not None
            for key, value in values.items():
                setattr(wiki, key, value)
            db.commit()

    def token(self, name: str, ttl: int = 3600) -> str:
        did = self.user(name)
        sid = uuid.uuid4().hex
        with self.db() as db:
            db.add(UserSession(id=sid, did=did))
            db.commit()
        self.sessions[name] = sid
        key = self.keys.current().key
        return issue_session(
            key,
            issuer=self.settings.issuer,
            audience=self.settings.session_audience,
            did=did,
            sid=sid,
            ttl=ttl,
        )

    def browser(self, name: str | None = None) -> Browser:
        return Browser(self, self.token(name) if name else None)

    # -- inspection ---------------------------------------------------------------------------------------
    def repo(self, slug: str) -> Path:
        return wiki_paths(self.settings.wikis_dir, slug).repo

    def git(self, slug: str, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.repo(slug)), *args], capture_output=True, text=True, check=True
        ).stdout

    def log(self, slug: str) -> list[str]:
        return self.git(slug, "log", "--format=%an <%ae>|%cn <%ce>|%s").splitlines()

    def notices(self) -> list[dict[str, str]]:
        return [fields for _id, fields in self.redis.xrange(STREAM)]

    def row(self, slug: str) -> Wiki:
        with self.db() as db:
            wiki = db.get(Wiki, slug)
            assert wiki is not None
            return wiki

    def middleware(self) -> Any:
        return self.app.ui

    def states(self) -> Any:
        return self.app.services.states

    def close(self) -> None:
        self.states().clear()
        self.app.engine.dispose()
        self.app.redis.close()
        self.db.kw["bind"].dispose()
        self.redis.close()


def make_world(tmp_path: Path, database_url: str, redis_url: str, **overrides: Any) -> World:
    settings = OtterwikiSettings(
        data_dir=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        domain=DOMAIN,
        public_port=PORT,
        **overrides,
    )
    keys = KeyStore(settings.keys_dir)
    keys.ensure()
    app = create_app(settings, keys=LocalKeys(keys))
    db = make_session_factory(make_engine(database_url))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    return World(settings=settings, keys=keys, db=db, redis=client, app=app)
