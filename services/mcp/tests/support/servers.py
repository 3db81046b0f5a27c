"""Real servers for the mcp tests: the app under a real uvicorn on 127.0.0.1 (in a thread, or the service's
own multi-worker entry point in a subprocess), a JWKS endpoint for OAuth tokens, and a small embedder that
implements the internal search contract (BRIEFING: ``POST /search``, ``GET /status/{wiki}``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.support.servers import free_port


def _wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def uvicorn_thread(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def service_process(env: dict[str, str], workers: int = 4) -> Iterator[str]:
    """``wikibot-mcp`` itself: uvicorn with several worker processes."""
    port = free_port()
    full = {
        **os.environ,
        **env,
        "MCP_HOST": "127.0.0.1",
        "MCP_PORT": str(port),
        "MCP_WORKERS": str(workers),
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([sys.executable, "-c", "from wikibot_mcp.serve import main; main()"], env=full)
    try:
        _wait_http(f"http://127.0.0.1:{port}/readyz", timeout=180, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Handler(BaseHTTPRequestHandler):
    server: _JsonServer

    def log_message(self, *_args: Any) -> None:
        return

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path, None))
        self.server.request_ids.append(self.headers.get("X-Request-Id"))
        status, body = self.server.route("GET", self.path, None)
        self._send(status, body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, {"error": "invalid", "message": "not JSON"})
            return
        self.server.requests.append(("POST", self.path, body))
        self.server.request_ids.append(self.headers.get("X-Request-Id"))
        status, reply = self.server.route("POST", self.path, body)
        self._send(status, reply)


class _JsonServer(ThreadingHTTPServer):
    requests: list[tuple[str, str, Any]]
    request_ids: list[str | None]  # the X-Request-Id each request carried

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        raise NotImplementedError


class ContractEmbedder(_JsonServer):
    """The embedder's internal API as the BRIEFING fixes it, answering from the files of real wiki repos with a
    plain word-overlap score: strict about its input (400 on anything off-contract, 404 for unknown wikis)."""

    def __init__(self, wikis_dir: Path) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.wikis_dir = wikis_dir
        self.requests = []
        self.request_ids = []
        self.down = False

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if self.down:
            return 503, {"error": "unavailable", "message": "warming up"}
        if method == "GET" and path.startswith("/status/"):
            wiki = path.split("/")[2]
            if not (self.wikis_dir / wiki / "repo").is_dir():
                return 404, {"error": "unknown_wiki", "message": wiki}
            return 200, {
                "wiki": wiki,
                "indexed_commit": None,
                "head_commit": None,
                "chunks": 0,
                "lag_commits": 0,
            }
        if method != "POST" or path != "/search":
            return 404, {"error": "not_found", "message": path}
        keys = {"wiki", "query", "mode", "k", "max_chunks_per_page"}
        if (
            not isinstance(body, dict)
            or set(body) != keys
            or body["mode"] not in ("semantic", "fulltext", "hybrid")
        ):
            return 400, {"error": "invalid", "message": f"expected exactly {sorted(keys)}"}
        if not isinstance(body["k"], int) or not isinstance(body["query"], str) or not body["query"].strip():
            return 400, {"error": "invalid", "message": "bad k or query"}
        repo = self.wikis_dir / str(body["wiki"]) / "repo"
        if not repo.is_dir():
            return 404, {"error": "unknown_wiki", "message": body["wiki"]}
        words = set(re.findall(r"\w+", body["query"].lower()))
        results = []
        for file in sorted(repo.rglob("*.md")):
            if ".git" in file.parts:
                continue
            text = file.read_text()
            overlap = len(words & set(re.findall(r"\w+", text.lower())))
            if overlap:
                rel = file.relative_to(repo).as_posix()
                page = rel[:-3]
                chunk = {
                    "section": page,
                    "text": text[:200],
                    "snippet": text[:80],
                    "score": float(overlap),
                    "position": 0,
                }
                results.append(
                    {
                        "path": rel,
                        "page": page,
                        "title": page,
                        "score": float(overlap),
                        "chunks": [chunk][: body["max_chunks_per_page"]],
                    }
                )
        results.sort(key=lambda r: -r["score"])
        return 200, {
            "wiki": body["wiki"],
            "mode": body["mode"],
            "commit": None,
            "results": results[: body["k"]],
        }


class JwksServer(_JsonServer):
    def __init__(self, jwks: dict[str, Any]) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.jwks = jwks
        self.requests = []
        self.request_ids = []

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == "/.well-known/jwks.json":
            return 200, self.jwks
        return 404, {"error": "not_found"}


@contextmanager
def running(server: _JsonServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
