"""Client ID Metadata Documents: refusals of the fetch itself, through the real hardened client
(``wikibot_shared.safehttp``) against a real local TLS server with a private CA."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.platform.tests.oauth.harness import Harness, Pkce, metadata_document
from tests.support import tls

NAME = "agent.e2e.internal"


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        status, body, headers = self.routes.get(self.path, (404, b"{}", {}))
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def metadata_host(tmp_path: Path) -> Iterator[tuple[int, Path, dict[str, tuple[int, bytes, dict[str, str]]]]]:
    ca = tls.TestCA(tmp_path / "ca")
    cert = ca.issue(NAME)
    routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = cert.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield int(server.server_address[1]), ca.cafile, routes
    server.shutdown()
    server.server_close()


def test_fetches_go_through_the_hardened_client_with_the_platform_policy(
    make_harness: Callable[..., Harness], metadata_host: Any
) -> None:
    port, cafile, routes = metadata_host
    base = f"https://{NAME}:{port}"
    good = metadata_document(client_id=f"{base}/good.json")
    routes["/good.json"] = (200, json.dumps(good).encode(), {})
    routes["/moved.json"] = (302, b"{}", {"Location": f"{base}/good.json"})
    huge = {**good, "client_id": f"{base}/huge.json", "x": "y" * 20_000}
    routes["/huge.json"] = (200, json.dumps(huge).encode(), {})
    routes["/gone.json"] = (404, b"{}", {})

    # The production policy (only the name is mapped, for the test): a loopback address is never reached.
    strict = make_harness(outbound_hosts=f"{NAME}=127.0.0.1", outbound_ca_bundle=cafile)
    refused = strict.authorize(strict.authorize_params(f"{base}/good.json", Pkce()))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client"
    assert "loopback" in refused.json()["error_description"]

    # Widened for this test only (refused in production by the settings).
    h = make_harness(
        outbound_hosts=f"{NAME}=127.0.0.1", outbound_ca_bundle=cafile, outbound_allow_networks="127.0.0.1/32"
    )
    page = h.authorize(h.authorize_params(f"{base}/good.json", Pkce()))
    assert page.status_code == 200, page.text
    assert f"Example Agent ({NAME})" in page.text
    for path, fragment in [("/moved.json", "redirect"), ("/huge.json", "bytes"), ("/gone.json", "404")]:
        response = h.authorize(h.authorize_params(f"{base}{path}", Pkce()))
        assert response.status_code == 400, path
        assert fragment in response.json()["error_description"], (path, response.json())
