"""The embedder's app factory (internal HTTP API; not routed by Caddy)."""

from __future__ import annotations

from fastapi import FastAPI

from wikibot_shared.config import settings_or_exit
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.queue import redis_client
from wikibot_shared.web import RequestContext

from . import health
from .config import EmbedderSettings
from .errors import install_error_handlers


def create_app(settings: EmbedderSettings | None = None) -> FastAPI:
    settings = settings or settings_or_exit(EmbedderSettings)
    assert settings.database_url
    app = FastAPI(title="Wikibot embedder", version="0.1.0")
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.db = make_session_factory(app.state.engine)
    app.state.redis = redis_client(settings.redis_url)
    install_error_handlers(app)
    app.include_router(health.router)
    app.add_middleware(RequestContext, service="embedder")
    return app
