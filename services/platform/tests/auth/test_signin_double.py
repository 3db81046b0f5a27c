"""Sign-in against a strict double of the PDS / authorization server / PLC (tests/support/atproto_double.py):
the rejection paths a real PDS cannot be made to produce, and every SSRF class on every identity fetch.

The platform runs with the production outbound policy (https only) plus exactly two test widenings: the double's
names map to 127.0.0.1 and 127.0.0.1/32 is reachable. Handles resolve over real DNS (a UDP server on 127.0.0.1).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis as redislib
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import func, select
from starlette.testclient import TestClient as StarletteClient

from tests.support.asgi import serve
from tests.support.atproto_double import PDS_HOST, PLC_HOST, AtprotoDouble
from tests.support.dns import TxtZone, dns_server
from tests.support.platform_app import CLIENT_HOST, browser, close_app, make_settings
from tests.support.servers import free_port
from tests.support.tls import TestCA
from wikibot_platform.atproto import dpop
from wikibot_platform.auth.flow import SignIn
from wikibot_platform.auth.routes import signin
from wikibot_platform.main import create_app
from wikibot_shared.models import User, UserSession
from wikibot_shared.tokens import SESSION_COOKIE

ALICE = "did:plc:" + "a" * 24
MALLORY = "did:plc:" + "m" * 24
OTHER = "did:plc:" + "o" * 24

# name → address for every SSRF class; each name is mapped in the platform's outbound hosts setting
SSRF = {
    "loopback": "127.0.0.2",
    "loopback6": "::1",
    "private": "10.0.0.1",
    "private6": "fd12::1",
    "link-local": "169.254.10.10",
    "metadata": "169.254.169.254",
    "metadata6": "fd00:ec2::254",
    "multicast": "224.0.0.1",
    "reserved": "240.0.0.1",
    "unspecified": "0.0.0.0",  # noqa: S104
    "shared": "100.64.0.1",
    "mapped": "::ffff:10.0.0.1",
}
REASON = {
    "loopback": "loopback",
    "loopback6": "loopback",
    "private": "private",
    "private6": "private",
    "link-local": "link-local",
    "metadata": "cloud-metadata",
    "metadata6": "cloud-metadata",
    "multicast": "multicast",
    "reserved": "reserved",
    "unspecified": "unspecified",
    "shared": "shared",
    "mapped": "private",
}


@dataclass
class World:
    app: FastAPI
    double: AtprotoDouble
    zone: TxtZone
    port: int

    def browser(self) -> TestClient:
        return browser(self.app, self.app.state.settings.platform_url)

    @property
    def flow(self) -> SignIn:
        return signin(SimpleNamespace(app=self.app))  # type: ignore[arg-type]

    def sessions(self) -> int:
        with self.app.state.db() as db:
            return int(db.execute(select(func.count()).select_from(UserSession)).scalar_one())


@dataclass
class Servers:
    double: AtprotoDouble
    zone: TxtZone
    dns_port: int
    holder: dict[str, TestClient]


@pytest.fixture(scope="module")
def servers(test_ca: TestCA) -> Iterator[Servers]:
    """One double and one DNS server per module; ``world`` resets them for each test."""
    holder: dict[str, TestClient] = {}

    def fetch_json(url: str) -> Any:  # how the double's server reads our metadata and JWKS
        parts = urlsplit(url)
        assert parts.hostname == CLIENT_HOST
        return holder["platform"].get(parts.path).json()

    double = AtprotoDouble(fetch_json)
    double.port = free_port()
    zone = TxtZone()
    cert = test_ca.issue(PDS_HOST, PLC_HOST)
    with dns_server(zone) as dns_port, serve(double.app, cert=cert, port=double.port):
        yield Servers(double, zone, dns_port, holder)


@pytest.fixture
def world(tmp_path: Path, redis_url: str, test_ca: TestCA, servers: Servers) -> Iterator[World]:
    double, zone = servers.double, servers.zone
    double.reset()
    zone.records.clear()
    zone.queries.clear()
    hosts = [f"{PDS_HOST}=127.0.0.1", f"{PLC_HOST}=127.0.0.1"] + [
        f"{n}.evil.test={a}" for n, a in SSRF.items()
    ]
    settings = make_settings(
        tmp_path,
        redis_url,
        domain=CLIENT_HOST,
        public_scheme="https",
        public_port=free_port(),
        plc_url=double.plc_url,
        dns_nameservers="127.0.0.1",
        dns_port=servers.dns_port,
        outbound_ca_bundle=test_ca.cafile,
        outbound_allow_networks="127.0.0.1/32",
        outbound_hosts=",".join(hosts),
        outbound_timeout=2.0,
    )
    app = create_app(settings)
    servers.holder["platform"] = browser(app, settings.platform_url)
    double.add_identity(ALICE, "alice.e2e.test")
    zone.set("_atproto.alice.e2e.test", f"did={ALICE}")
    double.account = ALICE
    yield World(app, double, zone, double.port)
    close_app(app)


def start(world: World, b: TestClient, identifier: str, return_to: str = "/app") -> Any:
    return b.post("/auth/login", data={"identifier": identifier, "return_to": return_to})


def authorize(world: World, location: str) -> str:
    """The double's authorize step (it signs in ``double.account`` and consents) → our callback URL."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{world.double.issuer}/oauth/authorize"
    with StarletteClient(world.double.app, base_url=world.double.issuer, follow_redirects=False) as c:
        answer = c.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def sign_in(world: World, b: TestClient, identifier: str = "alice.e2e.test") -> Any:
    started = start(world, b, identifier)
    assert started.status_code == 303, started.text
    return b.get(authorize(world, started.headers["location"]))


