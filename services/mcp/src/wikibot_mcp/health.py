"""Liveness and readiness; ``/api/v1/health`` is the public face of the same."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wikibot_shared.health import readiness

router = APIRouter()
SERVICE = "mcp"


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"service": SERVICE, "status": "ok"}


@router.get("/readyz", include_in_schema=False)
@router.get("/api/v1/health", tags=["health"])
def readyz(request: Request) -> JSONResponse:
    ok, checks = readiness(request.app.state.engine, request.app.state.redis)
    return JSONResponse({"service": SERVICE, "status": "ok" if ok else "error", **checks}, 200 if ok else 503)
