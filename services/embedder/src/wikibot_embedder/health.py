"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wikibot_shared.health import readiness

router = APIRouter()
SERVICE = "embedder"


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"service": SERVICE, "status": "ok"}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    ok, checks = readiness(request.app.state.engine, request.app.state.redis)
    worker = request.app.state.worker
    extra = {
        "model": request.app.state.indexer.encoder.model_id,
        "worker": "off" if worker is None else "running" if worker.ready.is_set() else "starting",
        "cache": request.app.state.cache.stats(),
    }
    body = {"service": SERVICE, "status": "ok" if ok else "error", **checks, **extra}
    return JSONResponse(body, 200 if ok else 503)
