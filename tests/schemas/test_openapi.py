"""Hostile input from the services' own OpenAPI (issue 18): schemathesis generates requests for every operation of
the platform's ``/api``, the mcp service's ``/api/v1`` and the embedder's internal API (a real embedder process,
over HTTP) — valid and invalid — and sends them to the running apps with a real credential of the wiki's owner. No answer may be a server error, and every answer must match what the
schema says of it (status codes, content types, bodies).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import checks

from services.platform.tests.support import Platform, make, make_settings
from tests.integration.stack import UNLIMITED_AGENTS
from tests.support.embedder_app import embedder_server
from wikibot_mcp.config import McpSettings
from wikibot_mcp.main import create_app as mcp_app
from wikibot_platform.main import create_app as platform_app
from wikibot_shared import migrate
from wikibot_shared.keys import KeyStore
from wikibot_shared.verify import LocalKeys, Verifier

HOST = "localhost:8080"
EXAMPLES = 12  # per operation; CI's budget (the whole file runs in about a minute)
# Operations that would end the credential the run uses (and so every later request), with why.
SKIP = {
    ("DELETE", "/api/me"): "deletes the account the run signs in as",
    ("DELETE", "/api/wikis/{slug}"): "deletes the wiki the run works on",
}


@dataclass
class Apps:
    platform: Any
    mcp: Any
    session: str
    pat: str
    embedder: str  # the internal API's base URL (no credential: it is reached only on the internal network)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Apps]:
    tmp: Path = tmp_path_factory.mktemp("schemas")
    url = f"sqlite:///{tmp / 'wikibot.db'}"
    migrate.upgrade(url)
    with embedder_server(tmp / "data", redis_url, url) as embedder_url:
        yield from _apps(tmp, url, redis_url, embedder_url)


def _apps(tmp: Path, url: str, redis_url: str, embedder_url: str) -> Iterator[Apps]:
    config = make_settings(tmp, url, redis_url, webhooks_worker=False, embedder_internal_url=embedder_url)
    with TestClient(platform_app(config), base_url=f"http://{HOST}") as client:
        platform = Platform(config, client, redis.Redis.from_url(redis_url, decode_responses=True))
        alice = platform.user("alice")
        make(platform, alice, "notes")
        made = client.post(
            "/api/wikis/notes/tokens",
            json={"name": "fuzz", "scopes": ["wiki:read", "wiki:write"]},
            headers=platform.bearer(alice),
        )
        assert made.status_code == 201, made.text
        common: dict[str, Any] = {"data_dir": config.data_dir, "database_url": url, "redis_url": redis_url}
        mcp_settings = McpSettings(
            **common,
            domain="localhost",
            public_port=8080,
            embedder_internal_url=embedder_url,
            rate_limits_json=UNLIMITED_AGENTS["MCP_RATE_LIMITS"],  # every case reaches its handler
        )
        verifier = Verifier(mcp_settings, platform.app.state.db, LocalKeys(KeyStore(mcp_settings.keys_dir)))
        agent = mcp_app(mcp_settings, verifier=verifier)
        with TestClient(agent, base_url=f"http://notes.{HOST}") as mcp:
            mcp.put(
                "/api/v1/pages/Home",
                json={"content": "# Home\n\nSee [[Guide]].\n"},
                headers={"Authorization": f"Bearer {made.json()['token']}", "If-Match": "*"},
            )
            yield Apps(platform.app, mcp.app, platform.session(alice), made.json()["token"], embedder_url)


@pytest.fixture
def platform_schema(apps: Apps) -> Any:
    return schemathesis.openapi.from_asgi("/api/openapi.json", apps.platform)


@pytest.fixture
def mcp_schema(apps: Apps) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", apps.mcp)


@pytest.fixture
def embedder_schema(apps: Apps) -> Any:
    return schemathesis.openapi.from_url(f"{apps.embedder}/openapi.json")


# No server error; every status, content type, header and body as the schema declares it. Not enforced (yet):
# "a request valid by the schema is accepted" — the schemas are looser than the checks behind them (an empty slug
# is a string), and Starlette's 405 lists the methods of one route of a path in Allow, not all of them.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
# the management API (/api); sign-in and OAuth are browser flows and RFC-specified endpoints, tested elsewhere
platform_api = schemathesis.pytest.from_fixture("platform_schema").include(path_regex="^/api/")
mcp_api = schemathesis.pytest.from_fixture("mcp_schema")
embedder_api = schemathesis.pytest.from_fixture("embedder_schema")
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here is reproducible, not a flake
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


SENT: Counter[str] = Counter()  # cases sent per API, reported when the module's apps stop


@platform_api.parametrize()
@FUZZ
def test_platform_api(case: Any, apps: Apps) -> None:
    if (case.method, case.path) in SKIP:
        return
    SENT["platform /api"] += 1
    case.call_and_validate(headers={"Host": HOST, "Authorization": f"Bearer {apps.session}"}, checks=CHECKS)


@mcp_api.parametrize()
@FUZZ
def test_mcp_api(case: Any, apps: Apps) -> None:
    SENT["mcp /api/v1"] += 1
    case.call_and_validate(
        headers={"Host": f"notes.{HOST}", "Authorization": f"Bearer {apps.pat}"}, checks=CHECKS
    )


@embedder_api.parametrize()
@FUZZ
def test_embedder_api(case: Any, apps: Apps) -> None:
    SENT["embedder internal"] += 1
    case.call_and_validate(base_url=apps.embedder, checks=CHECKS)


def test_every_api_was_exercised(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the three above (file order): they sent cases, and every one passed its checks."""
    with capsys.disabled():
        print(
            f"\n[schemas] cases sent: {dict(SENT)}; each answered without a server error, as its schema says"
        )
    assert SENT["platform /api"] > 100
    assert SENT["mcp /api/v1"] > 100
    assert SENT["embedder internal"] > 20