# -- the happy path: our client passes every strict check -----------------------------------------------------


def test_our_client_satisfies_the_strict_double(world: World) -> None:
    world.double.profiles[ALICE] = {"displayName": "Alice", "avatar": {"ref": {"$link": "bafkreiabc123"}}}
    b = world.browser()
    landed = sign_in(world, b)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"].startswith(f"{world.app.state.settings.platform_url}/auth/username")
    assert b.cookies.get(SESSION_COOKIE)
    # PAR was refused once for the nonce, then accepted; the token request used the nonce straight away
    assert world.double.log == ["refused: use_dpop_nonce: nonce required", "PAR ok", "token ok"]
    assert world.zone.queries == ["_atproto.alice.e2e.test"]  # the handle resolved over DNS
    with world.app.state.db() as db:
        user = db.get(User, ALICE)
        assert user is not None
        assert user.handle == "alice.e2e.test"
        assert user.display_name == "Alice"
        assert user.avatar_url == (
            f"{world.double.pds_url}/xrpc/com.atproto.sync.getBlob?did={ALICE.replace(':', '%3A')}&cid=bafkreiabc123"
        )


def test_sign_in_by_server_url_learns_the_did_at_the_end(world: World) -> None:
    landed = sign_in(world, world.browser(), f"https://{PDS_HOST}:{world.port}")
    assert landed.status_code == 303, landed.text
    assert world.sessions() == 1


def test_sign_in_by_did_web(world: World) -> None:
    did = f"did:web:{PDS_HOST}%3A{world.port}"
    world.double.add_identity(did, None)
    world.double.account = did
    landed = sign_in(world, world.browser(), did)
    assert landed.status_code == 303, landed.text
    with world.app.state.db() as db:
        assert db.get(User, did) is not None


def test_bare_name_gets_the_default_suffix(world: World) -> None:
    page = start(world, world.browser(), "nobody")
    assert page.status_code == 400
    assert "nobody.bsky.social does not resolve" in page.text
    assert world.zone.queries == ["_atproto.nobody.bsky.social"]


# -- identities that do not check out --------------------------------------------------------------------------


def test_handle_that_does_not_point_back_is_refused(world: World) -> None:
    world.zone.set("_atproto.mallory.e2e.test", f"did={ALICE}")  # claims Alice's DID; Alice does not claim it
    page = start(world, world.browser(), "mallory.e2e.test")
    assert page.status_code == 400
    assert "does not claim" in page.text
    assert world.double.log == []  # nothing was sent to any authorization server


def test_handle_with_two_dids_is_refused(world: World) -> None:
    world.zone.set("_atproto.twins.e2e.test", f"did={ALICE}", f"did={OTHER}")
    page = start(world, world.browser(), "twins.e2e.test")
    assert page.status_code == 400
    assert "does not resolve" in page.text


def test_did_login_with_an_unverified_handle_keeps_no_handle(world: World) -> None:
    world.double.add_identity(MALLORY, "alice.e2e.test")  # says it is alice.e2e.test; DNS says otherwise
    world.double.account = MALLORY
    assert sign_in(world, world.browser(), MALLORY).status_code == 303
    with world.app.state.db() as db:
        user = db.get(User, MALLORY)
        assert user is not None
        assert user.handle is None


