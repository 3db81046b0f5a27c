"""No way into another tenant (issue 18): every route of the platform, the mcp service and Otterwiki × every kind
of credential that is *not* entitled to the victim's wiki, counted.

The routes come from the apps' own route tables (FastAPI's routers, Flask's URL map), so a route added tomorrow is
sent every credential without anyone listing it; a route that is public by design must be named in ``PUBLIC`` (or
``OWN_ACCOUNT``, routes acting on the caller's own account only) with its reason, else the test fails on it.

The credentials: none; another user's session (cookie, and bearer on the API); a removed collaborator's session
and token; a token of another wiki (Bearer and git Basic); the victim owner's own token, revoked and expired; OAuth
access tokens of another wiki, for the wrong audience, expired, and of a revoked grant. A *success* is any answer
that is not a refusal — 2xx, or a redirect anywhere but the sign-in page — or any answer carrying the victim's
canary text. The figure must be 0, and every refusal's status is one of ``REFUSALS``.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from werkzeug.test import Client

from services.platform.tests.support import Platform, make, make_settings
from wikibot_mcp.config import McpSettings
from wikibot_mcp.main import MCP_PATHS
from wikibot_mcp.main import create_app as mcp_app
from wikibot_otterwiki.config import OtterwikiSettings
from wikibot_otterwiki.main import create_app as otterwiki_app
from wikibot_platform.main import create_app as platform_app
from wikibot_shared.db import transaction
from wikibot_shared.keys import KeyStore
from wikibot_shared.models import AccessToken, OAuthClient, OAuthGrant
from wikibot_shared.tokens import SESSION_COOKIE, AccessClaims, issue_access_token
from wikibot_shared.verify import LocalKeys, Verifier

VICTIM, OTHER = "victim", "elsewhere"
CANARY = "canary-" + "q7x2vk9"  # in the victim's private page; never in an answer to these credentials
HOST = "localhost:8080"
# What a refusal may be: not signed in or a credential that does not count (401), signed in without the right
# (403), or the wiki, page or object not shown to this caller (404). A redirect to the sign-in page is one too.
REFUSALS = {401, 403, 404}

# Routes anyone may call, with why; the test fails on a route that answers a stranger and is not here.
PUBLIC = {
    ("platform", "/api/openapi.json"): "the API's description",
    ("platform", "/api/docs"): "the API's documentation page",
    ("platform", "/docs/oauth2-redirect"): "FastAPI's docs helper",
    ("platform", "/redoc"): "the API's documentation page",
    ("platform", "/healthz"): "liveness",
    ("platform", "/readyz"): "readiness",
    ("platform", "/api/health"): "health for operators (no tenant data)",
    ("platform", "/.well-known/jwks.json"): "public keys",
    ("platform", "/.well-known/oauth-authorization-server"): "RFC 8414 metadata",
    ("platform", "/auth/tls-ask"): "Caddy's on-demand TLS question: is this host ours (no content)",
    ("platform", "/"): "the landing page",
    ("platform", "/auth/login"): "the sign-in page and its form",
    ("platform", "/auth/callback"): "the ATProto OAuth redirect (checks its own state)",
    ("platform", "/auth/complete"): "the end of sign-in (checks its own state)",
    ("platform", "/auth/link"): "a one-time sign-in link (checks its own token)",
    ("platform", "/auth/username"): "choosing a username after sign-in (checks its own state)",
    ("platform", "/auth/client-metadata.json"): "our ATProto client metadata",
    ("platform", "/auth/jwks.json"): "our ATProto client keys",
    ("platform", "/auth/oauth/register"): "RFC 7591 dynamic client registration",
    ("platform", "/auth/oauth/token"): "the token endpoint (client and grant checked there)",
    ("platform", "/auth/oauth/revoke"): "RFC 7009 revocation",
    ("platform", "/auth/oauth/authorize"): "the consent page (signs in first; checks the wiki and role)",
    ("platform", "/app/static"): "CSS and icons",
    ("mcp", "/healthz"): "liveness",
    ("mcp", "/readyz"): "readiness",
    ("mcp", "/.well-known/oauth-protected-resource"): "RFC 9728 metadata of the wiki's MCP resource",
    ("mcp", "/.well-known/oauth-protected-resource/mcp"): "RFC 9728 metadata of the wiki's MCP resource",
    ("mcp", "/.well-known/oauth-authorization-server"): "RFC 8414 metadata, pointing at the platform",
    ("mcp", "/api/v1/openapi.json"): "the API's description",
    ("mcp", "/api/v1/docs"): "the API's documentation page",
    ("mcp", "/docs/oauth2-redirect"): "FastAPI's docs helper",
    ("mcp", "/api/v1/health"): "health for operators (no tenant data)",
    ("otterwiki", "/static/<path:filename>"): "Otterwiki's CSS and scripts",
    ("otterwiki", "/-/healthz"): "liveness",
    ("otterwiki", "/robots.txt"): "robots",
    ("otterwiki", "/favicon.ico"): "icon",
}
# Routes that act on the caller's own account only (no tenant in them): called too, and a leak is the victim's
# canary or slug in the answer. Those that would end the caller's own credential are left out (and why).
OWN_ACCOUNT = {
    ("platform", "/api/me"),
    ("platform", "/api/me/export"),
    ("platform", "/api/wikis"),
    ("platform", "/app"),
    ("platform", "/app/wikis"),
    ("platform", "/app/account"),
    ("platform", "/app/account/export"),
    ("platform", "/api/admin/stats"),
    ("platform", "/app/admin"),
}
ENDS_OWN_CREDENTIAL = {
    ("platform", "DELETE", "/api/me"): "deletes the caller's own account",
    ("platform", "POST", "/app/account/delete"): "deletes the caller's own account",
    ("platform", "POST", "/auth/logout"): "ends the caller's own session",
}


# Valid bodies for routes whose body has required fields, so that what refuses a stranger is the tenant check and
# not the body's validation (a new route with required fields fails here with its 422 until it gets one).
BODIES: dict[str, dict[str, Any]] = {
    "/api/wikis/{slug}/members": {"did": "did:plc:someone", "role": "viewer"},
    "/api/wikis/{slug}/tokens": {"name": "stolen", "scopes": ["wiki:read"]},
    "/api/wikis/{slug}/webhooks": {"url": "http://127.0.0.1:9/stolen"},
    "/api/wikis": {"slug": "made-by-test"},
}


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    template: str  # as the route table has it


@dataclass(frozen=True)
class Credential:
    name: str
    headers: dict[str, str]
    cookie: str | None = None  # a session cookie (sent to the host it is for)


# -- the route tables ---------------------------------------------------------------------------------------
def _walk(routes: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route of a FastAPI/Starlette app, through included routers and mounts."""
    for route in routes:
        if type(route).__name__ == "_IncludedRouter":  # FastAPI ≥ 0.165 keeps included routers as such
            yield from _walk(route.original_router.routes, prefix + (route.include_context.prefix or ""))
        elif isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                yield method, prefix + route.path
        elif hasattr(route, "routes") and getattr(route, "path", None) is not None and route.routes:
            yield from _walk(route.routes, prefix + route.path)
        elif getattr(route, "path", None) is not None:
            methods = getattr(route, "methods", None) or {"GET"}
            for method in sorted(set(methods) - {"HEAD", "OPTIONS"}):
                yield method, prefix + route.path


