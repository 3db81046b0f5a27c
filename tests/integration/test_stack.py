"""The foundation's promises: routing, errors at the edge, migrate, keys, persistence, cleanup."""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.stack import Stack, running_stack

# ARCHITECTURE §1: (host slug or None for the platform, path) → the service that must answer.
ROUTES = [
    (None, "/api/health", "platform"),
    (None, "/api/does-not-exist", "platform"),
    (None, "/auth/tls-ask?domain=localhost", "platform"),
    (None, "/app", "platform"),
    (None, "/.well-known/jwks.json", "platform"),
    ("notes", "/api/v1/health", "mcp"),
    ("notes", "/mcp", "mcp"),
    ("notes", "/repo.git/info/refs?service=git-upload-pack", "mcp"),
    ("notes", "/.well-known/oauth-protected-resource", "mcp"),
    ("notes", "/.well-known/oauth-protected-resource/mcp", "mcp"),
    ("notes", "/-/health", "otterwiki"),
    ("notes", "/Home", "otterwiki"),
    ("notes", "/", "otterwiki"),
]


@pytest.mark.parametrize(("slug", "path", "service"), ROUTES)
def test_each_route_reaches_its_service(stack: Stack, slug: str | None, path: str, service: str) -> None:
    response = stack.get(path, slug=slug)
    assert response.headers.get("x-wikibot-service") == service, (
        path,
        response.status_code,
        response.text[:200],
    )
    assert response.status_code != 502
    assert response.headers.get("x-request-id")


@pytest.mark.parametrize(
    ("slug", "path", "body_service"),
    [
        (None, "/api/health", "platform"),
        ("anything", "/api/v1/health", "mcp"),
        ("anything", "/-/health", "otterwiki"),
    ],
)
def test_health_endpoints_name_their_service(
    stack: Stack, slug: str | None, path: str, body_service: str
) -> None:
    response = stack.get(path, slug=slug)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["service"] == body_service
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["redis"]["status"] == "ok"
    if body_service == "platform":
        assert body["embedder"]["status"] == "ok"


@pytest.mark.parametrize(
    ("host", "path", "status", "error"),
    [
        ("localhost", "/nowhere", 404, "not_found"),
        ("elsewhere.example.org", "/", 404, "unknown_host"),
        ("a.b.localhost", "/", 404, "unknown_host"),
        ("missing.localhost", "/Home", 404, "unknown_wiki"),
        ("www.localhost", "/", 404, "unknown_wiki"),
    ],
)
def test_unknown_routes_and_hosts_get_json_404_not_502(
    stack: Stack, host: str, path: str, status: int, error: str
) -> None:
    response = stack.get(path, host=f"{host}:{stack.port}")
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


def test_client_request_id_is_replaced_by_caddys(stack: Stack) -> None:
    response = stack.get("/api/health", headers={"X-Request-Id": "client-chosen"})
    assert response.headers["x-request-id"] != "client-chosen"


def test_oversized_headers_get_a_clean_4xx_json(stack: Stack) -> None:
    response = stack.get("/api/v1/health", slug="notes", headers={"X-Big": "x" * 30_000})
    assert response.status_code == 431
    assert response.json()["error"] == "headers_too_large"
    response = stack.get("/-/health", slug="notes", headers={"X-Big": "x" * 30_000})
    assert response.status_code == 431


def test_migrate_ran_once_and_created_keys(stack: Stack) -> None:
    (migrate,) = [row for row in stack.ps() if row["Service"] == "migrate"]
    assert migrate["State"] == "exited"
    assert migrate["ExitCode"] == 0
    listing = stack.exec("platform", "ls", "/data/keys/signing", "/data/keys/client").stdout
    assert listing.count(".json") == 2
    jwks = stack.get("/.well-known/jwks.json").json()
    assert len(jwks["keys"]) == 1
    assert "d" not in jwks["keys"][0]


def test_services_run_as_non_root(stack: Stack) -> None:
    for service in ("platform", "mcp", "otterwiki", "embedder"):
        assert stack.exec(service, "id", "-u").stdout.strip() == "1000", service


METRICS = {"otterwiki": 9100, "mcp": 9101, "platform": 9102, "embedder": 9103}


def scrape(stack: Stack, service: str) -> str:
    """What Prometheus on the compose network would read from a service's metrics port."""
    url = f"http://{service}:{METRICS[service]}/metrics"
    code = f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=10).read().decode())"
    return stack.exec("platform", "python", "-c", code).stdout


def test_every_service_serves_metrics_on_the_internal_network_only(stack: Stack) -> None:
    stack.get("/api/v1/health", slug="notes")  # at least one request each for mcp and otterwiki to count
    stack.get("/-/health", slug="notes")
    for service in METRICS:
        assert "wikibot_http_request_duration_seconds" in scrape(stack, service), service
    assert 'route="/api/v1/health"' in scrape(stack, "mcp")
    assert "wikibot_embedder_stream_length" in scrape(stack, "embedder")
    for slug in (None, "notes"):  # Caddy publishes no metrics port or route
        assert "wikibot_http_requests_total" not in stack.get("/metrics", slug=slug).text


def test_restart_keeps_database_and_keys(stack: Stack) -> None:
    kid = stack.get("/.well-known/jwks.json").json()["keys"][0]["kid"]
    insert = (
        "from wikibot_shared.config import CommonSettings as C; from wikibot_shared.db import *;"
        "from wikibot_shared.models import *; s=C(); f=make_session_factory(make_engine(s.database_url));"
        "db=f(); db.add(User(did='did:plc:persist')); db.flush();"
        "db.add(Wiki(slug='persisted', owner_did='did:plc:persist', display_name='P')); db.commit()"
    )
    stack.exec("platform", "python", "-c", insert)
    assert stack.get("/auth/tls-ask?domain=persisted.localhost").status_code == 200
    assert stack.get("/auth/tls-ask?domain=nothere.localhost").status_code == 404
    stack.restart()
    assert stack.get("/.well-known/jwks.json").json()["keys"][0]["kid"] == kid
    assert stack.get("/auth/tls-ask?domain=persisted.localhost").status_code == 200
    assert stack.get("/api/health").json()["status"] == "ok"


def _resources(project: str) -> dict[str, list[str]]:
    label = f"label=com.docker.compose.project={project}"
    found = {}
    for kind, cmd in {
        "containers": ["docker", "ps", "-a", "-q", "--filter", label],
        "volumes": ["docker", "volume", "ls", "-q", "--filter", label],
        "networks": ["docker", "network", "ls", "-q", "--filter", label],
    }.items():
        found[kind] = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return found


def test_a_stack_cleans_up_everything_it_made_even_on_failure() -> None:
    seen: dict[str, dict[str, list[str]]] = {}

    def failing_test() -> None:
        with running_stack() as other:
            seen[other.project] = _resources(other.project)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_test()
    ((project, during),) = seen.items()
    assert all(during.values()), during
    assert _resources(project) == {"containers": [], "volumes": [], "networks": []}
