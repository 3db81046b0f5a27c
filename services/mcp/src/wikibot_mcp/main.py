"""The mcp service's app factory: MCP at ``/mcp``, REST at ``/api/v1``, git at ``/repo.git``, RFC 9728 metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from wikibot_shared.asgi import health_router, install_error_handlers
from wikibot_shared.config import settings_or_exit
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.metrics import RequestMetrics
from wikibot_shared.queue import redis_client
from wikibot_shared.verify import RemoteJWKS, Verifier
from wikibot_shared.verify.decisions import DecisionCache, watch_auth_changes
from wikibot_shared.web import RequestContext

from . import feeds, rest, rest_revisions, wellknown
from .actors import Actors
from .config import McpSettings
from .direct_calls import DirectCalls
from .githttp import GitEndpoint
from .limits import CredentialLimits
from .mcp_http import McpEndpoint
from .tools import build_server
from .wiki import SearchClient, WikiCore

MCP_PATHS = frozenset({"/mcp", "/mcp/"})  # the same endpoint, no redirect


class AgentApp(FastAPI):
    """FastAPI with ``/mcp`` dispatched ahead of FastAPI's middleware stack and router.

    ``/mcp`` is the hot path and needs none of them: ``McpEndpoint`` does its own errors (JSON, never a trace)
    and is wrapped in the same ``RequestContext`` (request id, service header, header size limit)."""

    mcp: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.mcp is not None and scope["type"] == "http" and scope["path"] in MCP_PATHS:
            await self.mcp(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: McpSettings | None = None, verifier: Verifier | None = None) -> FastAPI:
    settings = settings or settings_or_exit(McpSettings)
    assert settings.database_url
    engine = make_engine(settings.database_url)
    db = make_session_factory(engine)
    redis = redis_client(settings.redis_url)
    verifier = verifier or Verifier(settings, db, RemoteJWKS(settings.jwks_url))
    watch_auth_changes(redis)  # this process's own changes (tests' too) move the epoch on
    decisions = DecisionCache() if settings.decision_cache else None
    actors = Actors(verifier, db, CredentialLimits(redis, settings.rate_limits), decisions)
    core = WikiCore(
        wikis_dir=settings.wikis_dir,
        tiers=settings.tiers,
        db=db,
        redis_client=redis,
        search=SearchClient(settings.embedder_internal_url, timeout=settings.search_timeout),
        wiki_url=settings.wiki_url,
        proposal_url=lambda slug, n: f"{settings.platform_url}/app/wikis/{slug}/proposals/{n}",
        max_page_bytes=settings.max_page_bytes,
        freshness_wait=settings.search_freshness_wait,
        freshness_waiters=settings.search_freshness_waiters,
    )
    # Stateless Streamable HTTP: any worker answers any request. Host checks are the tenant lookup's job.
    server = build_server(core, actors, f"{settings.platform_url}/app/static/icons")
    mcp_app = server.http_app(
        path="/mcp", stateless_http=True, json_response=True, host_origin_protection=False
    )
    fast = (
        DirectCalls(server, json_response=True, dns_rebinding_protection=False)
        if settings.fast_path
        else None
    )
    endpoint = McpEndpoint(mcp_app, actors, server, fast=fast)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with mcp_app.lifespan(mcp_app):
            await endpoint.prepare()
            yield

    app = AgentApp(
        title="Wikibot agent API",
        version="0.1.0",
        description="Pages, history, links, search and attachments of one wiki. Authenticate with a personal "
        "access token (`Authorization: Bearer wbp_…`), an OAuth access token, or the platform session cookie.",
        docs_url="/api/v1/docs",
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.db = db
    app.state.redis = redis
    app.state.verifier = verifier
    app.state.actors = actors
    app.state.core = core
    app.state.direct_calls = fast
    install_error_handlers(app, service="mcp")
    app.include_router(health_router("mcp", public=["/api/v1/health"]))
    app.include_router(wellknown.router)
    app.include_router(feeds.router)  # before rest's: /changes.atom and /changes/stream are not pages
    app.include_router(rest.router)
    app.include_router(rest_revisions.router)
    app.mcp = RequestContext(RequestMetrics(endpoint, service="mcp", route="/mcp"), service="mcp")
    git = GitEndpoint(settings, actors, core)
    app.router.routes.append(Route("/repo.git/{rest:path}", git, include_in_schema=False))
    app.add_middleware(RequestMetrics, service="mcp")
    app.add_middleware(RequestContext, service="mcp")
    return app