def fastapi_routes(service: str, app: Any, extra: tuple[str, ...] = ()) -> list[Route]:
    """The app's routes; ``extra``: paths it dispatches ahead of its router (the mcp service's ``/mcp``)."""
    found = {Route(service, m, p) for m, p in _walk(app.routes)} | {Route(service, "POST", p) for p in extra}
    return sorted(found, key=lambda r: (r.template, r.method))


# Where one route table entry serves several requests, the ones sent (git's smart HTTP under /repo.git/…).
VARIANTS = {
    "/repo.git/{rest:path}": [
        ("GET", "/repo.git/info/refs?service=git-upload-pack"),
        ("GET", "/repo.git/info/refs?service=git-receive-pack"),
        ("POST", "/repo.git/git-upload-pack"),
        ("POST", "/repo.git/git-receive-pack"),
    ],
}


def flask_routes(flask_app: Any) -> list[Route]:
    found = set()
    for rule in flask_app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.add(Route("otterwiki", method, rule.rule))
    return sorted(found, key=lambda r: (r.template, r.method))


# -- the world ---------------------------------------------------------------------------------------------
@dataclass
class World:
    platform: Platform
    mcp: TestClient
    otterwiki: Client
    values: dict[str, str]
    credentials: list[Credential]
    flask: Any
    owner: list[Credential]  # the victim's owner's own: the control that the count can see a success


