"""What the embedder's readiness reports beyond the database and Redis: its model, worker and cache."""

from __future__ import annotations

from typing import Any

from fastapi import Request


def details(request: Request) -> dict[str, Any]:
    worker = request.app.state.worker
    return {
        "model": request.app.state.indexer.model_id,
        "worker": "off" if worker is None else "running" if worker.ready.is_set() else "starting",
        "cache": request.app.state.cache.stats(),
    }
