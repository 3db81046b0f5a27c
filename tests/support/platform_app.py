"""Helpers for the platform's sign-in tests: settings and apps on private data dirs, a cookie-keeping browser."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from wikibot_platform.auth import csrf
from wikibot_platform.config import PlatformSettings
from wikibot_shared import migrate
from wikibot_shared.verify import Principal

CLIENT_HOST = "wikibot.e2e.internal"  # a name the provider accepts in a client_id (ATPROTO-PDS.md)


def make_settings(tmp_path: Path, redis_url: str, **overrides: Any) -> PlatformSettings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "redis_url": redis_url,
        "environment": "development",
        # every test client has the same address and Redis outlives a test: limits are tested on their own
        "rate_limits_json": json.dumps({"sign_in": [100000, 60], "callback": [100000, 60]}),
    }
    values.update(overrides)
    settings = PlatformSettings(**values)
    migrate.run(settings)
    return settings


def browser(app: FastAPI, base_url: str) -> TestClient:
    return TestClient(app, base_url=base_url, follow_redirects=False)


def csrf_for(app: FastAPI, sid: str) -> str:
    """The CSRF token the pages of session ``sid`` carry."""
    principal = Principal(did="did:plc:unused", method="session", credential_id=sid)
    token = csrf.token_for(SimpleNamespace(app=app), principal)  # type: ignore[arg-type]
    assert token is not None
    return token


def form_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field in the page"
    return match.group(1)


def close_app(app: FastAPI) -> None:
    """Release what the app holds open (the outbound client's pool, the database engine, Redis)."""
    if getattr(app.state, "signin", None) is not None:
        app.state.signin.http.close()
    app.state.engine.dispose()
    app.state.redis.close()


def pds_settings(pds: Any) -> dict[str, Any]:
    """Settings that point sign-in at the reference PDS and PLC (plain http on 127.0.0.1: dev mode)."""
    return {
        "plc_url": pds.plc_url,
        "handle_resolution": "xrpc",
        "handle_resolver_url": pds.url,
        "outbound_allow_http": True,
        "outbound_allow_networks": "127.0.0.1/32,::1/128",
    }