def _pat(platform: Platform, did: str, slug: str, **values: Any) -> tuple[str, str]:
    made = platform.client.post(
        f"/api/wikis/{slug}/tokens",
        json={"name": "t", "scopes": ["wiki:read", "wiki:write"]},
        headers=platform.bearer(did),
    )
    assert made.status_code == 201, made.text
    body = made.json()
    if values:
        with transaction(platform.app.state.db) as db:
            row = db.get(AccessToken, body["id"])
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)
    return body["token"], body["id"]


def _grant(platform: Platform, did: str, slug: str, *, revoked: bool = False) -> str:
    gid = secrets.token_hex(8)
    with transaction(platform.app.state.db) as db:
        if db.get(OAuthClient, "tenant-test") is None:
            db.add(
                OAuthClient(
                    client_id="tenant-test", client_name="Tenant test", redirect_uris=[], grant_types=[]
                )
            )
        db.add(
            OAuthGrant(
                id=gid,
                client_id="tenant-test",
                user_did=did,
                wiki_slug=slug,
                scopes="wiki:read wiki:write",
                revoked_at=datetime.now(UTC) if revoked else None,
            )
        )
    return gid


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("tenancy")
    url = f"sqlite:///{tmp / 'wikibot.db'}"
    settings = make_settings(tmp, url, redis_url, webhooks_worker=False)
    with TestClient(platform_app(settings), base_url=f"http://{HOST}", follow_redirects=False) as client:
        import redis

        platform = Platform(settings, client, redis.Redis.from_url(redis_url, decode_responses=True))
        alice, mallory, bob = platform.user("alice"), platform.user("mallory"), platform.user("bob")
        make(platform, alice, VICTIM)
        make(platform, mallory, OTHER)
        common = {"data_dir": settings.data_dir, "database_url": url, "redis_url": redis_url}
        common |= {"domain": "localhost", "public_port": 8080}
        mcp_settings = McpSettings(**common, embedder_internal_url="http://127.0.0.1:9")
        keys = KeyStore(mcp_settings.keys_dir)
        verifier = Verifier(mcp_settings, platform.app.state.db, LocalKeys(keys, min_interval=0))
        mcp = TestClient(mcp_app(mcp_settings, verifier=verifier), base_url=f"http://{VICTIM}.{HOST}")
        ow = otterwiki_app(OtterwikiSettings(**common), keys=LocalKeys(keys))
        mcp.__enter__()
        alice_pat, alice_pat_id = _pat(platform, alice, VICTIM)
        wrote = mcp.put(
            "/api/v1/pages/Secret",
            json={"content": f"# Secret\n\n{CANARY}\n"},
            headers={"Authorization": f"Bearer {alice_pat}"},
        )
        assert wrote.status_code == 201, wrote.text  # the owner's own token works (the test can tell)
        assert (
            CANARY in mcp.get("/api/v1/pages/Secret", headers={"Authorization": f"Bearer {alice_pat}"}).text
        )
        revoked_pat, _ = _pat(platform, alice, VICTIM, revoked_at=datetime.now(UTC))
        expired_pat, _ = _pat(platform, alice, VICTIM, expires_at=datetime.now(UTC) - timedelta(hours=1))
        platform.client.post(
            f"/api/wikis/{VICTIM}/members",
            json={"did": bob, "role": "editor"},
            headers=platform.bearer(alice),
        )
        bob_pat, _ = _pat(platform, bob, VICTIM)
        gone = platform.client.delete(f"/api/wikis/{VICTIM}/members/{bob}", headers=platform.bearer(alice))
        assert gone.status_code == 204
        mallory_pat, _ = _pat(platform, mallory, OTHER)
        hook = platform.client.post(
            f"/api/wikis/{VICTIM}/webhooks",
            json={"url": "http://127.0.0.1:9/hook"},
            headers=platform.bearer(alice),
        )
        assert hook.status_code == 201, hook.text
        alice_grant = _grant(platform, alice, VICTIM)
        dead_grant = _grant(platform, alice, VICTIM, revoked=True)
        mallory_grant = _grant(platform, mallory, OTHER)
        key = keys.current().key

        def access(did: str, grant: str, audience_slug: str, ttl: int = 3600) -> str:
            claims = AccessClaims(
                issuer=mcp_settings.issuer,
                audience=mcp_settings.mcp_resource(audience_slug),
                did=did,
                client_id="tenant-test",
                scope="wiki:read wiki:write",
                grant_id=grant,
                ttl=ttl,
            )
            return issue_access_token(key, claims)

        def bearer(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        def basic(token: str) -> dict[str, str]:
            return {"Authorization": "Basic " + base64.b64encode(f"x:{token}".encode()).decode()}

        mallory_session, bob_session = platform.session(mallory), platform.session(bob)
        credentials = [
            Credential("none", {}),
            Credential("another user's session cookie", {}, mallory_session),
            Credential("another user's session as bearer", bearer(mallory_session)),
            Credential("a removed collaborator's session cookie", {}, bob_session),
            Credential("a removed collaborator's token", bearer(bob_pat)),
            Credential("a removed collaborator's token, git Basic", basic(bob_pat)),
            Credential("another wiki's token", bearer(mallory_pat)),
            Credential("another wiki's token, git Basic", basic(mallory_pat)),
            Credential("the owner's revoked token", bearer(revoked_pat)),
            Credential("the owner's expired token", bearer(expired_pat)),
            Credential("another wiki's OAuth token", bearer(access(mallory, mallory_grant, OTHER))),
            Credential("an OAuth token for the wrong audience", bearer(access(alice, alice_grant, OTHER))),
            Credential("an expired OAuth token", bearer(access(alice, alice_grant, VICTIM, ttl=-3600))),
            Credential("an OAuth token of a revoked grant", bearer(access(alice, dead_grant, VICTIM))),
        ]
        values = {
            "slug": VICTIM,
            "did": alice,
            "token_id": alice_pat_id,
            "item_id": alice_pat_id,
            "grant_id": alice_grant,
            "webhook_id": hook.json()["id"],
            "delivery_id": "1",
            "number": "1",
            "kind": "tokens",
            "path": "Secret",
            "filename": "notes.txt",
            "pagepath": "Secret",
            "revision": "HEAD",
            "page": "Secret",
            "query": CANARY,  # a search anyone could run would answer with the page that holds it
            "rev_a": "HEAD",
            "rev_b": "HEAD",
            "email": "alice@example.com",
            "uid": "1",
            "token": "x",
            "size": "100",
            "name": "x",
            "extra": "x",
            "rest": "x",
            "topic": "x",
            "webhook_hash": "x",
        }
        owner = [
            Credential("the owner's session cookie", {}, platform.session(alice)),
            Credential("the owner's token", bearer(alice_pat)),
            Credential("the owner's OAuth token", bearer(access(alice, alice_grant, VICTIM))),
        ]
        yield World(platform, mcp, Client(ow), values, credentials, ow.ui.app, owner)
        mcp.__exit__(None, None, None)


# -- sending ------------------------------------------------------------------------------------------------
PARAM = re.compile(r"\{([^}]+)\}|<([^>]+)>")  # FastAPI's {slug}, {path:path}; Flask's <path:path>


def params(template: str) -> set[str]:
    return {(a or b).split(":")[0 if a else -1] for a, b in PARAM.findall(template)}


def fill(template: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        fastapi, flask = match.groups()
        name = fastapi.split(":")[0] if fastapi else flask.split(":")[-1]
        return quote(values[name], safe="")

    return PARAM.sub(one, template)


def send(world: World, route: Route, cred: Credential) -> tuple[int, str, str]:
    path = fill(route.template, world.values)
    if route.template in VARIANTS:
        answers = [
            send_one(world, route, cred, method, concrete) for method, concrete in VARIANTS[route.template]
        ]
        return max(
            answers, key=lambda a: (a[0] < 400, a[0])
        )  # the least refusing answer speaks for the route
    return send_one(world, route, cred, route.method, path)


def send_one(world: World, route: Route, cred: Credential, method: str, path: str) -> tuple[int, str, str]:
    if route.service == "platform" and route.template == "/app/static":
        path = "/app/static/site.css"
    body: dict[str, Any] = (
        {"json": BODIES.get(route.template, {})} if method in ("POST", "PUT", "PATCH") else {}
    )
    headers = dict(cred.headers)
    if route.service == "platform":
        client = world.platform.client
        client.cookies.clear()
        if cred.cookie:
            client.cookies.set(SESSION_COOKIE, cred.cookie)
            headers["x-csrf-token"] = "forged"  # the CSRF check is not what should stop a stranger
        response = client.request(method, path, headers=headers, **body)
        client.cookies.clear()
        return response.status_code, response.headers.get("location", ""), response.text
    if route.service == "mcp":
        client = world.mcp
        client.cookies.clear()
        if cred.cookie:
            client.cookies.set(SESSION_COOKIE, cred.cookie)
        if route.template == "/mcp":
            body = {
                "json": {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "tools/call",
                    "params": {"name": "read_note", "arguments": {"path": "Secret"}},
                }
            }
            headers["Accept"] = "application/json, text/event-stream"
        response = client.request(method, path, headers=headers, **body)
        client.cookies.clear()
        return response.status_code, response.headers.get("location", ""), response.text
    browser = world.otterwiki
    browser.delete_cookie(SESSION_COOKIE, domain=f"{VICTIM}.localhost")
    if cred.cookie:
        browser.set_cookie(SESSION_COOKIE, cred.cookie, domain=f"{VICTIM}.localhost")
    answer = browser.open(
        path,
        method=method,
        base_url=f"http://{VICTIM}.{HOST}",
        headers={**headers, "Accept": "text/html"},
        data={} if method == "POST" else None,
        buffered=True,
    )
    return answer.status_code, answer.headers.get("location", ""), answer.get_data(as_text=True)


def to_sign_in(location: str) -> bool:
    parts = urlsplit(location)
    return parts.path in ("/auth/login", "/-/login") or "/auth/login" in location


def public(route: Route) -> bool:
    key = (route.service, route.template)
    return key in PUBLIC or any(
        route.template.startswith(p + "/") for s, p in PUBLIC if s == route.service and p.endswith("static")
    )


# -- the count -------------------------------------------------------------------------------------------------
@dataclass
class Count:
    attempts: int = 0
    successes: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


def all_routes(world: World) -> list[Route]:
    return (
        fastapi_routes("platform", world.platform.app)
        + fastapi_routes("mcp", world.mcp.app, extra=tuple(MCP_PATHS))
        + flask_routes(world.flask)
    )


def count(world: World, routes: list[Route], credentials: list[Credential]) -> Count:
    """Send each route each credential; a success is an answer that is not a refusal, or one that leaks."""
    found = Count()
    for route in routes:
        if (route.service, route.method, route.template) in ENDS_OWN_CREDENTIAL:
            continue
        own = (route.service, route.template) in OWN_ACCOUNT
        for cred in credentials:
            status, location, text = send(world, route, cred)
            found.attempts += 1
            leaked = CANARY in text or (own and VICTIM in text)
            refused = status in REFUSALS or (300 <= status < 400 and to_sign_in(location))
            line = f"{route.service} {route.method} {route.template} with {cred.name}: {status} {location}"
            if leaked:
                found.successes.append(line + " (the victim's data in the answer)")
            elif public(route) or own:
                continue  # answered by design; only a leak counts
            elif not refused and status < 400:
                found.successes.append(line)
            elif not refused:
                found.unexpected.append(line + f" {text[:120]}")
            found.statuses[status] += 1
    return found


# -- the tests ------------------------------------------------------------------------------------------------
def test_no_credential_reaches_another_tenant(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    routes = all_routes(world)
    assert len({r.service for r in routes}) == 3, routes
    assert len(routes) > 100, routes
    missing = {name for r in routes for name in params(r.template)} - set(world.values)
    assert not missing, f"give the tenancy test a value for each new route parameter: {sorted(missing)}"
    found = count(world, routes, world.credentials)
    with capsys.disabled():
        print(
            f"\n[tenancy] {len(routes)} routes x {len(world.credentials)} credentials: {found.attempts} attempts, "
            f"{len(found.successes)} successes; refusals by status: {dict(sorted(found.statuses.items()))}"
        )
    assert found.successes == [], "\n".join(found.successes)
    assert found.unexpected == [], "\n".join(found.unexpected)


def test_the_count_sees_the_owners_own_credentials_succeed(world: World) -> None:
    """The control: the same requests with the owner's own credentials are counted as successes where they should
    be — so a credential that got through would be counted too."""
    wanted = {
        ("platform", "GET", "/api/wikis/{slug}"): "the owner's session cookie",
        ("platform", "GET", "/app/wikis/{slug}"): "the owner's session cookie",
        ("mcp", "GET", "/api/v1/pages/{path:path}"): "the owner's token",
        ("mcp", "POST", "/mcp"): "the owner's OAuth token",
        ("otterwiki", "GET", "/<path:path>"): "the owner's session cookie",
    }
    routes = [r for r in all_routes(world) if (r.service, r.method, r.template) in wanted]
    assert len(routes) == len(wanted), routes
    found = count(world, routes, world.owner)
    for (service, method, template), cred in wanted.items():
        assert any(
            line.startswith(f"{service} {method} {template} with {cred}:") for line in found.successes
        ), (template, found.successes)
    leaks = [line for line in found.successes if "the victim's data" in line]
    assert leaks, "the owner reads the page with the canary, so the leak check can see it"
