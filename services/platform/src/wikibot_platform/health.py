"""Liveness, readiness and the public health summary (``/api/health``)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse

from wikibot_shared.asgi import health_router
from wikibot_shared.health import check, readiness
from wikibot_shared.logs import propagation_headers

SERVICE = "platform"
router = health_router(SERVICE)  # /healthz, /readyz; the summary below adds what the platform depends on


@router.get("/api/health", tags=["health"])
def api_health(request: Request) -> JSONResponse:
    """Status of the platform and what it depends on: database, Redis and the embedder."""
    ok, checks = readiness(request.app.state.engine, request.app.state.redis)
    url = request.app.state.settings.embedder_internal_url.rstrip("/") + "/healthz"

    def embedder() -> Any:
        httpx.get(url, timeout=2.0, headers=propagation_headers()).raise_for_status()

    checks["embedder"] = check(embedder)
    ok = ok and checks["embedder"]["status"] == "ok"
    return JSONResponse(
        {"service": SERVICE, "status": "ok" if ok else "degraded", **checks}, 200 if ok else 503
    )
