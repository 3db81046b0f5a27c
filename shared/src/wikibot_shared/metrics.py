"""Prometheus metrics: request counts and latency per route, and a metrics server on an internal port.

Workers of one service (uvicorn or Gunicorn processes) share a ``PROMETHEUS_MULTIPROC_DIR``; the service's entry
point calls ``serve_metrics`` in its parent process, which aggregates every worker's samples. The port is never
published by Caddy: scrape it on the internal network (docs/observability.md). Labels use the route *template*
(``/api/v1/pages/{path}``), never the raw path, so a client cannot explode the number of series.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

from .web import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "wikibot_http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "wikibot_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
UNMATCHED = "<unmatched>"


def prepare_multiprocess_dir() -> None:
    """Empty the shared sample directory at start-up (stale files from a previous run would be summed in)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)  # type: ignore[no-untyped-call]
        return reg
    return REGISTRY


def serve_metrics(port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - internal network only
    if port:
        start_http_server(port, addr=addr, registry=registry())


def worker_exited(pid: int) -> None:
    """Gunicorn's child_exit hook: drop a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def observe(service: str, method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(service, method, route, str(status)).inc()
    LATENCY.labels(service, method, route).observe(seconds)


class RequestMetrics:
    """ASGI middleware. The route template comes from the framework's router (Starlette puts it in the scope),
    or is ``route`` when the wrapped app is a single endpoint that no router dispatches to."""

    def __init__(self, app: ASGIApp, *, service: str, route: str | None = None) -> None:
        self.app = app
        self.service = service
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = self.route or getattr(scope.get("route"), "path", None) or UNMATCHED
            observe(self.service, scope.get("method", "GET"), route, status, time.perf_counter() - started)


def wsgi_metrics(
    app: Callable[..., Iterable[bytes]], *, service: str, route_of: Callable[[dict[str, Any]], str]
) -> Callable[..., Iterable[bytes]]:
    """The same for a WSGI application; ``route_of`` maps a request to a bounded route label."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        status = [500]

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info)

        try:
            return app(environ, start)
        finally:
            observe(
                service,
                environ.get("REQUEST_METHOD", "GET"),
                route_of(environ),
                status[0],
                time.perf_counter() - started,
            )

    return wrapped
