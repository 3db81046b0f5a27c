"""A driver for OAuth flows through a real platform app (real Redis, SQLite and PostgreSQL, real keys)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import redis
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from wikibot_platform.auth.sessions import start_session
from wikibot_platform.config import PlatformSettings
from wikibot_shared.db import transaction
from wikibot_shared.errors import AuthError
from wikibot_shared.models import Acl, User, Wiki
from wikibot_shared.tokens import SESSION_COOKIE
from wikibot_shared.verify import Principal

BASE = "http://localhost:8080"
REDIRECT = "http://127.0.0.1:53682/callback"
ALICE = "did:plc:alice"  # owns "notes" and "other"
BOB = "did:plc:bob"  # viewer on "notes"
CAROL = "did:plc:carol"  # editor on "notes"
MALLORY = "did:plc:mallory"  # no role anywhere
CLIENT_ID = "https://agent.example.org/oauth/client.json"  # a metadata-document client
TICKET = re.compile(r'name="ticket" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        return str(create_s256_code_challenge(self.verifier))


@dataclass
class Harness:
    app: Any
    http: TestClient
    settings: PlatformSettings
    db: sessionmaker[Session]
    redis: redis.Redis
    sessions: dict[str, str] = field(default_factory=dict)

    # -- world -------------------------------------------------------------------------------------------
    def user(self, did: str, handle: str) -> None:
        with transaction(self.db) as db:
            db.add(User(did=did, handle=handle, username=handle.split(".")[0]))

    def wiki(self, slug: str, owner: str, *, public: bool = False) -> None:
        with transaction(self.db) as db:
            db.add(Wiki(slug=slug, owner_did=owner, display_name=slug.title(), is_public=public))

    def share(self, slug: str, did: str, role: str) -> None:
        with transaction(self.db) as db:
            db.add(Acl(wiki_slug=slug, grantee_did=did, role=role, granted_by=ALICE))

    def cookie(self, did: str) -> dict[str, str]:
        if did not in self.sessions:
            with transaction(self.db) as db:
                _sid, token = start_session(db, self.settings, self.app.state.keystore, did, method="test")
            self.sessions[did] = token
        return {"Cookie": f"{SESSION_COOKIE}={self.sessions[did]}"}

    def resource(self, slug: str) -> str:
        return self.settings.mcp_resource(slug)

    # -- protocol ----------------------------------------------------------------------------------------
    def register(self, **metadata: Any) -> dict[str, Any]:
        body = {
            "client_name": "Test Agent",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
        }
        body.update({"grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]})
        body.update(metadata)
        response = self.http.post("/auth/oauth/register", json=body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def authorize_params(self, client_id: str, pkce: Pkce | None, **extra: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "state": "st-" + secrets.token_hex(4),
            "scope": "wiki:read wiki:write offline_access",
            "resource": self.resource("notes"),
        }
        if pkce is not None:
            params.update(code_challenge=pkce.challenge, code_challenge_method="S256")
        params.update(extra)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, params: dict[str, str], did: str | None = ALICE, **kw: Any) -> Any:
        headers = {**(self.cookie(did) if did else {}), **kw.pop("headers", {})}
        return self.http.get("/auth/oauth/authorize?" + urlencode(params), headers=headers, **kw)

    def answer(self, page: Any, did: str = ALICE, decision: str = "allow", **form: Any) -> Any:
        match = TICKET.search(page.text)
        csrf = CSRF.search(page.text)
        assert match, page.text[:500]
        assert csrf, page.text[:500]
        data = {"ticket": match.group(1), "csrf_token": csrf.group(1), "decision": decision, **form}
        return self.http.post("/auth/oauth/authorize", data=data, headers=self.cookie(did))

    def code(self, client_id: str, pkce: Pkce, did: str = ALICE, **extra: str | None) -> str:
        params = self.authorize_params(client_id, pkce, **extra)
        page = self.authorize(params, did)
        assert page.status_code == 200, page.text[:500]
        done = self.answer(page, did)
        assert done.status_code == 302, done.text[:500]
        query = redirected(done)
        assert query["state"] == params["state"]
        return query["code"]

    def token(self, **form: str) -> Any:
        return self.http.post("/auth/oauth/token", data=form)

    def exchange(self, client_id: str, code: str, pkce: Pkce, **extra: str) -> Any:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": pkce.verifier,
        }
        form.update(extra)
        return self.token(**{k: v for k, v in form.items() if v is not None})

    def tokens(self, client_id: str, did: str = ALICE, **extra: str | None) -> dict[str, Any]:
        pkce = Pkce()
        response = self.exchange(client_id, self.code(client_id, pkce, did, **extra), pkce)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def refresh(self, client_id: str, refresh_token: str, **extra: str) -> Any:
        return self.token(
            grant_type="refresh_token", refresh_token=refresh_token, client_id=client_id, **extra
        )

    # -- the resource side, through the shared verifier ----------------------------------------------------
    def on_wiki(self, slug: str, access_token: str) -> Principal:
        _tenant, principal = self.app.state.verifier.authenticate(
            f"{slug}.localhost:8080", {"authorization": f"Bearer {access_token}"}, {}
        )
        assert isinstance(principal, Principal)
        return principal

    def refused_on_wiki(self, slug: str, access_token: str) -> AuthError:
        with pytest.raises(AuthError) as caught:
            self.on_wiki(slug, access_token)
        assert caught.value.status == 401
        return caught.value


def redirected(response: Any) -> dict[str, str]:
    location = response.headers["location"]
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def metadata_document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_name": "Example Agent",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def use_fetch(h: Harness, host: Callable[[str], dict[str, Any]]) -> None:
    h.app.state.oauth.documents.fetch = host
