import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.support.servers import free_port
from wikibot_shared.metrics import RequestMetrics, wsgi_metrics


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_asgi_requests_are_counted_by_route_template() -> None:
    class Route:
        path = "/api/v1/pages/{path}"

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["route"] = Route()
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(_message: dict[str, Any]) -> None:
        return None

    labels = {"service": "t1", "method": "GET", "route": "/api/v1/pages/{path}", "status": "404"}
    before = _sample("wikibot_http_requests_total", labels)
    asyncio.run(RequestMetrics(app, service="t1")({"type": "http", "method": "GET"}, receive, send))
    asyncio.run(RequestMetrics(app, service="t1")({"type": "http", "method": "GET"}, receive, send))
    assert _sample("wikibot_http_requests_total", labels) == before + 2
    hist = {"service": "t1", "method": "GET", "route": "/api/v1/pages/{path}"}
    assert _sample("wikibot_http_request_duration_seconds_count", hist) >= 2


def test_wsgi_failures_count_as_500() -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    app = wsgi_metrics(broken, service="t2", route_of=lambda env: "/page")
    with pytest.raises(RuntimeError):
        app({"REQUEST_METHOD": "POST"}, lambda *a: None)
    assert (
        _sample(
            "wikibot_http_requests_total",
            {"service": "t2", "method": "POST", "route": "/page", "status": "500"},
        )
        == 1
    )


def test_metrics_server_aggregates_worker_processes(tmp_path: Path) -> None:
    """Two worker processes count; the parent's metrics port shows the sum (multiprocess mode)."""
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    script = textwrap.dedent(f"""
        import subprocess, sys, time, urllib.request
        from wikibot_shared.metrics import prepare_multiprocess_dir, serve_metrics
        prepare_multiprocess_dir()
        worker = "from wikibot_shared.metrics import observe; observe('svc', 'GET', '/x', 200, 0.01)"
        for _ in range(2):
            subprocess.run([sys.executable, "-c", worker], check=True)
        serve_metrics({port}, addr="127.0.0.1")
        body = urllib.request.urlopen("http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        print(body)
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    line = next(row for row in out.splitlines() if row.startswith("wikibot_http_requests_total{"))
    assert 'route="/x"' in line
    assert line.endswith(" 2.0")
