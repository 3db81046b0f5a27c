"""The edge (Caddy) itself: one request id per response, request-body limits per route, and a retryable answer
while a service is down."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from tests.integration.stack import Stack
from tests.integration.test_agent_stack import SETUP

MB = 1024 * 1024
# (slug or None for the platform, method, path, limit in bytes): the defaults of the Caddyfile's EDGE_MAX_*.
LIMITS = [
    (None, "POST", "/api/wikis", 1 * MB),
    (None, "POST", "/auth/oauth/token", 1 * MB),
    ("agents", "POST", "/mcp", 4 * MB),
    ("agents", "PUT", "/api/v1/pages/Big", 4 * MB),
    ("agents", "POST", "/Home/save", 4 * MB),
    ("agents", "PUT", "/api/v1/attachments/Home/big.bin", 110 * MB),
    ("agents", "POST", "/Home/attachments", 110 * MB),
    ("agents", "POST", "/repo.git/git-receive-pack", 110 * MB),
]


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    return stack.exec("platform", "python", "-c", SETUP).stdout.strip().splitlines()[-1]


def head(stack: Stack) -> str:
    return stack.exec("mcp", "git", "-C", "/data/wikis/agents/repo", "rev-parse", "HEAD").stdout.strip()


def raw_request(
    stack: Stack, method: str, path: str, host: str, headers: dict[str, str], body: bytes
) -> bytes:
    """Send the head of a request and only ``body`` of what it declares, then read what comes back: an edge that
    refuses on the declared size answers at once; one that reads the body first would wait for the rest."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


def parse(raw: bytes) -> tuple[int, dict[str, list[str]], bytes]:
    head_part, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head_part.decode("latin-1").split("\r\n")
    found: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found.setdefault(name.strip().lower(), []).append(value.strip())
    return int(status_line.split()[1]), found, body


@pytest.mark.parametrize(
    ("slug", "path"),
    [
        (None, "/api/health"),
        (None, "/nowhere"),
        ("agents", "/api/v1/health"),
        ("agents", "/mcp"),
        ("agents", "/Home"),
        ("elsewhere.example", "/"),
    ],
)
def test_every_response_carries_one_request_id(stack: Stack, slug: str | None, path: str) -> None:
    host = f"{slug}:{stack.port}" if slug and "." in slug else None
    response = stack.get(path, slug=None if host else slug, host=host)
    ids = response.headers.get_list("x-request-id")
    assert len(ids) == 1, (path, ids)
    assert len(ids[0]) == 36  # Caddy's UUID, echoed by the service that answered
    assert "server" not in response.headers
    assert "via" not in response.headers


@pytest.mark.parametrize(("slug", "method", "path", "limit"), LIMITS)
def test_a_declared_body_over_the_route_limit_is_refused_at_the_edge(
    stack: Stack, token: str, slug: str | None, method: str, path: str, limit: int
) -> None:
    before = head(stack)
    started = time.monotonic()
    raw = raw_request(
        stack,
        method,
        path,
        stack.host(slug),
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Content-Length": str(limit + 1),
        },
        b'{"content": "',
    )
    status, headers, body = parse(raw)
    assert status == 413, raw[:500]
    assert time.monotonic() - started < 5, "the edge waited for a body it should have refused on its size"
    assert "x-wikibot-service" not in headers, "a service saw the request"
    assert len(headers["x-request-id"]) == 1
    assert headers["content-type"] == ["application/json"]
    refusal = json.loads(body)
    assert refusal["error"] == "request_too_large"
    assert str(limit) in refusal["message"]
    assert head(stack) == before


def test_a_chunked_body_is_cut_at_the_route_limit(stack: Stack, token: str) -> None:
    before = head(stack)

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"content": "'
        for _ in range(5):
            yield b"x" * MB

    response = stack.request(
        "PUT",
        "/api/v1/pages/Chunked",
        slug="agents",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        content=chunks(),
    )
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"] == "request_too_large"
    assert head(stack) == before


def test_an_upload_over_the_page_limit_passes_the_edge(stack: Stack, token: str) -> None:
    data = bytes(range(256)) * (4 * MB // 256 + 1000)  # a little over 4 MiB, under the free tier's 5 MB
    response = stack.request(
        "PUT",
        "/api/v1/attachments/Home/edge.bin",
        slug="agents",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
        content=data,
    )
    assert response.status_code == 201, response.text[:300]
    assert response.headers["x-wikibot-service"] == "mcp"
    fetched = stack.get(
        "/api/v1/attachments/Home/edge.bin", slug="agents", headers={"Authorization": f"Bearer {token}"}
    )
    assert fetched.content == data


def test_a_stopped_service_gets_a_quick_retryable_503(stack: Stack) -> None:
    stack.compose_cmd("stop", "otterwiki")
    try:
        started = time.monotonic()
        response = stack.get("/Home", slug="agents")
        assert time.monotonic() - started < 5
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"] == "service_unavailable"
        assert len(response.headers.get_list("x-request-id")) == 1
    finally:
        stack.compose_cmd("up", "-d", "--wait", "otterwiki")
    assert stack.get("/-/health", slug="agents").status_code == 200


def test_oversized_request_is_refused_with_json_not_a_reset(stack: Stack, token: str) -> None:
    """Through an ordinary client too, ten times over: the whole oversized body is sent, and what comes back
    is our JSON, not a reset connection."""
    for _ in range(10):
        try:
            response = stack.request(
                "POST",
                "/mcp",
                slug="agents",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                content=b"x" * (4 * MB + 1),
            )
        except httpx.TransportError as exc:
            pytest.fail(f"the edge dropped the connection: {exc!r}")
        assert response.status_code == 413
        assert response.json()["error"] == "request_too_large"
