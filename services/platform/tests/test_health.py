import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.servers import free_port
from wikibot_platform.config import PlatformSettings
from wikibot_platform.main import create_app
from wikibot_shared import migrate


@pytest.fixture
def embedder_up() -> Iterator[str]:
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def make_client(tmp_path: Path, redis_url: str, embedder: str) -> TestClient:
    settings = PlatformSettings(data_dir=tmp_path, redis_url=redis_url, embedder_internal_url=embedder)
    migrate.run(settings)
    return TestClient(create_app(settings), base_url="http://localhost:8080")


def test_liveness_readiness_and_public_health(tmp_path: Path, redis_url: str, embedder_up: str) -> None:
    client = make_client(tmp_path, redis_url, embedder_up)
    assert client.get("/healthz").json() == {"service": "platform", "status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.headers["x-wikibot-service"] == "platform"
    health = client.get("/api/health").json()
    assert health["service"] == "platform"
    assert health["status"] == "ok"
    assert {health[k]["status"] for k in ("database", "redis", "embedder")} == {"ok"}


def test_health_reports_what_is_down(tmp_path: Path, embedder_up: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = make_client(tmp_path, f"redis://127.0.0.1:{free_port()}/0", dead)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["redis"]["status"] == "error"
    health = client.get("/api/health")
    assert health.status_code == 503
    assert health.json()["status"] == "degraded"
    assert health.json()["embedder"]["status"] == "error"
    assert client.get("/healthz").status_code == 200  # liveness does not depend on others


def test_jwks_and_tls_ask(tmp_path: Path, redis_url: str, embedder_up: str) -> None:
    client = make_client(tmp_path, redis_url, embedder_up)
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 1
    assert "d" not in keys[0]
    assert client.get("/auth/tls-ask", params={"domain": "localhost"}).status_code == 200
    assert client.get("/auth/tls-ask", params={"domain": "nowiki.localhost"}).status_code == 404
    assert client.get("/auth/tls-ask", params={"domain": "evil.example"}).status_code == 404
    assert client.get("/auth/tls-ask").status_code == 422
    assert client.get("/auth/tls-ask").json()["error"] == "invalid_request"


def test_unknown_route_is_json_404(tmp_path: Path, redis_url: str, embedder_up: str) -> None:
    client = make_client(tmp_path, redis_url, embedder_up)
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("entry", ["wikibot_platform.serve", "wikibot_shared.migrate"])
def test_bad_settings_exit_2_with_one_line(entry: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", f"import {entry} as m; m.main()"],
        env={"PATH": "/usr/bin:/bin", "PUBLIC_SCHEME": "gopher"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr == "configuration error: PUBLIC_SCHEME: Input should be 'http' or 'https'\n"


def test_requests_are_counted_by_route_and_logged_with_request_id(
    tmp_path: Path, redis_url: str, embedder_up: str
) -> None:
    import io
    import json

    from prometheus_client import REGISTRY

    from wikibot_shared.logs import setup_logging

    client = make_client(tmp_path, redis_url, embedder_up)
    stream = io.StringIO()
    setup_logging("json", "INFO", service="platform", stream=stream)
    labels = {"service": "platform", "method": "GET", "route": "/auth/tls-ask", "status": "404"}
    before = REGISTRY.get_sample_value("wikibot_http_requests_total", labels) or 0
    client.get(
        "/auth/tls-ask", params={"domain": "secret-slug.localhost"}, headers={"X-Request-Id": "rid-42"}
    )
    assert REGISTRY.get_sample_value("wikibot_http_requests_total", labels) == before + 1
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (access,) = [line for line in lines if line["logger"] == "wikibot.access"]
    assert access["path"] == "/auth/tls-ask"
    assert access["status"] == 404
    assert access["request_id"] == "rid-42"
    assert access["service"] == "platform"
    assert not [line for line in lines if "secret-slug" in json.dumps(line)]  # query strings are never logged
