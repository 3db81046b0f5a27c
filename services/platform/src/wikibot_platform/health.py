"""Liveness, readiness and the public health summary (``/api/health``)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wikibot_shared.health import check, readiness
from wikibot_shared.logs import propagation_headers

router = APIRouter()
SERVICE = "platform"


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"service": SERVICE, "status": "ok"}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    ok, checks = readiness(request.app.state.engine, request.app.state.redis)
    return JSONResponse({"service": SERVICE, "status": "ok" if ok else "error", **checks}, 200 if ok else 503)


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
