"""Readiness checks every service reports: the database and Redis answer, and how fast."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy import Engine

from .db import ping


def check(fn: Callable[[], Any]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - a readiness probe reports any failure, it never raises
        return {"status": "error", "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}


def readiness(engine: Engine, client: redis.Redis) -> tuple[bool, dict[str, Any]]:
    checks = {"database": check(lambda: ping(engine)), "redis": check(client.ping)}
    return all(c["status"] == "ok" for c in checks.values()), checks
