"""The platform's app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from wikibot_shared.config import settings_or_exit
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.keys import KeyStore
from wikibot_shared.metrics import RequestMetrics
from wikibot_shared.queue import redis_client
from wikibot_shared.verify import LocalKeys, Verifier
from wikibot_shared.verify.decisions import watch_auth_changes
from wikibot_shared.web import RequestContext

from . import api, health, oauth, ui, wellknown
from .auth import routes as auth_routes
from .config import PlatformSettings
from .errors import install_error_handlers
from .templating import HERE
from .webhooks import outbound_for
from .webhooks.worker import WebhookWorker


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The webhook worker runs beside the web workers of every process (one of them leads: webhooks.worker)."""
    worker = None
    if app.state.settings.webhooks_worker:
        box, http = outbound_for(app)
        worker = WebhookWorker(app.state.settings, app.state.db, app.state.redis, box, http)
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            await run_in_threadpool(worker.stop)


def create_app(settings: PlatformSettings | None = None) -> FastAPI:
    settings = settings or settings_or_exit(PlatformSettings)
    app = FastAPI(
        title="Wikibot platform",
        version="0.1.0",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    assert settings.database_url
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.db = make_session_factory(app.state.engine)
    app.state.redis = redis_client(settings.redis_url)
    watch_auth_changes(app.state.redis)  # revocations end the services' kept access decisions at once
    app.state.keystore = KeyStore(settings.keys_dir)
    app.state.verifier = Verifier(settings, app.state.db, LocalKeys(app.state.keystore))
    app.state.signin = None  # built on first use (auth.routes.signin_for): needs the keys made by migrate
    # handle -> DID or None, verified both ways through the hardened client (services/identity.py uses it)
    app.state.handle_resolver = auth_routes.handle_resolver_for(app)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(wellknown.router)
    app.include_router(api.router)
    app.include_router(ui.router)
    app.include_router(auth_routes.router)
    oauth.install(app)
    app.mount("/app/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(RequestMetrics, service="platform")
    app.add_middleware(RequestContext, service="platform")  # outermost: every response gets a request id
    return app