def test_did_document_without_pds_is_refused(world: World) -> None:
    world.double.add_identity(OTHER, "other.e2e.test", pds=None)
    world.zone.set("_atproto.other.e2e.test", f"did={OTHER}")
    page = start(world, world.browser(), "other.e2e.test")
    assert page.status_code == 400
    assert "names no usable PDS" in page.text


def test_did_document_with_an_http_pds_is_refused_in_production_policy(world: World) -> None:
    world.double.add_identity(OTHER, "other.e2e.test", pds=f"http://{PDS_HOST}:{world.port}")
    world.zone.set("_atproto.other.e2e.test", f"did={OTHER}")
    page = start(world, world.browser(), "other.e2e.test")
    assert page.status_code == 400
    assert "names no usable PDS" in page.text


def test_unknown_did_is_refused(world: World) -> None:
    page = start(world, world.browser(), OTHER)
    assert page.status_code == 400
    assert "does not exist" in page.text


@pytest.mark.parametrize(
    "typed", ["", "   ", "not a handle!", "did:key:z6Mk", "https://user:pw@pds.example", "a" * 300]
)
def test_malformed_identifiers_are_refused(world: World, typed: str) -> None:
    page = start(world, world.browser(), typed)
    assert page.status_code == 400
    assert 'class="error"' in page.text
    assert world.zone.queries == []


# -- authorization servers that cannot be trusted ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("issuer", "https://elsewhere.e2e.internal", "claims to be"),
        ("require_pushed_authorization_requests", False, "does not require PAR"),
        ("code_challenge_methods_supported", ["plain"], "no PKCE S256"),
        ("dpop_signing_alg_values_supported", ["RS256"], "no DPoP with ES256"),
        ("token_endpoint_auth_methods_supported", ["none"], "no private_key_jwt"),
        ("token_endpoint_auth_signing_alg_values_supported", ["RS256"], "no ES256 client assertions"),
        ("scopes_supported", ["openid"], "no atproto scope"),
        ("authorization_response_iss_parameter_supported", None, "no iss in authorization responses"),
        ("client_id_metadata_document_supported", False, "no client ID metadata documents"),
        ("pushed_authorization_request_endpoint", "ftp://pds.e2e.internal/par", "not an acceptable URL"),
        ("token_endpoint", None, "token_endpoint is missing"),
    ],
)
def test_bad_authorization_server_metadata_is_refused(
    world: World, field: str, value: Any, message: str
) -> None:
    world.double.misbehave.as_metadata = {field: value}
    page = start(world, world.browser(), "alice.e2e.test")
    assert page.status_code == 502
    assert message in page.text
    assert world.double.log == []  # no PAR sent


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"authorization_servers": []}, "exactly one authorization server"),
        ({"authorization_servers": ["https://a.e2e.internal", "https://b.e2e.internal"]}, "exactly one"),
        ({"resource": "https://elsewhere.e2e.internal"}, "describes another resource"),
        ({"authorization_servers": ["https://pds.e2e.internal/path"]}, "unusable authorization server"),
    ],
)
def test_bad_resource_metadata_is_refused(world: World, override: dict[str, Any], message: str) -> None:
    world.double.misbehave.resource_metadata = override
    page = start(world, world.browser(), "alice.e2e.test")
    assert page.status_code == 502
    assert message in page.text


# -- callbacks and token responses that must not sign anyone in -----------------------------------------------------


def test_wrong_iss_on_the_callback_is_refused_before_any_exchange(world: World) -> None:
    world.double.misbehave.callback_iss = "https://evil.e2e.internal"
    page = sign_in(world, world.browser())
    assert page.status_code == 400
    assert "did not come from the server" in page.text
    assert "token ok" not in world.double.log
    assert world.sessions() == 0


def test_wrong_sub_is_refused_and_the_tokens_revoked(world: World) -> None:
    world.double.misbehave.token_sub = OTHER
    page = sign_in(world, world.browser())
    assert page.status_code == 502
    assert "different account" in page.text
    assert world.sessions() == 0
    assert len(world.double.revoked) == 2  # we gave back what we should not have received


def test_token_without_atproto_scope_is_refused(world: World) -> None:
    world.double.misbehave.token_scope = "transition:generic"
    page = sign_in(world, world.browser())
    assert page.status_code == 502
    assert "atproto scope" in page.text
    assert world.sessions() == 0


