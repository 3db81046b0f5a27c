"""A real platform app per test: migrated SQLite or PostgreSQL, real Redis, real git, real keys; and for the
sign-in tests, a private CA and the reference PDS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from services.platform.tests.support import BASE, Platform, make_settings
from tests.support.pds import ReferencePds, reference_pds
from tests.support.platform_app import CLIENT_HOST
from tests.support.tls import TestCA
from wikibot_platform.main import create_app

# The webhook worker's own tests build it (tests/webhooks); an app under test does not start one.
os.environ.setdefault("PLATFORM_WEBHOOKS_WORKER", "false")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def platform(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    settings_overrides: dict[str, Any],
) -> Iterator[Platform]:
    settings = make_settings(tmp_path, database_url, redis_url, **settings_overrides)
    app = create_app(settings)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        yield Platform(settings, client, redis_client)
    app.state.engine.dispose()
    app.state.redis.close()


@pytest.fixture
def admin(platform: Platform) -> CliRunner:
    """``wikibot-admin`` as an operator runs it against ``platform``'s data, database and Redis."""
    s = platform.settings
    env = {
        "DATA_DIR": str(s.data_dir),
        "DATABASE_URL": str(s.database_url),
        "REDIS_URL": s.redis_url,
        "LOG_FORMAT": "json",
        "DOMAIN": "localhost",
        "PUBLIC_PORT": "8080",
    }
    return CliRunner(env=env)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def pds(test_ca: TestCA) -> Iterator[ReferencePds]:
    """The reference PDS + PLC, trusting our CA and resolving our client host (for the whole session)."""
    with reference_pds(hosts={CLIENT_HOST: "127.0.0.1"}, ca_file=test_ca.cafile) as server:
        yield server
