"""Real servers for the mcp tests: the app under a real uvicorn on 127.0.0.1 (in a thread, or the service's
own multi-worker entry point in a subprocess), a JWKS endpoint for OAuth tokens, and a small embedder that
implements the internal search contract (docs/search.md: ``POST /search``, ``GET /status/{wiki}``)."""

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
from wikibot_shared import git
from wikibot_shared.tenant import SLUG_RE


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
    full.setdefault("MCP_METRICS_PORT", "0")  # a fixed port would clash with another suite's service on it
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
            self._send(400, {"error": "invalid_request", "message": "JSON decode error"})
            return
        self.server.requests.append(("POST", self.path, body))
        self.server.request_ids.append(self.headers.get("X-Request-Id"))
        status, reply = self.server.route("POST", self.path, body)
        self._send(status, reply)


class _JsonServer(ThreadingHTTPServer):
    requests: list[tuple[str, str, Any]]
    request_ids: list[str | None]  # the X-Request-Id each request carried

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        raise NotImplementedError


MODES = ("semantic", "fulltext", "hybrid")
MAX_QUERY_CHARS = 2000
MAX_PATHS = 100_000
MAX_PATH_CHARS = 4096


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # strict: JSON true is not a number


def _invalid(field: str, what: str) -> tuple[int, Any]:
    return 400, {"error": "invalid_request", "message": f"{field}: {what}"}


def check_search_request(body: Any) -> tuple[int, Any] | None:
    """The embedder's ``POST /search`` validation (``SearchRequest``, strict), or None when the body passes."""
    if not isinstance(body, dict):
        return 400, {
            "error": "invalid_request",
            "message": "Input should be a valid dictionary or object to extract fields from",
        }
    for field in ("wiki", "query"):
        if field not in body:
            return _invalid(field, "Field required")
    limits = {"wiki": 63, "query": MAX_QUERY_CHARS}
    for field, longest in limits.items():
        if not isinstance(body[field], str):
            return _invalid(field, "Input should be a valid string")
        if not 1 <= len(body[field]) <= longest:
            return _invalid(field, f"String should have 1 to {longest} characters")
    if "mode" in body and body["mode"] not in MODES:
        return _invalid("mode", f"Input should be one of {MODES}")
    for field, highest in (("k", 50), ("max_chunks_per_page", 10)):
        if field in body and not (_int(body[field]) and 1 <= body[field] <= highest):
            return _invalid(field, f"Input should be an integer from 1 to {highest}")
    paths = body.get("paths")
    if paths is not None:
        if not isinstance(paths, list) or len(paths) > MAX_PATHS:
            return _invalid("paths", f"Input should be a list of at most {MAX_PATHS} items")
        for i, path in enumerate(paths):
            if not isinstance(path, str) or not 1 <= len(path) <= MAX_PATH_CHARS:
                return _invalid(f"paths.{i}", f"Input should be a string of 1 to {MAX_PATH_CHARS} characters")
    extra = sorted(set(body) - {"wiki", "query", "mode", "k", "max_chunks_per_page", "paths"})
    if extra:
        return _invalid(extra[0], "Extra inputs are not permitted")
    return None


class ContractEmbedder(_JsonServer):
    """The embedder's internal API (docs/search.md) over the real wiki repositories, answering with a plain
    word-overlap score: exactly as strict about its input as the real one (400 ``invalid_request`` naming the
    field, 404 ``unknown_wiki``; ``tests/wiki/test_search.py`` sends both the same requests).

    Its index of a wiki is the wiki's HEAD, always up to date, unless ``hold(wiki)`` pins it to the commit HEAD
    is at then: it answers from that commit, and reports it, until ``release(wiki)``."""

    def __init__(self, wikis_dir: Path) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.wikis_dir = wikis_dir
        self.requests = []
        self.request_ids = []
        self.down = False
        self.held: dict[str, str] = {}

    def repo(self, wiki: str) -> Path | None:
        repo = self.wikis_dir / wiki / "repo"
        return repo if SLUG_RE.match(wiki) and repo.is_dir() else None

    def hold(self, wiki: str) -> str:
        repo = self.repo(wiki)
        assert repo is not None
        self.held[wiki] = self._head(repo)
        return self.held[wiki]

    def release(self, wiki: str) -> None:
        self.held.pop(wiki, None)

    @staticmethod
    def _head(repo: Path) -> str:
        return git.run(repo, "rev-parse", "HEAD").decode().strip()

    def indexed(self, wiki: str, repo: Path) -> str:
        return self.held.get(wiki) or self._head(repo)

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if self.down:
            return 503, {"error": "unavailable", "message": "warming up"}
        if method == "GET" and path.startswith("/status/"):
            return self._status(path.split("/")[2])
        if method != "POST" or path != "/search":
            return 404, {"error": "not_found", "message": path}
        refused = check_search_request(body)
        if refused is not None:
            return refused
        repo = self.repo(body["wiki"])
        if repo is None:
            return 404, {"error": "unknown_wiki", "message": f"there is no wiki '{body['wiki'][:80]}'"}
        if not body["query"].strip():
            return 400, {"error": "invalid_request", "message": "query: must not be empty"}
        return 200, self._search(body, repo)

    def _status(self, wiki: str) -> tuple[int, Any]:
        repo = self.repo(wiki)
        if repo is None:
            return 404, {"error": "unknown_wiki", "message": f"there is no wiki '{wiki[:80]}'"}
        indexed, head = self.indexed(wiki, repo), self._head(repo)
        lag = git.run(repo, "rev-list", "--count", head, f"^{indexed}", "--").decode().strip()
        return 200, {
            "wiki": wiki,
            "indexed_commit": indexed,
            "head_commit": head,
            "chunks": len(self._pages(repo, indexed)),
            "lag_commits": int(lag),
            "model": "contract-double",
        }

    @staticmethod
    def _pages(repo: Path, commit: str) -> dict[str, str]:
        """page file → text at ``commit``: committed state only, as the real index."""
        entries = [e for e in git.ls_tree(repo, commit) if e.type == "blob" and e.path.endswith(".md")]
        blobs = git.cat_blobs(repo, (e.oid for e in entries))
        return {e.path: blobs[e.oid].decode() for e in entries}

    def _search(self, body: dict[str, Any], repo: Path) -> dict[str, Any]:
        commit = self.indexed(body["wiki"], repo)
        allowed = None if body.get("paths") is None else set(body["paths"])
        words = set(re.findall(r"\w+", body["query"].lower()))
        results = []
        for rel, text in sorted(self._pages(repo, commit).items()):
            if allowed is not None and rel not in allowed:
                continue
            overlap = len(words & set(re.findall(r"\w+", text.lower())))
            if overlap:
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
                        "chunks": [chunk][: body.get("max_chunks_per_page", 3)],
                    }
                )
        results.sort(key=lambda r: -r["score"])
        return {
            "wiki": body["wiki"],
            "mode": body.get("mode", "hybrid"),
            "commit": commit,
            "results": results[: body.get("k", 10)],
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
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
