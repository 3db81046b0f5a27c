"""The embedder's app factory: internal HTTP API plus the index worker thread (not routed by Caddy)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from wikibot_shared.asgi import health_router, install_error_handlers
from wikibot_shared.config import settings_or_exit
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.metrics import RequestMetrics
from wikibot_shared.queue import redis_client
from wikibot_shared.web import RequestContext

from . import api, health
from .cache import IndexCache
from .config import EmbedderSettings
from .encoder import shared_encoder
from .indexer import Indexer
from .service import SearchService
from .worker import Worker


def create_app(settings: EmbedderSettings | None = None) -> FastAPI:
    settings = settings or settings_or_exit(EmbedderSettings)
    assert settings.database_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if settings.worker:
            worker = Worker(
                app.state.indexer,
                app.state.redis,
                group=settings.consumer_group,
                consumer=settings.consumer_name,
                sweep_seconds=settings.sweep_seconds,
                claim_idle_ms=settings.claim_idle_ms,
                sync_interval_s=settings.sync_interval_s,
            )
            app.state.worker = worker
            thread = threading.Thread(target=worker.run, args=(stop,), name="index-worker", daemon=True)
            thread.start()
        yield
        stop.set()
        if thread is not None:
            thread.join(timeout=30)

    app = FastAPI(title="Wikibot embedder", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.db = make_session_factory(app.state.engine)
    app.state.redis = redis_client(settings.redis_url)
    app.state.worker = None
    encoder = shared_encoder(settings.max_tokens, settings.threads)
    app.state.indexer = Indexer(settings, encoder, app.state.db, app.state.redis)
    app.state.cache = IndexCache(
        settings.wikis_dir, max_wikis=settings.cache_wikis, max_bytes=settings.cache_bytes
    )
    app.state.search = SearchService(app.state.indexer, app.state.cache)
    # The internal API's contract answers malformed input with 400 (docs/search.md).
    install_error_handlers(app, service="embedder", validation_status=400)
    app.include_router(health_router("embedder", details=health.details))
    app.include_router(api.router)
    app.add_middleware(RequestMetrics, service="embedder")
    app.add_middleware(RequestContext, service="embedder")
    return app