def test_server_url_login_whose_account_lives_elsewhere_is_refused(world: World) -> None:
    world.double.add_identity(OTHER, None, pds="https://elsewhere.e2e.internal")
    world.double.account = OTHER
    page = sign_in(world, world.browser(), f"https://{PDS_HOST}:{world.port}")
    assert page.status_code == 502, page.text
    # elsewhere.e2e.internal is not served by the double: the check of the account's PDS fails there, and the
    # sign-in is refused (and the tokens revoked) as the branch for a PDS behind another server does
    assert 'data-code="bad_authorization_server"' in page.text
    assert world.sessions() == 0
    assert len(world.double.revoked) == 2


def test_replayed_callback_is_refused(world: World) -> None:
    b = world.browser()
    started = start(world, b, "alice.e2e.test")
    callback = authorize(world, started.headers["location"])
    assert b.get(callback).status_code == 303
    replay = b.get(callback)
    assert replay.status_code == 400
    assert "already completed" in replay.text
    assert world.double.log.count("token ok") == 1  # the code was never sent twice
    assert world.sessions() == 1


def test_callback_in_another_browser_is_refused(world: World) -> None:
    attacker, victim = world.browser(), world.browser()
    callback = authorize(world, start(world, attacker, "alice.e2e.test").headers["location"])
    page = victim.get(callback)
    assert page.status_code == 400
    assert "another browser" in page.text
    assert SESSION_COOKIE not in victim.cookies
    assert world.sessions() == 0
    assert attacker.get(callback).status_code == 400  # and the pending request is gone for everyone


def test_forged_state_is_refused(world: World) -> None:
    b = world.browser()
    start(world, b, "alice.e2e.test")
    page = b.get("/auth/callback", params={"state": "made-up", "iss": world.double.issuer, "code": "x"})
    assert page.status_code == 400
    assert world.sessions() == 0


def test_callback_on_a_foreign_host_is_refused(world: World) -> None:
    page = world.browser().get("http://127.0.0.1:8080/auth/callback?state=x&iss=y&code=z")
    assert page.status_code == 403


def test_sent_pending_state_is_sealed_in_redis(world: World, redis_url: str) -> None:
    raw = redislib.Redis.from_url(redis_url)
    before = set(raw.keys("wikibot:atproto:pending:*"))
    start(world, world.browser(), "alice.e2e.test")
    keys = set(raw.keys("wikibot:atproto:pending:*")) - before
    assert len(keys) == 1
    key = keys.pop()
    value = raw.get(key)
    assert value is not None
    assert b"verifier" not in value
    assert b'"d"' not in value
    assert 0 < raw.ttl(key) <= world.app.state.settings.login_ttl
    raw.close()


# -- SSRF: every identity fetch refuses internal addresses, whatever DNS says ----------------------------------------


@pytest.mark.parametrize("name", list(SSRF))
def test_pds_endpoint_on_an_internal_address_is_never_contacted(world: World, name: str) -> None:
    world.double.add_identity(OTHER, "other.e2e.test", pds=f"https://{name}.evil.test")
    world.zone.set("_atproto.other.e2e.test", f"did={OTHER}")
    page = start(world, world.browser(), "other.e2e.test")
    assert page.status_code == 502
    assert f"refusing to connect to a {REASON[name]} address" in page.text


@pytest.mark.parametrize("name", list(SSRF))
def test_authorization_server_on_an_internal_address_is_never_contacted(world: World, name: str) -> None:
    world.double.misbehave.resource_metadata = {"authorization_servers": [f"https://{name}.evil.test"]}
    page = start(world, world.browser(), "alice.e2e.test")
    assert page.status_code == 502
    assert f"refusing to connect to a {REASON[name]} address" in page.text


@pytest.mark.parametrize("name", list(SSRF))
def test_did_web_on_an_internal_address_is_never_contacted(world: World, name: str) -> None:
    page = start(world, world.browser(), f"did:web:{name}.evil.test")
    assert page.status_code == 400
    assert f"refusing to connect to a {REASON[name]} address" in page.text


@pytest.mark.parametrize(
    "address",
    ["127.0.0.2", "10.0.0.1", "169.254.169.254", "[::1]", "[fd00:ec2::254]", "0.0.0.0"],  # noqa: S104
)
def test_server_url_with_an_internal_ip_literal_is_refused(world: World, address: str) -> None:
    page = start(world, world.browser(), f"https://{address}")
    assert page.status_code == 502
    assert "refusing to connect" in page.text


