"""The otterwiki service's WSGI application: the edge, the tenant middleware, upstream Otterwiki."""

from __future__ import annotations

import base64
import hashlib
import secrets

from wikibot_shared.config import settings_or_exit
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.keys import create_once
from wikibot_shared.queue import redis_client
from wikibot_shared.tiers import load_tiers
from wikibot_shared.verify import KeyProvider, RemoteJWKS, Verifier

from .boot import otterwiki_app
from .config import OtterwikiSettings
from .edge import Edge
from .middleware import TenantMiddleware
from .services import Services
from .state import WikiStates
from .storage import TenantStorage


def master_secret(settings: OtterwikiSettings) -> bytes:
    """``OTTERWIKI_SECRET_KEY``, or a random key made once on the data volume (shared by workers/replicas)."""
    if settings.secret_key is not None:
        return hashlib.sha256(settings.secret_key.get_secret_value().encode()).digest()
    folder = settings.service_dir
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = create_once(folder / "secret.key", base64.urlsafe_b64encode(secrets.token_bytes(32))).strip()
    if not data:
        raise RuntimeError(f"{folder / 'secret.key'} is empty: remove it and restart")
    return base64.urlsafe_b64decode(data)


def create_app(settings: OtterwikiSettings | None = None, *, keys: KeyProvider | None = None) -> Edge:
    settings = settings or settings_or_exit(OtterwikiSettings)
    assert settings.database_url
    engine = make_engine(settings.database_url)
    db = make_session_factory(engine)
    redis = redis_client(settings.redis_url)
    app = otterwiki_app()
    from otterwiki.models import Preferences
    from otterwiki.server import db as otterwiki_db

    states = WikiStates(
        settings.wikis_dir,
        capacity=settings.cache_wikis,
        storage_factory=TenantStorage,
        preferences_table=lambda: Preferences.__table__,
        metadata=lambda: otterwiki_db.metadata,
        master_secret=master_secret(settings),
        fixed_config={"SESSION_COOKIE_SECURE": settings.cookie_secure},
    )
    services = Services(
        settings=settings,
        db=db,
        redis=redis,
        verifier=Verifier(settings, db, keys or RemoteJWKS(settings.jwks_url)),
        tiers=load_tiers(settings.tiers_json),
        states=states,
    )
    middleware = TenantMiddleware(services, app)
    return Edge(middleware, settings=settings, engine=engine, redis=redis, services=services)