def test_token_endpoint_on_an_internal_address_is_never_contacted(world: World) -> None:
    world.double.misbehave.as_metadata = {"token_endpoint": "https://metadata.evil.test/token"}
    b = world.browser()
    started = start(world, b, "alice.e2e.test")
    assert started.status_code == 303
    page = b.get(authorize(world, started.headers["location"]))
    assert page.status_code == 502
    assert "refusing to connect to a cloud-metadata address" in page.text
    assert world.sessions() == 0


def test_login_redirect_goes_only_to_the_validated_authorization_endpoint(world: World) -> None:
    started = start(world, world.browser(), "alice.e2e.test")
    query = parse_qs(urlsplit(started.headers["location"]).query)
    assert set(query) == {"client_id", "request_uri"}
    assert query["client_id"] == [f"{world.app.state.settings.platform_url}/auth/client-metadata.json"]


# -- the double is as strict as the real provider (else the tests above would prove little) ------------------------


class Probe:
    """Hand-built requests to the double, valid unless a test spoils one part."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.key = dpop.new_key()
        self.pkce = dpop.Pkce.new()
        self.client = StarletteClient(world.double.app, base_url=world.double.issuer, follow_redirects=False)
        self.config = world.flow.config
        self.client_key = world.app.state.keystore.current("client").key

    def proof(self, url: str, *, method: str = "POST", key: ECKey | None = None, **claims: Any) -> str:
        key = key or self.key
        public = key.as_dict(private=False)
        body = {"jti": secrets.token_hex(8), "htm": method, "htu": url, "iat": int(time.time()), **claims}
        body.setdefault("nonce", self.world.double.nonce)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode({"typ": "dpop+jwt", "alg": "ES256", "jwk": public}, body, key)

    def assertion(self, **claims: Any) -> str:
        now = int(time.time())
        cid = self.config.client_id
        body = {
            "iss": cid,
            "sub": cid,
            "aud": self.world.double.issuer,
            "jti": secrets.token_hex(8),
            "iat": now,
        }
        return jwt.encode({"alg": "ES256", "kid": self.client_key.kid}, {**body, **claims}, self.client_key)

    def par_form(self, **overrides: str | None) -> dict[str, str]:
        form: dict[str, str | None] = {
            "client_id": self.config.client_id,
            "response_type": "code",
            "redirect_uri": self.config.redirect_uri,
            "scope": "atproto",
            "state": "s1",
            "code_challenge": self.pkce.challenge,
            "code_challenge_method": "S256",
            "client_assertion_type": dpop.ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        form.update(overrides)
        return {k: v for k, v in form.items() if v is not None}

    def par(self, form: dict[str, str] | None = None, proof: str | None = None) -> Any:
        url = f"{self.world.double.issuer}/oauth/par"
        return self.client.post(
            "/oauth/par", data=form or self.par_form(), headers={"DPoP": proof or self.proof(url)}
        )


@pytest.fixture
def probe(world: World) -> Iterator[Probe]:
    p = Probe(world)
    yield p
    p.client.close()


PAR_URL = "/oauth/par"


def test_double_accepts_a_correct_request(probe: Probe) -> None:
    assert probe.par().status_code == 201


@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        ("no-proof", "invalid_dpop_proof"),
        ("wrong-htm", "invalid_dpop_proof"),
        ("wrong-htu", "invalid_dpop_proof"),
        ("query-in-htu", "invalid_dpop_proof"),
        ("old-iat", "invalid_dpop_proof"),
        ("no-nonce", "use_dpop_nonce"),
        ("stale-nonce", "use_dpop_nonce"),
        ("private-jwk", "invalid_dpop_proof"),
        ("bad-signature", "invalid_dpop_proof"),
        ("replayed-jti", "invalid_dpop_proof"),
    ],
)
def test_double_refuses_bad_dpop_proofs(probe: Probe, spoil: str, error: str) -> None:
    url = f"{probe.world.double.issuer}{PAR_URL}"
    proofs = {
        "wrong-htm": lambda: probe.proof(url, method="GET"),
        "wrong-htu": lambda: probe.proof(f"{probe.world.double.issuer}/oauth/token"),
        "query-in-htu": lambda: probe.proof(url + "?x=1"),
        "old-iat": lambda: probe.proof(url, iat=int(time.time()) - 600),
        "no-nonce": lambda: probe.proof(url, nonce=None),
        "stale-nonce": lambda: probe.proof(url, nonce="old"),
        "private-jwk": lambda: jwt.encode(
            {"typ": "dpop+jwt", "alg": "ES256", "jwk": probe.key.as_dict(private=True)},
            {
                "jti": "j",
                "htm": "POST",
                "htu": url,
                "iat": int(time.time()),
                "nonce": probe.world.double.nonce,
            },
            probe.key,
        ),
        "bad-signature": lambda: probe.proof(url)[:-6] + "AAAAAA",
    }
    if spoil == "no-proof":
        response = probe.client.post(PAR_URL, data=probe.par_form())
    elif spoil == "replayed-jti":
        proof = probe.proof(url)
        assert probe.par(proof=proof).status_code == 201
        response = probe.par(probe.par_form(), proof=proof)
    else:
        response = probe.par(proof=proofs[spoil]())
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"client_assertion": "aud-token"}, "invalid_client"),
        ({"client_assertion": "foreign-key"}, "invalid_client"),
        ({"client_assertion": "wrong-iss"}, "invalid_client"),
        ({"client_assertion": "old"}, "invalid_client"),
        ({"client_assertion": None}, "invalid_client"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"redirect_uri": "https://evil.example.net/cb"}, "invalid_request"),
        ({"scope": "transition:generic"}, "invalid_scope"),
        ({"state": None}, "invalid_request"),
        ({"response_type": "token"}, "invalid_request"),
    ],
)
def test_double_refuses_bad_par_parameters(
    probe: Probe, overrides: dict[str, str | None], error: str
) -> None:
    spoiled = {
        "aud-token": lambda: probe.assertion(aud=f"{probe.world.double.issuer}/oauth/token"),
        "foreign-key": lambda: jwt.encode(
            {"alg": "ES256", "kid": probe.client_key.kid}, {"iss": probe.config.client_id}, dpop.new_key()
        ),
        "wrong-iss": lambda: probe.assertion(iss="https://evil.example.net/client.json"),
        "old": lambda: probe.assertion(iat=int(time.time()) - 300),
    }
    values = {k: (spoiled[v]() if v in spoiled else v) for k, v in overrides.items()}
    response = probe.par(probe.par_form(**values))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


def test_double_refuses_a_reused_client_assertion(probe: Probe) -> None:
    form = probe.par_form()
    assert probe.par(form).status_code == 201
    again = probe.par(form)
    assert again.json()["error_description"] == "assertion jti missing or replayed"


def test_double_binds_the_code_to_pkce_and_the_dpop_key(probe: Probe, world: World) -> None:
    request_uri = probe.par().json()["request_uri"]
    location = probe.client.get(
        "/oauth/authorize", params={"client_id": probe.config.client_id, "request_uri": request_uri}
    ).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    token_url = f"{world.double.issuer}/oauth/token"

    def exchange(verifier: str, key: ECKey) -> Any:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": probe.config.redirect_uri,
            "code_verifier": verifier,
            "client_id": probe.config.client_id,
            "client_assertion_type": dpop.ASSERTION_TYPE,
            "client_assertion": probe.assertion(),
        }
        world.double.codes.setdefault(code, pending)
        return probe.client.post("/oauth/token", data=form, headers={"DPoP": probe.proof(token_url, key=key)})

    pending = world.double.codes[code]
    assert (
        exchange("wrong-verifier-" + "x" * 40, probe.key).json()["error_description"]
        == "PKCE verification failed"
    )
    assert (
        exchange(probe.pkce.verifier, dpop.new_key()).json()["error_description"]
        == "DPoP key differs from the PAR's"
    )
    assert exchange(probe.pkce.verifier, probe.key).status_code == 200
    world.double.codes.pop(code, None)
    assert exchange_again_refused(probe, code, token_url)


def exchange_again_refused(probe: Probe, code: str, token_url: str) -> bool:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": probe.config.redirect_uri,
        "code_verifier": probe.pkce.verifier,
        "client_id": probe.config.client_id,
        "client_assertion_type": dpop.ASSERTION_TYPE,
        "client_assertion": probe.assertion(),
    }
    response = probe.client.post("/oauth/token", data=form, headers={"DPoP": probe.proof(token_url)})
    return bool(response.json()["error"] == "invalid_grant")
